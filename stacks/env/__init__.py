"""Stages of the environment stacks, in the order stacks/environment.py runs them."""
