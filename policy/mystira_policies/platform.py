"""Platform conventions on every resource: tags, names (ADR-0008), protection, no plain-text
credentials.

References: MYS.PLT.<NNN>.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .framework import (
    ACR,
    AKS,
    AMR,
    COG,
    COST_OPTIMIZATION,
    HIGH,
    LOW,
    NSG,
    OPERATIONAL_EXCELLENCE,
    PG,
    PROD_ENVS,
    RELIABILITY,
    SB,
    SECURITY,
    STORAGE,
    VAULT,
    environment,
    get,
    has,
    resource_policy,
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
    reference="MYS.PLT.001",
    pillar=COST_OPTIMIZATION,
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
    reference="MYS.PLT.002",
    pillar=OPERATIONAL_EXCELLENCE,
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
    reference="MYS.PLT.003",
    pillar=RELIABILITY,
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
    reference="MYS.PLT.004",
    pillar=SECURITY,
)
def _plaintext(args, report):
    if args.resource_type in SECRET_HOLDING_TYPES:
        return
    for where in _secret_keys(args.props):
        report(f"{where} is set: the credential lands in the state file and in every preview diff.")
