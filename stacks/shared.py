"""The shared stack (tier 3, cross-environment): registry, email, state backend, CI identities."""

from __future__ import annotations

import pulumi

from components.resource_group import ResourceGroup, ResourceGroupArgs
from mystira_infra import tags
from mystira_infra.settings import Settings


def build(settings: Settings) -> None:
    namer = settings.names()
    rg = ResourceGroup(
        "shared",
        ResourceGroupArgs(
            name=namer("resource_group", "platform"),
            location=settings.region,
            tags=tags.tags("shared", settings.cost_center, component="shared-platform"),
            tier=3,
            lock=True,  # holds the state backend and the registry of every environment
        ),
    )
    pulumi.export("sharedResourceGroup", rg.name)
