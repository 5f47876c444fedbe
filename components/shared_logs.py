"""The shared stack's Log Analytics workspace: audit trail of the registry, the secrets vault, the
state account and Communication Services (tier 3).

Environment stacks have their own workspaces (components/monitoring.py); tier-3 resources outlive
any one environment, so their logs do too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import operationalinsights


@dataclass(frozen=True)
class SharedLogsArgs:
    name: str  # physical name from the naming module ("log_analytics" rule)
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
    retention_days: int = 90  # who pushed what, who read the state: kept a quarter


class SharedLogs(pulumi.ComponentResource):
    workspace_id: pulumi.Output[str]

    def __init__(self, name: str, args: SharedLogsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:shared:SharedLogs", name, None, opts)
        if not 30 <= args.retention_days <= 730:
            raise ValueError(f"{name}: retention_days must be 30 to 730")
        workspace = operationalinsights.Workspace(
            f"{name}-log",
            workspace_name=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": "PerGB2018"},  # pay per GB: tier-3 audit logs are small
            retention_in_days=args.retention_days,
            features={
                "disable_local_auth": True,  # no shared-key ingestion: Entra tokens only
                # Readers see only their resources' logs.
                "enable_log_access_using_only_resource_permissions": True,
            },
            # Diagnostic settings deliver over the public endpoints (no private link scope here); Entra-only.
            public_network_access_for_ingestion="Enabled",
            public_network_access_for_query="Enabled",
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.workspace = workspace
        self.workspace_id = workspace.id
        self.register_outputs({"workspace_id": self.workspace_id})
