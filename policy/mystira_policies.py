"""Mystira's CrossGuard policies, as a plain module (no PolicyPack here: building one starts a server).

Every policy reads Azure (or Kubernetes) properties under their wire names, exactly as the
analyzer hands them over: camelCase keys, numbers as floats, secrets unwrapped, and, during a
preview, unknown values that raise `UnknownValueError` when touched (the CLI then reports
"can't run policy ... during preview" as an advisory note). So every check touches only the
values it needs, and never assumes a plain `dict`/`list` (the analyzer passes read-only proxies).

This module must not import the Pulumi program: it governs any program, ours included.

Environment-dependent policies (purge protection in staging and prod, Standard tier in prod, ...)
read the environment from the resource's `Environment` tag when it has one, else from the stack
name (`pulumi.get_stack()`, which the CLI sets in the analyzer from PULUMI_STACK, and the dry run
sets the same way). The `shared` stack counts as production: it holds the state backend, the
registry and the CI identities of every environment.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

PACK_NAME = "mystira-policies"

# Environments, by how strict they are. `shared` is production for every rule that protects data.
PROD_ENVS = frozenset({"prod", "shared"})
STRICT_ENVS = frozenset({"staging", "prod", "shared"})
_ENV_ALIASES = {
    "production": "prod",
    "prd": "prod",
    "stg": "staging",
    "stage": "staging",
    "development": "dev",
    "shr": "shared",
}

# Built-in role definition GUIDs a workload identity must never hold (identical in every tenant).
PRIVILEGED_ROLE_GUIDS = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}

LOADBALANCER_REASON_ANNOTATION = "mystira.app/loadbalancer-reason"
DEFAULT_MIN_K8S_VERSION = "1.33"
DEFAULT_INGRESS_PORTS = [80, 443]
INTERNET_SOURCES = frozenset({"*", "internet", "0.0.0.0/0", "0.0.0.0", "any", "::/0"})

# Subnets Azure forbids (or manages) an NSG on.
NSG_EXEMPT_SUBNETS = frozenset(
    {"GatewaySubnet", "AzureFirewallSubnet", "AzureFirewallManagementSubnet", "RouteServerSubnet"}
)

REQUIRED_TAGS = ("Environment", "Project", "ManagedBy", "CostCenter")

# Inputs whose value is a credential that an Entra-first platform should not set at all (the
# analyzer unwraps secrets, so "is it marked secret" can't be checked; "is it set" can).
PLAINTEXT_SECRET_KEYS = frozenset(
    {
        "administratorLoginPassword",
        "adminPassword",
        "clientSecret",
        "accountKey",
        "sharedAccessKey",
        "primaryKey",
        "secondaryKey",
    }
)
# Types whose job is to hold a secret value (the value is expected there).
SECRET_HOLDING_TYPES = frozenset(
    {
        "azure-native:keyvault:Secret",
        "kubernetes:core/v1:Secret",
        "random:index/randomPassword:RandomPassword",
    }
)

K8S_WORKLOADS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
)

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

# Naming convention (ADR-0008): mys-{env}-{service}-{type}-{region}[-suffix], squashed where a
# type forbids dashes. Written here on purpose, not imported from the program.
_ENV = r"(?:dev|staging|prod|shared)"
_ENV_SHORT = r"(?:dev|stg|prd|shr)"


def _dashed(abbrev: str) -> str:
    return rf"mys-{_ENV}-[a-z0-9]+(?:-[a-z0-9]+)*-{abbrev}-[a-z]{{3,4}}(?:-[a-z0-9]{{4}})?"


def _squashed(abbrev: str) -> str:
    return rf"mys{_ENV_SHORT}[a-z0-9]+{abbrev}[a-z]{{3,4}}[a-z0-9]{{0,4}}"


# type token -> (name input, kind, regex)
NAMING_RULES: dict[str, tuple[str, str, str]] = {
    "azure-native:resources:ResourceGroup": ("resourceGroupName", "resource group", _dashed("rg")),
    "azure-native:network:VirtualNetwork": ("virtualNetworkName", "virtual network", _dashed("vnet")),
    "azure-native:network:NetworkSecurityGroup": ("networkSecurityGroupName", "NSG", _dashed("nsg")),
    "azure-native:network:Subnet": ("subnetName", "subnet", _dashed("snet")),
    "azure-native:containerservice:ManagedCluster": ("resourceName", "AKS cluster", _dashed("aks")),
    "azure-native:keyvault:Vault": ("vaultName", "Key Vault", _squashed("kv")),
    "azure-native:storage:StorageAccount": ("accountName", "storage account", _squashed("st")),
    "azure-native:containerregistry:Registry": ("registryName", "container registry", _squashed("cr")),
    "azure-native:dbforpostgresql:Server": ("serverName", "PostgreSQL server", _dashed("psql")),
    "azure-native:redisenterprise:RedisEnterprise": ("clusterName", "Redis", _dashed("redis")),
    "azure-native:servicebus:Namespace": ("namespaceName", "Service Bus namespace", _dashed("sbns")),
    "azure-native:cognitiveservices:Account": ("accountName", "AI account", _dashed("oai")),
    "azure-native:operationalinsights:Workspace": (
        "workspaceName",
        "Log Analytics workspace",
        _dashed("log"),
    ),
    "azure-native:managedidentity:UserAssignedIdentity": ("resourceName", "managed identity", _dashed("id")),
}

# Stateful types that must be `protect`ed in production (the state account is any storage account).
STATEFUL_TYPES = {
    "azure-native:dbforpostgresql:Server": "PostgreSQL server",
    "azure-native:keyvault:Vault": "Key Vault",
    "azure-native:storage:StorageAccount": "storage account",
    "azure-native:containerregistry:Registry": "container registry",
}


# --------------------------------------------------------------------------------------------
# Helpers: read through the analyzer's proxies without touching what a check doesn't need.
# --------------------------------------------------------------------------------------------


def has(obj: Any, key: str) -> bool:
    """Key present (known or not), without reading its value (reading an unknown raises)."""
    return isinstance(obj, Mapping) and key in list(iter(obj))


def get(obj: Any, *path: Any) -> Any:
    """Walk Mappings/Sequences; None where a key is missing. Touching an unknown value raises
    UnknownValueError, which is what the analyzer expects: the policy can't run in preview."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(obj, Sequence) or isinstance(obj, str) or key >= len(obj):
                return None
            obj = obj[key]
        else:
            if not has(obj, key):
                return None
            obj = obj[key]
    return obj


def items(obj: Any) -> list[Any]:
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        return [obj[i] for i in range(len(obj))]
    return []


def eq(value: Any, expected: str) -> bool:
    return isinstance(value, str) and value.lower() == expected.lower()


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def stack_name() -> str:
    try:
        return pulumi.get_stack() or ""
    except Exception:  # no runtime settings: not under the CLI or the dry run
        return ""


def _normalize_env(value: str) -> str:
    v = value.strip().lower()
    return _ENV_ALIASES.get(v, v)


def environment(props: Any = None) -> str:
    """The resource's `Environment` tag if known, else the stack name (its last segment)."""
    try:
        tag = get(props, "tags", "Environment") if props is not None else None
    except Exception:  # an unknown tag value: fall back to the stack
        tag = None
    if isinstance(tag, str) and tag:
        return _normalize_env(tag)
    stack = stack_name().split("/")[-1]
    for known in ("prod", "staging", "dev", "shared"):
        if _normalize_env(stack) == known or stack.endswith(f"-{known}"):
            return known
    return _normalize_env(stack)


def config(args: Any, key: str, default: Any) -> Any:
    cfg = args.get_config() or {}
    return cfg.get(key, default) if isinstance(cfg, Mapping) else default


# --------------------------------------------------------------------------------------------
# The policy table.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What docs/policy.md and the tests read: one row per policy."""

    id: str
    description: str
    severity: Severity
    remediation: str
    reads: str  # the Azure/Kubernetes property the policy reads (wire name)
    types: tuple[str, ...]  # resource types it applies to ("stack" for stack policies)


SPECS: list[Spec] = []
POLICIES: list[Policy] = []

ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


def _register(spec: Spec, policy: ResourceValidationPolicy | StackValidationPolicy) -> None:
    if any(s.id == spec.id for s in SPECS):
        raise ValueError(f"duplicate policy id {spec.id}")
    SPECS.append(spec)
    POLICIES.append(policy)


def applies(types: Sequence[str], resource_type: str) -> bool:
    """`types` holds exact tokens, or "*" (any type), or "<provider>:*" (any type of a provider)."""
    return any(
        t == resource_type or t == "*" or (t.endswith(":*") and resource_type.startswith(t[:-1]))
        for t in types
    )


# Every resource policy accepts `exemptions` in its config: a list of {"name": <logical resource
# name>, "reason": <why>}. An exemption lives in the per-stack config file, in review, with its
# reason next to it; the policy code stays strict.
_EXEMPTIONS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "reason": {"type": "string", "minLength": 10}},
        "required": ["name", "reason"],
    },
}


def with_exemptions(schema: PolicyConfigSchema | None) -> PolicyConfigSchema:
    properties = dict(schema.properties) if schema else {}
    properties["exemptions"] = _EXEMPTIONS
    return PolicyConfigSchema(properties=properties, required=schema.required if schema else None)


def exempt(args: ResourceValidationArgs) -> bool:
    cfg = args.get_config() or {}
    return any(e.get("name") == args.name and e.get("reason") for e in cfg.get("exemptions") or [])


def resource_policy(
    id: str,
    description: str,
    severity: Severity,
    remediation: str,
    reads: str,
    types: Iterable[str],
    config_schema: PolicyConfigSchema | None = None,
) -> Callable[[ResourceCheck], ResourceCheck]:
    types = tuple(types)

    def wrap(check: ResourceCheck) -> ResourceCheck:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if applies(types, args.resource_type) and not exempt(args):
                check(args, report)

        _register(
            Spec(id, description, severity, remediation, reads, types),
            ResourceValidationPolicy(
                name=id,
                description=description,
                validate=validate,
                severity=severity,
                remediation_steps=remediation,
                config_schema=with_exemptions(config_schema),
            ),
        )
        return check

    return wrap


def stack_policy(
    id: str,
    description: str,
    severity: Severity,
    remediation: str,
    reads: str,
    config_schema: PolicyConfigSchema | None = None,
) -> Callable[[StackCheck], StackCheck]:
    def wrap(check: StackCheck) -> StackCheck:
        _register(
            Spec(id, description, severity, remediation, reads, ("stack",)),
            StackValidationPolicy(
                name=id,
                description=description,
                validate=check,
                severity=severity,
                remediation_steps=remediation,
                config_schema=config_schema,
            ),
        )
        return check

    return wrap


HIGH, MEDIUM, LOW, CRITICAL = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.CRITICAL

# ------------------------------------------------------------------------------------------- AKS
AKS = "azure-native:containerservice:ManagedCluster"
AKS_POOL = "azure-native:containerservice:AgentPool"


@resource_policy(
    "aks-rbac-enabled",
    "AKS clusters must have Kubernetes RBAC enabled.",
    HIGH,
    "Set enable_rbac=True on the ManagedCluster.",
    "enableRBAC",
    [AKS],
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
    "Raise kubernetes_version (pin the minor only, e.g. '1.33') or update minimumVersion in the "
    "policy config when the AKS support calendar moves.",
    "kubernetesVersion, AgentPool.orchestratorVersion",
    [AKS, AKS_POOL],
    _VERSION_SCHEMA,
)
def _aks_version(args, report):
    key = "kubernetesVersion" if args.resource_type == AKS else "orchestratorVersion"
    value = get(args.props, key)
    if value is None:
        return  # AKS picks its default (a supported) version
    minimum = _version_tuple(str(config(args, "minimumVersion", DEFAULT_MIN_K8S_VERSION))) or (1, 33)
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


# -------------------------------------------------------------------------------------- Key Vault
VAULT = "azure-native:keyvault:Vault"


@resource_policy(
    "keyvault-rbac-authorization",
    "Key Vaults must use Azure RBAC, not access policies.",
    HIGH,
    "Set properties.enable_rbac_authorization=True and grant data-plane roles.",
    "properties.enableRbacAuthorization",
    [VAULT],
)
def _kv_rbac(args, report):
    if not truthy(get(args.props, "properties", "enableRbacAuthorization")):
        report(
            "properties.enableRbacAuthorization is not true: role assignments like 'Key Vault Secrets User' "
            "grant nothing on an access-policy vault."
        )


@resource_policy(
    "keyvault-soft-delete",
    "Key Vaults must keep soft delete on.",
    HIGH,
    "Remove enable_soft_delete=False (or set it True).",
    "properties.enableSoftDelete",
    [VAULT],
)
def _kv_soft_delete(args, report):
    if get(args.props, "properties", "enableSoftDelete") is False:
        report("properties.enableSoftDelete is false: deleted secrets can't be recovered.")


@resource_policy(
    "keyvault-purge-protection",
    "Key Vaults in staging and production must enable purge protection.",
    HIGH,
    "Set properties.enable_purge_protection=True (it can't be turned off again).",
    "properties.enablePurgeProtection",
    [VAULT],
)
def _kv_purge(args, report):
    if environment(args.props) in STRICT_ENVS and not truthy(
        get(args.props, "properties", "enablePurgeProtection")
    ):
        report(
            f"properties.enablePurgeProtection is not true in {environment(args.props)}: a deleted vault can "
            "be purged before anyone notices."
        )


@resource_policy(
    "keyvault-network-restricted",
    "Key Vaults must disable public network access or deny by default.",
    HIGH,
    "Set properties.public_network_access='Disabled' (with a private endpoint) or "
    "properties.network_acls.default_action='Deny'.",
    "properties.publicNetworkAccess, properties.networkAcls.defaultAction",
    [VAULT],
)
def _kv_network(args, report):
    if eq(get(args.props, "properties", "publicNetworkAccess"), "Disabled"):
        return
    if eq(get(args.props, "properties", "networkAcls", "defaultAction"), "Deny"):
        return
    report(
        "public network access is enabled and networkAcls.defaultAction is not Deny: the vault is reachable "
        "from the internet."
    )


@resource_policy(
    "keyvault-secret-content-type",
    "Key Vault secrets must set a content type.",
    LOW,
    "Set properties.content_type (e.g. 'text/plain', 'connection-string').",
    "Secret.properties.contentType",
    ["azure-native:keyvault:Secret"],
)
def _kv_content_type(args, report):
    value = get(args.props, "properties", "contentType")
    if not (isinstance(value, str) and value.strip()):
        report("properties.contentType is not set: readers can't tell how to interpret the secret.")


# ------------------------------------------------------------------------------------- PostgreSQL
PG = "azure-native:dbforpostgresql:Server"
PG_CONFIG = "azure-native:dbforpostgresql:Configuration"
PG_FIREWALL = "azure-native:dbforpostgresql:FirewallRule"


@resource_policy(
    "postgres-entra-auth",
    "PostgreSQL servers must enable Entra authentication, and disable password "
    "authentication in staging and production.",
    HIGH,
    "Set auth_config={'active_directory_auth': 'Enabled', 'password_auth': 'Disabled'} and add an "
    "Entra administrator.",
    "authConfig.activeDirectoryAuth, authConfig.passwordAuth",
    [PG],
)
def _pg_auth(args, report):
    if not eq(get(args.props, "authConfig", "activeDirectoryAuth"), "Enabled"):
        report(
            "authConfig.activeDirectoryAuth is not Enabled: workloads can't sign in with their "
            "managed identity."
        )
    env = environment(args.props)
    if env in STRICT_ENVS and not eq(get(args.props, "authConfig", "passwordAuth"), "Disabled"):
        report(f"authConfig.passwordAuth is not Disabled in {env}: a leaked password is enough to get in.")


@resource_policy(
    "postgres-secure-transport",
    "PostgreSQL must keep require_secure_transport on.",
    HIGH,
    "Remove the require_secure_transport=off configuration (or set it to 'on').",
    "Configuration[require_secure_transport].value",
    [PG_CONFIG],
)
def _pg_secure_transport(args, report):
    if get(args.props, "configurationName") == "require_secure_transport":
        value = get(args.props, "value")
        if not (isinstance(value, str) and value.lower() in ("on", "true", "1")):
            report(f"require_secure_transport is {value!r}: clients may connect without TLS.")


@resource_policy(
    "postgres-tls12",
    "PostgreSQL must require TLS 1.2 or newer.",
    HIGH,
    "Set the ssl_min_protocol_version configuration to 'TLSv1.2' (or remove the override).",
    "Configuration[ssl_min_protocol_version].value",
    [PG_CONFIG],
)
def _pg_tls(args, report):
    if get(args.props, "configurationName") == "ssl_min_protocol_version":
        value = get(args.props, "value")
        if not (isinstance(value, str) and value in ("TLSv1.2", "TLSv1.3")):
            report(f"ssl_min_protocol_version is {value!r}: TLS 1.0/1.1 are broken.")


def _ip(value: Any) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        return None


@resource_policy(
    "postgres-no-public-firewall",
    "PostgreSQL firewall rules must not open the server to the world or to all of Azure.",
    CRITICAL,
    "Delete the rule; use private access (a delegated subnet) or a private endpoint.",
    "FirewallRule.startIpAddress, FirewallRule.endIpAddress",
    [PG_FIREWALL],
)
def _pg_firewall(args, report):
    start, end = _ip(get(args.props, "startIpAddress")), _ip(get(args.props, "endIpAddress"))
    if start is None or end is None:
        report("the rule's addresses are not IPv4 addresses: it can't be checked.")
        return
    if int(start) == 0 and int(end) == 0:
        report("the rule 0.0.0.0-0.0.0.0 allows every Azure service of every tenant.")
    elif int(end) - int(start) + 1 >= 2**24:
        report(f"the rule {start}-{end} opens the server to {int(end) - int(start) + 1} addresses.")


@resource_policy(
    "postgres-private-access",
    "PostgreSQL servers must use private access (no public network access).",
    HIGH,
    "Set network={'delegated_subnet_resource_id': ..., 'private_dns_zone_arm_resource_id': ...} "
    "or network.public_network_access='Disabled' with a private endpoint.",
    "network.publicNetworkAccess, network.delegatedSubnetResourceId",
    [PG],
)
def _pg_private(args, report):
    network = get(args.props, "network")
    if has(network, "delegatedSubnetResourceId"):
        return
    if eq(get(network, "publicNetworkAccess"), "Disabled"):
        return
    report("the server has no delegated subnet and public network access is not Disabled.")


@resource_policy(
    "postgres-geo-backup-ha-prod",
    "Production PostgreSQL servers must use geo-redundant backup and high availability.",
    HIGH,
    "Set backup.geo_redundant_backup='Enabled' and high_availability.mode='ZoneRedundant' in prod.",
    "backup.geoRedundantBackup, highAvailability.mode",
    [PG],
)
def _pg_prod(args, report):
    if environment(args.props) not in PROD_ENVS:
        return
    if not eq(get(args.props, "backup", "geoRedundantBackup"), "Enabled"):
        report(
            "backup.geoRedundantBackup is not Enabled in production: a regional outage loses the backups too."
        )
    mode = get(args.props, "highAvailability", "mode")
    if not (isinstance(mode, str) and mode.lower() in ("zoneredundant", "samezone")):
        report(f"highAvailability.mode is {mode!r} in production: no standby to fail over to.")


@resource_policy(
    "postgres-maintenance-window",
    "PostgreSQL servers must set a custom maintenance window.",
    LOW,
    "Set maintenance_window={'custom_window': 'Enabled', 'day_of_week': 0, 'start_hour': 2, ...}.",
    "maintenanceWindow.customWindow",
    [PG],
)
def _pg_maintenance(args, report):
    if not eq(get(args.props, "maintenanceWindow", "customWindow"), "Enabled"):
        report("maintenanceWindow.customWindow is not Enabled: Azure patches and restarts whenever it likes.")


# ------------------------------------------------------------------------------------------ Redis
AMR = "azure-native:redisenterprise:RedisEnterprise"
AMR_DB = "azure-native:redisenterprise:Database"


@resource_policy(
    "redis-managed-only",
    "Only Azure Managed Redis (redisenterprise) may be created: Azure Cache for Redis is retired.",
    CRITICAL,
    "Replace redis.Redis with redisenterprise.RedisEnterprise + Database.",
    "resource type",
    ["azure-native:redis:Redis", "azure-native:cache:Redis"],
)
def _redis_managed(args, report):
    report(
        f"{args.resource_type} is Azure Cache for Redis, which is being retired: new caches can't be created."
    )


@resource_policy(
    "redis-tls12",
    "Azure Managed Redis must require TLS 1.2 and encrypted client connections.",
    HIGH,
    "Set minimum_tls_version='1.2' on the cluster and client_protocol='Encrypted' on the database.",
    "RedisEnterprise.minimumTlsVersion, Database.clientProtocol",
    [AMR, AMR_DB],
)
def _redis_tls(args, report):
    if args.resource_type == AMR:
        value = get(args.props, "minimumTlsVersion")
        if value not in ("1.2", "1.3"):
            report(f"minimumTlsVersion is {value!r}: set '1.2'.")
    elif eq(get(args.props, "clientProtocol"), "Plaintext"):
        report("clientProtocol is Plaintext: cache traffic is unencrypted.")


@resource_policy(
    "redis-access-keys-disabled",
    "Azure Managed Redis databases must disable access keys (Entra only).",
    HIGH,
    "Set access_keys_authentication='Disabled' and use access policy assignments.",
    "Database.accessKeysAuthentication",
    [AMR_DB],
)
def _redis_keys(args, report):
    if not eq(get(args.props, "accessKeysAuthentication"), "Disabled"):
        report(
            f"accessKeysAuthentication is {get(args.props, 'accessKeysAuthentication')!r}: a shared key "
            "bypasses Entra identities."
        )


@resource_policy(
    "redis-public-access-disabled",
    "Azure Managed Redis must disable public network access.",
    HIGH,
    "Set public_network_access='Disabled' and add a private endpoint.",
    "RedisEnterprise.publicNetworkAccess",
    [AMR],
)
def _redis_public(args, report):
    if not eq(get(args.props, "publicNetworkAccess"), "Disabled"):
        report(
            f"publicNetworkAccess is {get(args.props, 'publicNetworkAccess')!r}: the cache is reachable from "
            "the internet."
        )


# ------------------------------------------------------------------------------------ Service Bus
SB = "azure-native:servicebus:Namespace"


@resource_policy(
    "servicebus-local-auth-disabled",
    "Service Bus namespaces must disable local (SAS key) auth.",
    HIGH,
    "Set disable_local_auth=True and grant Azure Service Bus Data roles.",
    "disableLocalAuth",
    [SB],
)
def _sb_local(args, report):
    if not truthy(get(args.props, "disableLocalAuth")):
        report("disableLocalAuth is not true: SAS keys bypass Entra identities.")


@resource_policy(
    "servicebus-tls12",
    "Service Bus namespaces must require TLS 1.2.",
    HIGH,
    "Set minimum_tls_version='1.2'.",
    "minimumTlsVersion",
    [SB],
)
def _sb_tls(args, report):
    if get(args.props, "minimumTlsVersion") not in ("1.2", "1.3"):
        report(f"minimumTlsVersion is {get(args.props, 'minimumTlsVersion')!r}: set '1.2'.")


@resource_policy(
    "servicebus-public-access-prod",
    "Production Service Bus namespaces must disable public network access.",
    HIGH,
    "Set public_network_access='Disabled' (Premium) and add a private endpoint.",
    "publicNetworkAccess",
    [SB],
)
def _sb_public(args, report):
    env = environment(args.props)
    if env in PROD_ENVS and not eq(get(args.props, "publicNetworkAccess"), "Disabled"):
        report(f"publicNetworkAccess is {get(args.props, 'publicNetworkAccess')!r} in {env}.")


# ------------------------------------------------------------------------------------- Registry
ACR = "azure-native:containerregistry:Registry"


@resource_policy(
    "registry-admin-user-disabled",
    "Container registries must disable the admin user.",
    HIGH,
    "Set admin_user_enabled=False; pull with AcrPull on the kubelet identity.",
    "adminUserEnabled",
    [ACR],
)
def _acr_admin(args, report):
    if truthy(get(args.props, "adminUserEnabled")):
        report("adminUserEnabled is true: a shared username/password can push and pull every image.")


@resource_policy(
    "registry-anonymous-pull-disabled",
    "Container registries must disable anonymous pull.",
    HIGH,
    "Set anonymous_pull_enabled=False.",
    "anonymousPullEnabled",
    [ACR],
)
def _acr_anon(args, report):
    if truthy(get(args.props, "anonymousPullEnabled")):
        report("anonymousPullEnabled is true: anyone on the internet can pull the images.")


@resource_policy(
    "registry-public-access-limited",
    "Container registries must disable public access or deny by default.",
    MEDIUM,
    "Set public_network_access='Disabled' (with a private endpoint) or "
    "network_rule_set.default_action='Deny' (Premium).",
    "publicNetworkAccess, networkRuleSet.defaultAction",
    [ACR],
)
def _acr_public(args, report):
    if eq(get(args.props, "publicNetworkAccess"), "Disabled"):
        return
    if eq(get(args.props, "networkRuleSet", "defaultAction"), "Deny"):
        return
    report("publicNetworkAccess is not Disabled and networkRuleSet.defaultAction is not Deny.")


# -------------------------------------------------------------------------------------- Storage
STORAGE = "azure-native:storage:StorageAccount"


@resource_policy(
    "storage-https-only",
    "Storage accounts must accept HTTPS only.",
    HIGH,
    "Set enable_https_traffic_only=True.",
    "enableHttpsTrafficOnly",
    [STORAGE],
)
def _st_https(args, report):
    if get(args.props, "enableHttpsTrafficOnly") is False:
        report("enableHttpsTrafficOnly is false: data and SAS tokens travel in clear text.")


@resource_policy(
    "storage-tls12",
    "Storage accounts must require TLS 1.2.",
    HIGH,
    "Set minimum_tls_version='TLS1_2'.",
    "minimumTlsVersion",
    [STORAGE],
)
def _st_tls(args, report):
    if get(args.props, "minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
        report(f"minimumTlsVersion is {get(args.props, 'minimumTlsVersion')!r}: set 'TLS1_2'.")


@resource_policy(
    "storage-no-public-blob",
    "Storage accounts must disallow anonymous blob access.",
    HIGH,
    "Set allow_blob_public_access=False.",
    "allowBlobPublicAccess",
    [STORAGE],
)
def _st_public_blob(args, report):
    if get(args.props, "allowBlobPublicAccess") is not False:
        report("allowBlobPublicAccess is not false: a container can be made public with one click.")


@resource_policy(
    "storage-shared-key-disabled",
    "Storage accounts must disable shared key access (Entra only).",
    HIGH,
    "Set allow_shared_key_access=False; grant Storage Blob Data roles.",
    "allowSharedKeyAccess",
    [STORAGE],
)
def _st_shared_key(args, report):
    if get(args.props, "allowSharedKeyAccess") is not False:
        report("allowSharedKeyAccess is not false: the account keys give full access without an identity.")


def _is_state_account(res: PolicyResource, markers: Sequence[str]) -> bool:
    try:
        names = [
            get(res.props, "accountName"),
            get(res.props, "tags", "Component"),
            get(res.props, "tags", "Purpose"),
        ]
    except Exception:
        return False
    return any(isinstance(n, str) and any(m in n.lower() for m in markers) for n in names)


@stack_policy(
    "storage-state-versioning-soft-delete",
    "The state storage account must have blob versioning and soft delete (blobs and containers) on.",
    HIGH,
    "Add a storage.BlobServiceProperties for the account with is_versioning_enabled=True, "
    "delete_retention_policy and container_delete_retention_policy enabled.",
    "BlobServiceProperties.isVersioningEnabled, .deleteRetentionPolicy.enabled, "
    ".containerDeleteRetentionPolicy.enabled (accounts whose name or Component/Purpose tag contains "
    "'state')",
    PolicyConfigSchema(properties={"markers": {"type": "array", "items": {"type": "string"}}}),
)
def _st_state(args, report):
    markers = [m.lower() for m in config(args, "markers", ["state"])]
    accounts = [r for r in args.resources if r.resource_type == STORAGE and _is_state_account(r, markers)]
    blob_services = [
        r for r in args.resources if r.resource_type == "azure-native:storage:BlobServiceProperties"
    ]
    for account in accounts:
        services = [b for b in blob_services if _refers_to(b, account, "accountName")]
        ok = any(
            truthy(get(b.props, "isVersioningEnabled"))
            and truthy(get(b.props, "deleteRetentionPolicy", "enabled"))
            and truthy(get(b.props, "containerDeleteRetentionPolicy", "enabled"))
            for b in services
        )
        if not ok:
            report(
                f"state account {account.name!r} has no blob service properties with versioning and soft "
                "delete on: a bad `pulumi up` or a deleted blob can't be rolled back.",
                account.urn,
            )


# ----------------------------------------------------------------------------------------- OpenAI
COG = "azure-native:cognitiveservices:Account"


def _is_openai(props: Any) -> bool:
    kind = get(props, "kind")
    return isinstance(kind, str) and kind.lower() in ("openai", "aiservices")


@resource_policy(
    "openai-local-auth-disabled",
    "OpenAI accounts must disable local (API key) auth.",
    HIGH,
    "Set properties.disable_local_auth=True; grant 'Cognitive Services OpenAI User'.",
    "properties.disableLocalAuth",
    [COG],
)
def _oai_local(args, report):
    if _is_openai(args.props) and not truthy(get(args.props, "properties", "disableLocalAuth")):
        report("properties.disableLocalAuth is not true: API keys bypass Entra identities.")


@resource_policy(
    "openai-public-access-disabled",
    "OpenAI accounts in staging and production must disable public network access.",
    HIGH,
    "Set properties.public_network_access='Disabled' and add a private endpoint.",
    "properties.publicNetworkAccess",
    [COG],
)
def _oai_public(args, report):
    env = environment(args.props)
    if (
        _is_openai(args.props)
        and env in STRICT_ENVS
        and not eq(get(args.props, "properties", "publicNetworkAccess"), "Disabled")
    ):
        report(f"properties.publicNetworkAccess is not Disabled in {env}.")


@resource_policy(
    "openai-custom-subdomain",
    "OpenAI accounts must set a custom subdomain (needed for Entra tokens and private endpoints).",
    HIGH,
    "Set properties.custom_sub_domain_name to the account's unique name.",
    "properties.customSubDomainName",
    [COG],
)
def _oai_subdomain(args, report):
    value = get(args.props, "properties", "customSubDomainName")
    if _is_openai(args.props) and not (isinstance(value, str) and value):
        report("properties.customSubDomainName is not set: Entra auth and private endpoints won't work.")


# ---------------------------------------------------------------------------------------- Network
NSG = "azure-native:network:NetworkSecurityGroup"
NSG_RULE = "azure-native:network:SecurityRule"


def _ports(rule: Any) -> list[tuple[int, int]] | None:
    """The rule's destination port ranges; None means any port."""
    raw = [get(rule, "destinationPortRange")] + items(get(rule, "destinationPortRanges"))
    out = []
    for r in raw:
        if r is None:
            continue
        text = str(r).strip()
        if text == "*":
            return None
        lo, _, hi = text.partition("-")
        try:
            out.append((int(float(lo)), int(float(hi or lo))))
        except ValueError:
            return None
    return out or None


def _internet_inbound_problem(rule: Any, allowed_ports: Sequence[int]) -> str | None:
    if not (eq(get(rule, "access"), "Allow") and eq(get(rule, "direction"), "Inbound")):
        return None
    sources = [get(rule, "sourceAddressPrefix")] + items(get(rule, "sourceAddressPrefixes"))
    open_sources = [s for s in sources if isinstance(s, str) and s.strip().lower() in INTERNET_SOURCES]
    if not open_sources:
        return None
    name = get(rule, "name") or "?"
    ports = _ports(rule)
    description = get(rule, "description")
    documented = isinstance(description, str) and description.lower().startswith("ingress:")
    within = ports is not None and all(lo in allowed_ports and hi == lo for lo, hi in ports)
    if documented and within:
        return None
    shown = (
        "any port" if ports is None else ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in ports)
    )
    why = (
        "the ports are not documented ingress ports"
        if documented
        else "it is not documented ingress (description must start with 'ingress:')"
    )
    return f"rule {name!r} allows inbound from {open_sources[0]!r} on {shown}: {why}."


_INGRESS_SCHEMA = PolicyConfigSchema(
    properties={"ingressPorts": {"type": "array", "items": {"type": "number"}}}
)


@resource_policy(
    "network-no-internet-inbound",
    "NSG rules must not allow inbound traffic from */Internet/0.0.0.0/0 "
    "except documented ingress (description starting 'ingress:', on the configured ingressPorts, "
    "default 80 and 443).",
    CRITICAL,
    "Narrow the source, or document the ingress rule: description 'ingress: <why>' and port 80/443 only.",
    "securityRules[].access/direction/sourceAddressPrefix(es)/destinationPortRange(s)/description",
    [NSG, NSG_RULE],
    _INGRESS_SCHEMA,
)
def _nsg_inbound(args, report):
    allowed = [int(p) for p in config(args, "ingressPorts", DEFAULT_INGRESS_PORTS)]
    rules = items(get(args.props, "securityRules")) if args.resource_type == NSG else [args.props]
    for rule in rules:
        problem = _internet_inbound_problem(rule, allowed)
        if problem:
            report(problem)


@resource_policy(
    "network-subnet-nsg",
    "Every subnet must have a network security group.",
    HIGH,
    "Set network_security_group={'id': nsg.id} on the subnet.",
    "Subnet.networkSecurityGroup.id, VirtualNetwork.subnets[].networkSecurityGroup.id",
    ["azure-native:network:Subnet", "azure-native:network:VirtualNetwork"],
)
def _subnet_nsg(args, report):
    if args.resource_type == "azure-native:network:Subnet":
        subnets = [(get(args.props, "subnetName") or get(args.props, "name") or args.name, args.props)]
    else:
        subnets = [(get(s, "name"), s) for s in items(get(args.props, "subnets"))]
    for name, subnet in subnets:
        if name in NSG_EXEMPT_SUBNETS:
            continue
        if not has(subnet, "networkSecurityGroup"):
            report(f"subnet {name!r} has no networkSecurityGroup: nothing filters its traffic.")


# --------------------------------------------------------------------------------------- Identity
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
FIC_TYPES = (
    "azure-native:managedidentity:FederatedIdentityCredential",
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
)

CI_ISSUERS = ["https://token.actions.githubusercontent.com"]
_DEPLOYER_SCHEMA = PolicyConfigSchema(
    properties={
        "deployerPrincipalIds": {"type": "array", "items": {"type": "string"}},
        "ciIssuers": {"type": "array", "items": {"type": "string"}, "default": CI_ISSUERS},
    }
)


def _known(read: Callable[[], Any]) -> Any:
    """A value, or None when it is unknown during preview (for reads whose unknown has a safe meaning)."""
    try:
        return read()
    except UnknownValueError:
        return None


def _is_ci_deployer(principal: PolicyResource, resources: list[PolicyResource], issuers: set[str]) -> bool:
    """A principal trusted only by CI: every federated credential on it (a managed identity's, or
    the app registration's behind a service principal) is issued by a configured CI issuer."""
    linked = [principal] + [d for deps in principal.property_dependencies.values() for d in deps]
    fics = [r for r in resources if r.resource_type in FIC_TYPES and any(_refers_to(r, x) for x in linked)]
    return bool(fics) and all(_issuer(f) in issuers for f in fics)


def _issuer(fic: PolicyResource) -> Any:
    return _known(lambda: get(fic.props, "issuer"))


@stack_policy(
    "identity-no-privileged-workload-roles",
    "Workload identities (every service principal except CI "
    "deployers: principals whose federated credentials are all issued by a CI issuer, or listed in "
    "deployerPrincipalIds) must not hold Owner, Contributor or User Access Administrator.",
    CRITICAL,
    "Grant the narrow data-plane role the workload needs (e.g. Key Vault Secrets User, AcrPull).",
    "RoleAssignment.roleDefinitionId, .principalType, .principalId (-> identity -> federated "
    "credential issuer)",
    _DEPLOYER_SCHEMA,
)
def _no_privileged(args, report):
    issuers = set(config(args, "ciIssuers", CI_ISSUERS))
    deployers = {str(p).lower() for p in config(args, "deployerPrincipalIds", [])}
    for ra in (r for r in args.resources if r.resource_type == ROLE_ASSIGNMENT):
        # An unknown role id comes from a role definition created in this stack: a custom role,
        # never one of the built-in ids above.
        role = _known(lambda ra=ra: get(ra.props, "roleDefinitionId"))
        guid = str(role).rstrip("/").split("/")[-1].lower() if role else ""
        if guid not in PRIVILEGED_ROLE_GUIDS or not eq(get(ra.props, "principalType"), "ServicePrincipal"):
            continue
        principals = ra.property_dependencies.get("principalId") or []
        if principals and all(_is_ci_deployer(p, args.resources, issuers) for p in principals):
            continue
        if deployers and str(get(ra.props, "principalId")).lower() in deployers:
            continue
        report(
            f"role assignment {ra.name!r} gives a workload identity {PRIVILEGED_ROLE_GUIDS[guid]}: a "
            "compromised pod could take over the scope.",
            ra.urn,
        )


@resource_policy(
    "identity-role-assignment-principal-type",
    "Role assignments must set principalType to "
    "ServicePrincipal or Group (azure-native sends 'User' when it is left out, so 'User' is refused: "
    "people get access through groups, not through the program).",
    HIGH,
    "Pass principal_type='ServicePrincipal' (managed identities, apps) or 'Group'.",
    "RoleAssignment.principalType",
    [ROLE_ASSIGNMENT],
)
def _principal_type(args, report):
    value = get(args.props, "principalType")
    if value not in ("ServicePrincipal", "Group", "ForeignGroup"):
        report(
            f"principalType is {value!r}: left out, the SDK sends 'User' and Azure rejects a managed "
            "identity (UnmatchedPrincipalType), and a new identity hits PrincipalNotFound; grant people "
            "access through a Group."
        )


@resource_policy(
    "identity-federated-subject-no-wildcards",
    "Federated identity credential subjects must not contain wildcards.",
    CRITICAL,
    "Name the exact subject, e.g. system:serviceaccount:<ns>:<sa> or repo:<org>/<repo>:environment:<env>.",
    "FederatedIdentityCredential.subject",
    FIC_TYPES,
)
def _fic_wildcards(args, report):
    subject = get(args.props, "subject")
    if not (isinstance(subject, str) and subject):
        report("subject is not set.")
    elif any(c in subject for c in "*?"):
        report(f"subject {subject!r} has a wildcard: any matching workload or branch could get the token.")


# ------------------------------------------------------------------------------------- Kubernetes
def _pod_spec(args: ResourceValidationArgs) -> Any:
    return get(args.props, "spec", "template", "spec")


def _containers(args: ResourceValidationArgs) -> list[Any]:
    spec = _pod_spec(args)
    return items(get(spec, "containers")) + items(get(spec, "initContainers"))


def _container_setting(
    args: ResourceValidationArgs,
    key: str,
    want: bool,
    why: str,
    report: Callable[..., None],
    pod_level: bool = False,
) -> None:
    pod_value = get(_pod_spec(args), "securityContext", key) if pod_level else None
    for c in _containers(args):
        value = get(c, "securityContext", key)
        if value is None:
            value = pod_value
        if value is not want:
            report(f"container {get(c, 'name')!r}: securityContext.{key} is {value!r}, want {want}: {why}")


@resource_policy(
    "k8s-run-as-non-root",
    "Pods must run as non-root.",
    HIGH,
    "Set securityContext.runAsNonRoot=True (pod or container) and a non-zero runAsUser in the image.",
    "spec.template.spec[.containers[]].securityContext.runAsNonRoot",
    K8S_WORKLOADS,
)
def _k8s_nonroot(args, report):
    _container_setting(
        args, "runAsNonRoot", True, "a container escape starts as root.", report, pod_level=True
    )


@resource_policy(
    "k8s-read-only-root-fs",
    "Containers must use a read-only root filesystem.",
    HIGH,
    "Set securityContext.readOnlyRootFilesystem=True; mount an emptyDir for scratch space.",
    "spec.template.spec.containers[].securityContext.readOnlyRootFilesystem",
    K8S_WORKLOADS,
)
def _k8s_rofs(args, report):
    _container_setting(
        args, "readOnlyRootFilesystem", True, "an attacker can write binaries into the image.", report
    )


@resource_policy(
    "k8s-no-privilege-escalation",
    "Containers must not allow privilege escalation.",
    HIGH,
    "Set securityContext.allowPrivilegeEscalation=False.",
    "spec.template.spec.containers[].securityContext.allowPrivilegeEscalation",
    K8S_WORKLOADS,
)
def _k8s_priv_esc(args, report):
    _container_setting(args, "allowPrivilegeEscalation", False, "setuid binaries can gain root.", report)


@resource_policy(
    "k8s-resources-set",
    "Containers must set CPU and memory requests and a memory limit.",
    MEDIUM,
    "Set resources={'requests': {'cpu': ..., 'memory': ...}, 'limits': {'memory': ...}}.",
    "spec.template.spec.containers[].resources.requests/limits",
    K8S_WORKLOADS,
)
def _k8s_resources(args, report):
    for c in items(get(_pod_spec(args), "containers")):
        missing = [
            p
            for p in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))
            if get(c, "resources", *p) in (None, "")
        ]
        if missing:
            report(
                f"container {get(c, 'name')!r} lacks resources "
                f"{', '.join('.'.join(p) for p in missing)}: the scheduler can't place it and one pod "
                "can starve a node."
            )


@resource_policy(
    "k8s-probes-set",
    "Containers must set readiness and liveness probes.",
    MEDIUM,
    "Set readiness_probe and liveness_probe on every container.",
    "spec.template.spec.containers[].readinessProbe/livenessProbe",
    K8S_WORKLOADS,
)
def _k8s_probes(args, report):
    for c in items(get(_pod_spec(args), "containers")):
        missing = [p for p in ("readinessProbe", "livenessProbe") if not has(c, p)]
        if missing:
            report(
                f"container {get(c, 'name')!r} has no {' or '.join(missing)}: traffic reaches pods that "
                "aren't ready, and hung pods are never restarted."
            )


@resource_policy(
    "k8s-min-replicas",
    "Deployments and StatefulSets must run at least 2 replicas.",
    MEDIUM,
    "Set spec.replicas >= 2 (and a PodDisruptionBudget).",
    "spec.replicas",
    ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"],
)
def _k8s_replicas(args, report):
    replicas = get(args.props, "spec", "replicas")
    if not isinstance(replicas, (int, float)) or replicas < 2:
        report(f"spec.replicas is {replicas!r}: one pod means downtime on every node drain or rollout.")


def _image_problem(image: Any) -> str | None:
    if not isinstance(image, str) or not image:
        return "no image"
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (means :latest)"
    if last.rsplit(":", 1)[1].lower() == "latest":
        return f"image {image!r} uses :latest"
    return None


@resource_policy(
    "k8s-no-latest-tag",
    "Container images must be pinned to a tag other than latest (or a digest).",
    MEDIUM,
    "Use an immutable version tag or @sha256 digest.",
    "spec.template.spec.containers[].image",
    K8S_WORKLOADS,
)
def _k8s_latest(args, report):
    for c in _containers(args):
        problem = _image_problem(get(c, "image"))
        if problem:
            report(f"container {get(c, 'name')!r}: {problem}: rollouts are not reproducible.")


@resource_policy(
    "k8s-loadbalancer-reason",
    f"LoadBalancer Services must carry the annotation "
    f"{LOADBALANCER_REASON_ANNOTATION} saying why they need a load balancer.",
    MEDIUM,
    f"Use ClusterIP behind the ingress, or add metadata.annotations['{LOADBALANCER_REASON_ANNOTATION}'].",
    "Service.spec.type, metadata.annotations",
    ["kubernetes:core/v1:Service"],
)
def _k8s_lb(args, report):
    if not eq(get(args.props, "spec", "type"), "LoadBalancer"):
        return
    reason = get(args.props, "metadata", "annotations", LOADBALANCER_REASON_ANNOTATION)
    if not (isinstance(reason, str) and reason.strip()):
        report(
            f"a LoadBalancer Service without the {LOADBALANCER_REASON_ANNOTATION} annotation: an unplanned "
            "public IP."
        )


def _labels_match(selector: Any, labels: Any) -> bool:
    match = get(selector, "matchLabels")
    if not isinstance(match, Mapping) or not isinstance(labels, Mapping) or not list(iter(match)):
        return False
    return all(get(labels, k) == match[k] for k in list(iter(match)))


def _namespace(res: PolicyResource) -> str:
    return str(get(res.props, "metadata", "namespace") or "default")


@stack_policy(
    "k8s-deployment-pdb",
    "Every Deployment must have a PodDisruptionBudget selecting its pods.",
    MEDIUM,
    "Add a policy/v1 PodDisruptionBudget (min_available=1 or max_unavailable=1) with the Deployment's "
    "selector labels in the same namespace.",
    "PodDisruptionBudget.metadata.namespace, .spec.selector.matchLabels vs "
    "Deployment.spec.template.metadata.labels",
)
def _k8s_pdb(args, report):
    pdbs = [r for r in args.resources if r.resource_type == "kubernetes:policy/v1:PodDisruptionBudget"]
    for dep in (r for r in args.resources if r.resource_type == "kubernetes:apps/v1:Deployment"):
        labels = get(dep.props, "spec", "template", "metadata", "labels")
        if not any(
            _namespace(p) == _namespace(dep) and _labels_match(get(p.props, "spec", "selector"), labels)
            for p in pdbs
        ):
            report(
                f"Deployment {dep.name!r} has no PodDisruptionBudget: a node drain can evict every "
                "replica at once.",
                dep.urn,
            )


# ---------------------------------------------------------------------------------------- Platform
TAGGABLE_TYPES = frozenset(
    {
        "azure-native:resources:ResourceGroup",
        VAULT,
        PG,
        AMR,
        SB,
        ACR,
        STORAGE,
        COG,
        AKS,
        NSG,
        "azure-native:network:VirtualNetwork",
        "azure-native:network:PrivateEndpoint",
        "azure-native:privatedns:PrivateZone",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:operationalinsights:Workspace",
        "azure-native:applicationinsights:Component",
        "azure-native:insights:ActionGroup",
        "azure-native:monitor:ActionGroup",
    }
)


@resource_policy(
    "platform-required-tags",
    "Taggable Azure resources must carry Environment, Project, ManagedBy, "
    "CostCenter and Service or Component tags.",
    LOW,
    "Pass the platform's tags (Environment, Project, ManagedBy, CostCenter, Service|Component).",
    "tags",
    ["azure-native:*"],
)
def _tags(args, report):
    props = args.props
    if not (has(props, "tags") or args.resource_type in TAGGABLE_TYPES):
        return
    tags = get(props, "tags")
    keys = set(iter(tags)) if isinstance(tags, Mapping) else set()
    missing = [t for t in REQUIRED_TAGS if t not in keys]
    if "Service" not in keys and "Component" not in keys:
        missing.append("Service|Component")
    if missing:
        report(f"missing tags: {', '.join(missing)} (cost reports and ownership can't find this resource).")


@resource_policy(
    "platform-naming-convention",
    "Named resource kinds must follow ADR-0008: "
    "mys-{env}-{service}-{type}-{region}[-suffix], squashed (mys{env3}{service}{type}{region}{suffix}) "
    "where dashes are not allowed.",
    LOW,
    "Take the name from the naming module (Namer) instead of writing it by hand.",
    "the type's name input (resourceGroupName, vaultName, accountName, ...)",
    tuple(NAMING_RULES),
)
def _naming(args, report):
    key, kind, pattern = NAMING_RULES[args.resource_type]
    name = get(args.props, key)
    if name is None:
        report(f"{key} is not set: Azure would get an auto-generated {kind} name outside the convention.")
    elif not re.fullmatch(pattern, str(name)):
        report(f"{kind} name {name!r} does not follow the naming convention ({pattern}).")


@resource_policy(
    "platform-protect-stateful-prod",
    "Stateful resources (PostgreSQL, Key Vault, storage, registry) must be protected in production.",
    HIGH,
    "Pass opts=ResourceOptions(protect=True) (or protect the parent component) in prod.",
    "resource option protect",
    tuple(STATEFUL_TYPES),
)
def _protect(args, report):
    env = environment(args.props)
    if env in PROD_ENVS and not args.opts.protect:
        report(
            f"{STATEFUL_TYPES[args.resource_type]} is not protected in {env}: one mistaken `pulumi up` could "
            "delete its data."
        )


def _secret_keys(obj: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(obj, Mapping):
        for key in list(iter(obj)):
            where = f"{path}.{key}" if path else key
            if key in PLAINTEXT_SECRET_KEYS:
                found.append(where)
                continue
            try:
                found += _secret_keys(obj[key], where)
            except Exception:  # an unknown value: it isn't a structure we can look into
                continue
    elif isinstance(obj, Sequence) and not isinstance(obj, str):
        for i in range(len(obj)):
            try:
                found += _secret_keys(obj[i], f"{path}[{i}]")
            except Exception:
                continue
    return found


@resource_policy(
    "platform-no-plaintext-secrets",
    "Inputs known to hold credentials (administratorLoginPassword, "
    "clientSecret, account keys, ...) must not be set: use Entra identities, or Key Vault references.",
    HIGH,
    "Remove the credential input; use Entra auth and managed identities.",
    "any input named " + ", ".join(sorted(PLAINTEXT_SECRET_KEYS)),
    ["*"],
)
def _plaintext(args, report):
    if args.resource_type in SECRET_HOLDING_TYPES:
        return
    for where in _secret_keys(args.props):
        report(f"{where} is set: the credential lands in the state file and in every preview diff.")


# ------------------------------------------------------------------------------------ Stack-level
def _refers_to(res: PolicyResource, target: PolicyResource, prop: str | None = None) -> bool:
    """`res` takes an input from `target` (property dependency, plain dependency, or parent)."""
    if prop is not None and target in (res.property_dependencies.get(prop) or []):
        return True
    if prop is None and any(target in deps for deps in res.property_dependencies.values()):
        return True
    return target in res.dependencies or res.parent is target


@stack_policy(
    "stack-workload-identity-subjects",
    "Every Kubernetes federated credential subject "
    "(system:serviceaccount:<ns>:<sa>) must match a ServiceAccount the stack creates.",
    HIGH,
    "Derive the subject and the ServiceAccount from the same namespace and name.",
    "FederatedIdentityCredential.subject vs ServiceAccount.metadata.namespace/name",
)
def _wi_subjects(args, report):
    accounts = set()
    for r in args.resources:
        if r.resource_type == "kubernetes:core/v1:ServiceAccount":
            accounts.add(f"system:serviceaccount:{_namespace(r)}:{get(r.props, 'metadata', 'name')}")
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
)
def _diagnostics(args, report):
    types = set(config(args, "resourceTypes", list(DIAGNOSTIC_TYPES)))
    settings = [r for r in args.resources if r.resource_type == "azure-native:monitor:DiagnosticSetting"]
    targets = [t for s in settings for t in (s.property_dependencies.get("resourceUri") or [])]
    for res in (r for r in args.resources if r.resource_type in types):
        # A setting on the resource, or on one of its own sub-resources (Azure Managed Redis takes
        # diagnostic settings on its database, Microsoft.Cache/redisEnterprise/databases).
        module = res.resource_type.rsplit(":", 1)[0] + ":"
        covered = any(
            t is res or (t.resource_type.startswith(module) and _refers_to(t, res)) for t in targets
        )
        if not covered and not any(_refers_to(s, res, "resourceUri") for s in settings):
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
                if _refers_to(endpoint, sn, "subnet"):
                    endpoint_vnets += [v for v in vnets if _refers_to(sn, v, "virtualNetworkName")]
        group_zones = [z for z in zones if _refers_to(group, z, "privateDnsZoneConfigs")]
        if not group_zones:
            report(
                f"private DNS zone group {group.name!r} uses no private DNS zone of this stack: the "
                "endpoint's name won't resolve to its private address.",
                group.urn,
            )
            continue
        for zone in group_zones:
            zone_links = [
                link for link in links if link.parent is zone or _refers_to(link, zone, "privateZoneName")
            ]
            if endpoint_vnets:
                zone_links = [
                    link
                    for link in zone_links
                    if any(_refers_to(link, v, "virtualNetwork") for v in endpoint_vnets)
                ]
            if not zone_links:
                report(
                    f"private DNS zone {zone.name!r} (used by {group.name!r}) is not linked to the "
                    "endpoint's VNet: clients in the VNet resolve the public address.",
                    group.urn,
                )


POLICY_IDS = [s.id for s in SPECS]
DEFAULT_ENFORCEMENT = EnforcementLevel.MANDATORY
