"""Environment stacks (dev, staging, prod): tier 1 core platform and tier 2 per-service groups.

Stages run in this order; each is one module in `stacks/env/` and owns its components:

1. core (here): resource groups of tiers 1 and 2, the core network;
2. observability: Log Analytics, Application Insights per service, alerts, dashboard;
3. identity: a managed identity per service;
4. data: PostgreSQL, Redis, Service Bus, a Key Vault per service, and data-plane access;
5. ai: Azure OpenAI and its model deployments;
6. entra: workforce admin apps and External ID consumer apps;
7. cluster: AKS, registry pull, workload-identity federation;
8. kubernetes: namespace, service accounts, workloads;
9. vaults: every secret the earlier stages collected, written into its service's vault;
then observability.finish: metric alerts on the data services, telemetry roles.
"""

from __future__ import annotations

from typing import cast

import pulumi
from pulumi_azure_native import authorization

from components.network import CoreNetwork, CoreNetworkArgs, SubnetSpec
from components.resource_group import ResourceGroup, ResourceGroupArgs
from mystira_infra import tags
from mystira_infra.services import SERVICES
from mystira_infra.settings import Settings
from stacks.env import ai, cluster, data, entra, identity, kubernetes, observability, vaults
from stacks.platform import Platform


def build(settings: Settings) -> Platform:
    p = core(settings)
    for stage in (observability, identity, data, ai, entra, cluster, kubernetes, vaults):
        stage.build(p)
    # Needs the data services and identities: metric alerts on PostgreSQL, Redis and Service Bus,
    # and each service's right to publish telemetry to its Entra-only Application Insights.
    observability.finish(p)
    return p


def core(settings: Settings) -> Platform:
    assert settings.network is not None
    namer = settings.names()
    env = settings.environment
    client = authorization.get_client_config_output()

    core_rg = ResourceGroup(
        "core",
        ResourceGroupArgs(
            name=namer("resource_group", "core"),
            location=settings.region,
            tags=_tags(settings, component="core"),
            tier=1,
            # The core group holds PostgreSQL, Redis and Service Bus: lock it in prod.
            lock=settings.is_prod,
        ),
    )
    service_rgs = {
        svc.key: ResourceGroup(
            svc.key,
            ResourceGroupArgs(
                name=namer("resource_group", svc.key),
                location=settings.region,
                tags=_tags(settings, service=svc.workload),
                tier=2,
                lock=settings.is_prod,  # each holds the service's Key Vault
            ),
        )
        for svc in SERVICES
    }

    subnets = settings.network.subnets
    net = CoreNetwork(
        "core",
        CoreNetworkArgs(
            namer=namer,
            resource_group_name=core_rg.name,
            location=settings.region,
            address_space=settings.network.address_space,
            subnets=(
                SubnetSpec("aks", subnets.aks),
                SubnetSpec(
                    "postgres", subnets.postgres, delegation="Microsoft.DBforPostgreSQL/flexibleServers"
                ),
                SubnetSpec("private_endpoints", subnets.private_endpoints, private_endpoints=True),
                SubnetSpec("ingress", subnets.ingress),
            ),
            tags=_tags(settings, component="network"),
        ),
    )

    # Tier-3 outputs (registry, email) come from the shared stack's state, never from guessed names.
    # cast: sharedStack is required for environment stacks (settings.parse_settings rejects a missing one).
    shared = pulumi.StackReference(cast(str, settings.shared_stack))

    pulumi.export("environment", env)
    pulumi.export("coreResourceGroup", core_rg.name)
    pulumi.export("serviceResourceGroups", {k: rg.name for k, rg in service_rgs.items()})
    pulumi.export("vnetId", net.vnet_id)
    return Platform(
        settings=settings,
        namer=namer,
        subscription_id=client.subscription_id,
        tenant_id=client.tenant_id,
        deployer_object_id=client.object_id,
        core_rg=core_rg,
        service_rgs=service_rgs,
        network=net,
        shared=shared,
    )


def _tags(settings: Settings, **kind: str) -> dict[str, str]:
    return tags.tags(settings.environment, settings.cost_center, **kind)
