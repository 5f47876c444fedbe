"""The container registry every environment pulls from (tier 3).

Network design (docs/shared-and-bootstrap.md, "CI push path"):

- With no `push_ip_ranges` the registry is private: public network access Disabled, which also
  lets exports be disabled (Azure accepts `exportPolicy: disabled` only then). Clusters pull
  through private endpoints in their own VNets.
- With `push_ip_ranges` (the region's `AzureContainerRegistry` service-tag prefixes, so that
  `az acr build` on ACR Tasks can push) the public endpoint is on but denies everything else;
  exports must then stay enabled (an Azure rule), and are still limited to authorised callers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import containerregistry

from components import interfaces


@dataclass(frozen=True)
class ContainerRegistryArgs:
    name: str  # physical name from the naming module ("registry" rule)
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
    retention_days: int  # untagged manifests are deleted after this many days
    push_ip_ranges: Sequence[str] = ()  # public CIDRs allowed on the public endpoint (CI push path)
    sku: str = "Premium"
    lock: bool = True  # every environment's images live here
    workspace_id: pulumi.Input[str] | None = None


class ContainerRegistry(pulumi.ComponentResource):
    id: pulumi.Output[str]
    name: pulumi.Output[str]
    login_server: pulumi.Output[str]

    def __init__(
        self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mystira:shared:ContainerRegistry", name, None, opts)
        public = bool(args.push_ip_ranges)
        registry = containerregistry.Registry(
            f"{name}-cr",
            registry_name=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": args.sku},  # Premium: private endpoints, zone redundancy, retention, firewall
            admin_user_enabled=False,  # no shared admin password: Entra identities with AcrPush/AcrPull only
            anonymous_pull_enabled=False,  # every pull is authenticated
            zone_redundancy="Enabled",  # survives the loss of one availability zone
            # Disabled unless CI push ranges are given; then Enabled but default Deny (below).
            public_network_access="Enabled" if public else "Disabled",
            network_rule_set={
                "default_action": "Deny",  # nothing reaches the public endpoint unless listed
                "ip_rules": [
                    {"i_p_address_or_range": cidr, "action": "Allow"} for cidr in args.push_ip_ranges
                ],
            },
            # Trusted Microsoft services (e.g. Defender image scanning) keep their managed access.
            network_rule_bypass_options="AzureServices",
            # Regional data endpoints: firewall and private endpoints cover layer downloads too.
            data_endpoint_enabled=True,
            policies={
                "retention_policy": {
                    "status": "enabled",
                    "days": args.retention_days,
                },  # purge untagged manifests
                # Azure allows disabling exports only with public network access Disabled.
                "export_policy": {"status": "enabled" if public else "disabled"},
                "quarantine_policy": {
                    "status": "disabled"
                },  # no scanner gate wired yet; pushes are usable at once
                "trust_policy": {
                    "status": "disabled",
                    "type": "Notary",
                },  # Notary v1 is retired; sign with Notation
            },
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.lock:
            interfaces.lock(
                f"{name}-cr",
                scope=registry.id,
                parent=registry,
                reason="Holds every environment's images: remove the lock deliberately before deleting.",
            )
        if args.workspace_id is not None:
            interfaces.diagnostics(
                f"{name}-cr", resource_id=registry.id, workspace_id=args.workspace_id, parent=registry
            )
        self.registry = registry
        self.id = registry.id
        self.name = registry.name
        self.login_server = registry.login_server
        self.register_outputs({"id": self.id, "name": self.name, "login_server": self.login_server})
