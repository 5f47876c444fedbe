"""Azure Kubernetes Service: the cluster (ManagedCluster) and its node pools (AgentPool).

References: MYS.AKS.<NNN>.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .framework import (
    AKS,
    AKS_POOL,
    HIGH,
    MEDIUM,
    OPERATIONAL_EXCELLENCE,
    PROD_ENVS,
    RELIABILITY,
    SECURITY,
    PolicyConfigSchema,
    config,
    environment,
    eq,
    get,
    items,
    resource_policy,
    truthy,
)

DEFAULT_MIN_K8S_VERSION = "1.35"  # oldest AKS minor in support on 2026-12-02 (docs/lifecycle.md)


@resource_policy(
    "aks-rbac-enabled",
    "AKS clusters must have Kubernetes RBAC enabled.",
    HIGH,
    "Set enable_rbac=True on the ManagedCluster.",
    "enableRBAC",
    [AKS],
    reference="MYS.AKS.001",
    pillar=SECURITY,
)
def _aks_rbac(args, report):
    if not truthy(get(args.props, "enableRBAC")):
        report("enableRBAC is not true: any authenticated user could act without RBAC checks.")


@resource_policy(
    "aks-entra-azure-rbac",
    "AKS clusters must use Entra ID (managed) with Azure RBAC for Kubernetes.",
    HIGH,
    "Set aad_profile={'managed': True, 'enable_azure_rbac': True, 'tenant_id': ...}.",
    "aadProfile.managed, aadProfile.enableAzureRBAC",
    [AKS],
    reference="MYS.AKS.002",
    pillar=SECURITY,
)
def _aks_entra(args, report):
    if not truthy(get(args.props, "aadProfile", "managed")):
        report("aadProfile.managed is not true: the cluster is not Entra-integrated.")
    if not truthy(get(args.props, "aadProfile", "enableAzureRBAC")):
        report(
            "aadProfile.enableAzureRBAC is not true: Kubernetes authorization is not governed by Azure RBAC."
        )


@resource_policy(
    "aks-local-accounts-disabled",
    "AKS clusters must disable local accounts.",
    HIGH,
    "Set disable_local_accounts=True (use Entra + kubelogin).",
    "disableLocalAccounts",
    [AKS],
    reference="MYS.AKS.003",
    pillar=SECURITY,
)
def _aks_local(args, report):
    if not truthy(get(args.props, "disableLocalAccounts")):
        report("disableLocalAccounts is not true: the static admin kubeconfig bypasses Entra and audit.")


@resource_policy(
    "aks-network-policy",
    "AKS clusters must set a network policy engine (azure, calico or cilium).",
    HIGH,
    "Set network_profile.network_policy to 'azure', 'calico' or 'cilium'.",
    "networkProfile.networkPolicy",
    [AKS],
    reference="MYS.AKS.004",
    pillar=SECURITY,
)
def _aks_netpol(args, report):
    value = get(args.props, "networkProfile", "networkPolicy")
    if not (isinstance(value, str) and value.lower() in ("azure", "calico", "cilium")):
        report(f"networkProfile.networkPolicy is {value!r}: pods can reach each other without restriction.")


@resource_policy(
    "aks-workload-identity",
    "AKS clusters must enable the OIDC issuer and workload identity.",
    HIGH,
    "Set oidc_issuer_profile.enabled=True and security_profile.workload_identity.enabled=True.",
    "oidcIssuerProfile.enabled, securityProfile.workloadIdentity.enabled",
    [AKS],
    reference="MYS.AKS.005",
    pillar=SECURITY,
)
def _aks_wi(args, report):
    if not truthy(get(args.props, "oidcIssuerProfile", "enabled")):
        report("oidcIssuerProfile.enabled is not true: federated credentials have no issuer to trust.")
    if not truthy(get(args.props, "securityProfile", "workloadIdentity", "enabled")):
        report(
            "securityProfile.workloadIdentity.enabled is not true: pods can't exchange their tokens "
            "for Entra tokens."
        )


@resource_policy(
    "aks-no-node-public-ip",
    "AKS node pools must not give nodes public IPs.",
    HIGH,
    "Remove enable_node_public_ip (or set it False) on every pool.",
    "agentPoolProfiles[].enableNodePublicIP, AgentPool.enableNodePublicIP",
    [AKS, AKS_POOL],
    reference="MYS.AKS.006",
    pillar=SECURITY,
)
def _aks_public_ip(args, report):
    pools = items(get(args.props, "agentPoolProfiles")) if args.resource_type == AKS else [args.props]
    for pool in pools:
        if truthy(get(pool, "enableNodePublicIP")):
            report(
                f"node pool {get(pool, 'name') or args.name!r} sets enableNodePublicIP: nodes are "
                "reachable from the internet."
            )


def _addon_enabled(props: Any, *names: str) -> bool:
    addons = get(props, "addonProfiles")
    for key in list(iter(addons)) if isinstance(addons, Mapping) else []:
        if key.lower() in names and truthy(get(addons, key, "enabled")):
            return True
    return False


@resource_policy(
    "aks-azure-policy-addon",
    "AKS clusters must run the Azure Policy add-on.",
    MEDIUM,
    "Set addon_profiles={'azurepolicy': {'enabled': True}}.",
    "addonProfiles.azurepolicy.enabled",
    [AKS],
    reference="MYS.AKS.007",
    pillar=SECURITY,
)
def _aks_policy_addon(args, report):
    if not _addon_enabled(args.props, "azurepolicy"):
        report("addonProfiles.azurepolicy is not enabled: in-cluster guardrails (Gatekeeper) are off.")


@resource_policy(
    "aks-monitoring-addon",
    "AKS clusters must run the monitoring add-on (Container insights).",
    MEDIUM,
    "Set addon_profiles={'omsagent': {'enabled': True, 'config': {'logAnalyticsWorkspaceResourceID': ...}}}.",
    "addonProfiles.omsagent.enabled",
    [AKS],
    reference="MYS.AKS.008",
    pillar=OPERATIONAL_EXCELLENCE,
)
def _aks_monitoring(args, report):
    if not _addon_enabled(args.props, "omsagent"):
        report("addonProfiles.omsagent is not enabled: no container logs or node metrics in Log Analytics.")


@resource_policy(
    "aks-upgrade-channels",
    "AKS clusters must set the cluster and node OS upgrade channels.",
    MEDIUM,
    "Set auto_upgrade_profile={'upgrade_channel': 'patch'|'stable'|'none', "
    "'node_os_upgrade_channel': 'NodeImage'|'SecurityPatch'}.",
    "autoUpgradeProfile.upgradeChannel, autoUpgradeProfile.nodeOSUpgradeChannel",
    [AKS],
    reference="MYS.AKS.009",
    pillar=OPERATIONAL_EXCELLENCE,
)
def _aks_upgrades(args, report):
    channel = get(args.props, "autoUpgradeProfile", "upgradeChannel")
    if not isinstance(channel, str) or not channel:
        report("autoUpgradeProfile.upgradeChannel is not set: choose how the control plane is upgraded.")
    node = get(args.props, "autoUpgradeProfile", "nodeOSUpgradeChannel")
    if not (isinstance(node, str) and node.lower() in ("nodeimage", "securitypatch")):
        report(
            f"autoUpgradeProfile.nodeOSUpgradeChannel is {node!r}: node OS security patches are not applied."
        )


def _version_tuple(value: str) -> tuple[int, ...] | None:
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?", value.strip())
    return tuple(int(x) for x in m.groups() if x is not None)[:2] if m else None


_VERSION_SCHEMA = PolicyConfigSchema(
    properties={"minimumVersion": {"type": "string", "default": DEFAULT_MIN_K8S_VERSION}}
)


@resource_policy(
    "aks-supported-version",
    "AKS clusters and pools must run a supported Kubernetes version "
    f"(at least the configured minimumVersion, default {DEFAULT_MIN_K8S_VERSION}).",
    HIGH,
    "Raise kubernetes_version (pin the minor only, e.g. '1.36') or update minimumVersion in the "
    "policy config when the AKS support calendar moves.",
    "kubernetesVersion, AgentPool.orchestratorVersion",
    [AKS, AKS_POOL],
    _VERSION_SCHEMA,
    reference="MYS.AKS.010",
    pillar=RELIABILITY,
)
def _aks_version(args, report):
    key = "kubernetesVersion" if args.resource_type == AKS else "orchestratorVersion"
    value = get(args.props, key)
    if value is None:
        return  # AKS picks its default (a supported) version
    minimum = _version_tuple(str(config(args, "minimumVersion", DEFAULT_MIN_K8S_VERSION))) or (1, 35)
    have = _version_tuple(str(value))
    if have is None or have < minimum:
        report(
            f"{key} {value!r} is below the supported minimum {'.'.join(map(str, minimum))}: AKS will not "
            "create it, or runs it without support."
        )


@resource_policy(
    "aks-standard-tier-prod",
    "Production AKS clusters must use the Standard (uptime SLA) tier.",
    MEDIUM,
    "Set sku={'name': 'Base', 'tier': 'Standard'} in prod.",
    "sku.tier",
    [AKS],
    reference="MYS.AKS.011",
    pillar=RELIABILITY,
)
def _aks_tier(args, report):
    if environment(args.props) not in PROD_ENVS:
        return
    tier = get(args.props, "sku", "tier")
    if not (isinstance(tier, str) and tier.lower() in ("standard", "premium")):
        report(f"sku.tier is {tier!r} in production: the Free tier has no API server SLA.")


@resource_policy(
    "aks-system-pool-zones-prod",
    "Production AKS system pools must span availability zones.",
    MEDIUM,
    "Set availability_zones=['1', '2', '3'] on the system pool in prod.",
    "agentPoolProfiles[mode=System].availabilityZones",
    [AKS, AKS_POOL],
    reference="MYS.AKS.012",
    pillar=RELIABILITY,
)
def _aks_zones(args, report):
    if environment(args.props) not in PROD_ENVS:
        return
    pools = items(get(args.props, "agentPoolProfiles")) if args.resource_type == AKS else [args.props]
    for pool in pools:
        if not eq(get(pool, "mode"), "System"):
            continue
        zones = items(get(pool, "availabilityZones"))
        if len(zones) < 2:
            report(
                f"system pool {get(pool, 'name') or args.name!r} has zones {list(zones)}: one zone failure "
                "takes down the cluster's system pods."
            )
