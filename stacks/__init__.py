"""Stack compositions: `shared` (tier 3) and the environment stacks (tiers 1 and 2)."""

from __future__ import annotations

from mystira_infra.settings import Settings


def build(settings: Settings) -> None:
    if settings.is_shared:
        from stacks import shared

        shared.build(settings)
    else:
        from stacks import environment

        environment.build(settings)
