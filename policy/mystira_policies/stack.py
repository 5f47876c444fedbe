"""Cross-resource checks: they follow links (property dependencies) between resources of
different services, so they work in preview, when ids are still unknown.

References: MYS.STK.<NNN>.
"""

from __future__ import annotations

from .framework import (
    FIC_TYPES,
    HIGH,
    MEDIUM,
    OPERATIONAL_EXCELLENCE,
    RELIABILITY,
    SECURITY,
    PolicyConfigSchema,
    PolicyResource,
    config,
    get,
    refers_to,
    stack_policy,
)
from .kubernetes import namespace_of

# Types that support diagnostic settings and must have one (stack-diagnostic-settings).
DIAGNOSTIC_TYPES = (
    "azure-native:containerservice:ManagedCluster",
    "azure-native:keyvault:Vault",
    "azure-native:dbforpostgresql:Server",
    "azure-native:servicebus:Namespace",
    "azure-native:containerregistry:Registry",
    "azure-native:cognitiveservices:Account",
    "azure-native:redisenterprise:RedisEnterprise",
)


@stack_policy(
    "stack-workload-identity-subjects",
    "Every Kubernetes federated credential subject "
    "(system:serviceaccount:<ns>:<sa>) must match a ServiceAccount the stack creates.",
    HIGH,
    "Derive the subject and the ServiceAccount from the same namespace and name.",
    "FederatedIdentityCredential.subject vs ServiceAccount.metadata.namespace/name",
    reference="MYS.STK.001",
    pillar=RELIABILITY,
)
def _wi_subjects(args, report):
    accounts = set()
    for r in args.resources:
        if r.resource_type == "kubernetes:core/v1:ServiceAccount":
            accounts.add(f"system:serviceaccount:{namespace_of(r)}:{get(r.props, 'metadata', 'name')}")
    for r in args.resources:
        if r.resource_type not in FIC_TYPES:
            continue
        subject = get(r.props, "subject")
        if (
            isinstance(subject, str)
            and subject.startswith("system:serviceaccount:")
            and subject not in accounts
        ):
            report(
                f"federated credential {r.name!r} trusts {subject!r}, but the stack creates no such "
                "ServiceAccount: the workload can't get a token.",
                r.urn,
            )


_DIAG_SCHEMA = PolicyConfigSchema(
    properties={"resourceTypes": {"type": "array", "items": {"type": "string"}}}
)


@stack_policy(
    "stack-diagnostic-settings",
    "Every resource that supports diagnostics (AKS, Key Vault, PostgreSQL, "
    "Service Bus, registry, AI accounts, Redis) must have a diagnostic setting.",
    MEDIUM,
    "Call interfaces.diagnostics(...) with the Log Analytics workspace for the resource.",
    "DiagnosticSetting.resourceUri (its property dependency on the target resource or one of its "
    "sub-resources)",
    _DIAG_SCHEMA,
    reference="MYS.STK.002",
    pillar=OPERATIONAL_EXCELLENCE,
)
def _diagnostics(args, report):
    types = set(config(args, "resourceTypes", list(DIAGNOSTIC_TYPES)))
    settings = [r for r in args.resources if r.resource_type == "azure-native:monitor:DiagnosticSetting"]
    targets = [t for s in settings for t in (s.property_dependencies.get("resourceUri") or [])]
    for res in (r for r in args.resources if r.resource_type in types):
        # A setting on the resource, or on one of its own sub-resources (Azure Managed Redis takes
        # diagnostic settings on its database, Microsoft.Cache/redisEnterprise/databases).
        module = res.resource_type.rsplit(":", 1)[0] + ":"
        covered = any(t is res or (t.resource_type.startswith(module) and refers_to(t, res)) for t in targets)
        if not covered and not any(refers_to(s, res, "resourceUri") for s in settings):
            report(
                f"{res.resource_type.split(':')[-1]} {res.name!r} has no diagnostic setting: its logs and "
                "metrics go nowhere.",
                res.urn,
            )


@stack_policy(
    "stack-private-dns-zone-linked",
    "Every private endpoint's DNS zone (from its zone group) must be linked to the endpoint's VNet.",
    HIGH,
    "Create a privatedns.VirtualNetworkLink from the zone to the VNet of the endpoint's subnet.",
    "PrivateDnsZoneGroup.privateDnsZoneConfigs -> PrivateZone <- VirtualNetworkLink.virtualNetwork",
    reference="MYS.STK.003",
    pillar=SECURITY,
)
def _dns_linked(args, report):
    by_type: dict[str, list[PolicyResource]] = {}
    for r in args.resources:
        by_type.setdefault(r.resource_type, []).append(r)
    zones = by_type.get("azure-native:privatedns:PrivateZone", [])
    links = by_type.get("azure-native:privatedns:VirtualNetworkLink", [])
    vnets = by_type.get("azure-native:network:VirtualNetwork", [])
    subnets = by_type.get("azure-native:network:Subnet", [])
    for group in by_type.get("azure-native:network:PrivateDnsZoneGroup", []):
        endpoint = (
            group.parent if group.parent and group.parent.resource_type.endswith(":PrivateEndpoint") else None
        )
        if endpoint is None:
            endpoint = next((r for r in group.property_dependencies.get("privateEndpointName") or []), None)
        # The endpoint's VNet: the VNet its subnet belongs to (when the subnet is a resource here).
        endpoint_vnets = []
        if endpoint is not None:
            for sn in subnets:
                if refers_to(endpoint, sn, "subnet"):
                    endpoint_vnets += [v for v in vnets if refers_to(sn, v, "virtualNetworkName")]
        group_zones = [z for z in zones if refers_to(group, z, "privateDnsZoneConfigs")]
        if not group_zones:
            report(
                f"private DNS zone group {group.name!r} uses no private DNS zone of this stack: the "
                "endpoint's name won't resolve to its private address.",
                group.urn,
            )
            continue
        for zone in group_zones:
            zone_links = [
                link for link in links if link.parent is zone or refers_to(link, zone, "privateZoneName")
            ]
            if endpoint_vnets:
                zone_links = [
                    link
                    for link in zone_links
                    if any(refers_to(link, v, "virtualNetwork") for v in endpoint_vnets)
                ]
            if not zone_links:
                report(
                    f"private DNS zone {zone.name!r} (used by {group.name!r}) is not linked to the "
                    "endpoint's VNet: clients in the VNet resolve the public address.",
                    group.urn,
                )
