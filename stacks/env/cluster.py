"""Stage 'cluster' of the environment stacks (see stacks/environment.py). Not built yet."""

from __future__ import annotations

from stacks.platform import Platform


def build(p: Platform) -> None:
    return None
