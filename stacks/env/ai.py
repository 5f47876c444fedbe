"""Stage 'ai': Azure OpenAI (tier 1, core resource group) and its model deployments.

The account's private endpoint is created whenever public network access is off, dev included:
with public access off and no private endpoint the account would be unreachable from AKS, and
dev should exercise the same private path staging and prod use. Settings validation already
forbids public access in staging and prod.
"""

from __future__ import annotations

import pulumi

from components import interfaces
from components.openai import ModelDeploymentSpec, OpenAIAccount, OpenAIAccountArgs
from mystira_infra.services import SERVICES
from stacks.platform import Platform


def build(p: Platform) -> None:
    s = p.settings.openai
    assert s is not None
    identities = p.components.get("identities", {})
    monitoring = p.components.get("monitoring")
    workspace_id = getattr(monitoring, "workspace_id", None) if monitoring is not None else None

    private = not s.public_network_access
    account = OpenAIAccount(
        "openai",
        OpenAIAccountArgs(
            name=p.namer("openai", "core"),
            resource_group_name=p.core_rg.name,
            location=p.location,
            tags=p.component_tags("openai"),
            subscription_id=p.subscription_id,
            deployments=tuple(
                ModelDeploymentSpec(d.name, d.model, d.version, d.capacity, d.sku) for d in s.deployments
            ),
            public_network_access=s.public_network_access,
            private_endpoint=interfaces.PrivateEndpointTarget(
                subnet_id=p.network.subnet_ids["private_endpoints"],
                dns_zone_id=p.network.dns_zone_ids["openai"],
            )
            if private
            else None,
            users={
                svc.key: identities[svc.key].principal_id
                for svc in SERVICES
                if svc.uses_openai and svc.key in identities
            },
            workspace_id=workspace_id,
        ),
        opts=pulumi.ResourceOptions(parent=p.core_rg),
    )
    for svc in SERVICES:
        if svc.uses_openai:
            # The endpoint only: the account has no keys (local auth is off).
            p.add_secret(svc.key, "openai-endpoint", account.endpoint)
    p.components["openai"] = account
    pulumi.export("openaiEndpoint", account.endpoint)
    pulumi.export("openaiDeployments", account.deployment_names)
