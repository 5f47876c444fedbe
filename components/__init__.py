"""Reusable ComponentResources, one per concern (`mystira:<area>:<Thing>`)."""
