"""A resource group of one tier, tagged, locked when it holds data in prod."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import resources

from components import interfaces


@dataclass(frozen=True)
class ResourceGroupArgs:
    name: str  # physical name from the naming module
    location: str
    tags: Mapping[str, str]
    tier: int  # 1 core, 2 per service, 3 cross-environment (DESIGN.md section 2)
    lock: bool = False  # CanNotDelete: set for prod groups that hold data


class ResourceGroup(pulumi.ComponentResource):
    name: pulumi.Output[str]
    id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ResourceGroupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mystira:core:ResourceGroup", name, None, opts)
        rg = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=args.name,
            location=args.location,
            tags={**args.tags, "Tier": str(args.tier)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.lock:
            interfaces.lock(f"{name}-rg", scope=rg.id, parent=rg,
                            reason="Holds production data: remove the lock deliberately before deleting.")
        self.resource_group = rg
        self.name = rg.name
        self.id = rg.id
        self.register_outputs({"name": self.name, "id": self.id})
