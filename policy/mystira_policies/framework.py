"""The framework every policy module builds on: the policy table (Spec, registration, exemptions),
the readers that walk the analyzer's proxies, the environment sets, and the resource type tokens
more than one module needs. No policy lives here.

Every policy reads Azure (or Kubernetes) properties under their wire names, exactly as the
analyzer hands them over: camelCase keys, numbers as floats, secrets unwrapped, and, during a
preview, unknown values that raise `UnknownValueError` when touched (the CLI then reports
"can't run policy ... during preview" as an advisory note). So every check touches only the
values it needs, and never assumes a plain `dict`/`list` (the analyzer passes read-only proxies).

This package must not import the Pulumi program: it governs any program, ours included.

Environment-dependent policies (purge protection in staging and prod, Standard tier in prod, ...)
read the environment from the resource's `Environment` tag when it has one, else from the stack
name (`pulumi.get_stack()`, which the CLI sets in the analyzer from PULUMI_STACK, and the dry run
sets the same way). The `shared` stack counts as production: it holds the state backend, the
registry and the CI identities of every environment.
"""

from __future__ import annotations

import enum
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
DEFAULT_ENFORCEMENT = EnforcementLevel.MANDATORY

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

# Resource type tokens used by more than one module (and by the tests).
AKS = "azure-native:containerservice:ManagedCluster"
AKS_POOL = "azure-native:containerservice:AgentPool"
VAULT = "azure-native:keyvault:Vault"
PG = "azure-native:dbforpostgresql:Server"
PG_CONFIG = "azure-native:dbforpostgresql:Configuration"
PG_FIREWALL = "azure-native:dbforpostgresql:FirewallRule"
AMR = "azure-native:redisenterprise:RedisEnterprise"
AMR_DB = "azure-native:redisenterprise:Database"
SB = "azure-native:servicebus:Namespace"
ACR = "azure-native:containerregistry:Registry"
STORAGE = "azure-native:storage:StorageAccount"
COG = "azure-native:cognitiveservices:Account"
NSG = "azure-native:network:NetworkSecurityGroup"
NSG_RULE = "azure-native:network:SecurityRule"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
FIC_TYPES = (
    "azure-native:managedidentity:FederatedIdentityCredential",
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
)
K8S_WORKLOADS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
)

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


def known(read: Callable[[], Any]) -> Any:
    """A value, or None when it is unknown during preview (for reads whose unknown has a safe meaning)."""
    try:
        return read()
    except UnknownValueError:
        return None


def refers_to(res: PolicyResource, target: PolicyResource, prop: str | None = None) -> bool:
    """`res` takes an input from `target` (property dependency, plain dependency, or parent)."""
    if prop is not None and target in (res.property_dependencies.get(prop) or []):
        return True
    if prop is None and any(target in deps for deps in res.property_dependencies.values()):
        return True
    return target in res.dependencies or res.parent is target


# --------------------------------------------------------------------------------------------
# The policy table.
# --------------------------------------------------------------------------------------------


class Pillar(enum.Enum):
    """The Azure Well-Architected Framework pillar a policy serves (the one its violation hurts most).
    https://learn.microsoft.com/azure/well-architected/pillars"""

    SECURITY = "Security"
    RELIABILITY = "Reliability"
    COST_OPTIMIZATION = "Cost Optimization"
    OPERATIONAL_EXCELLENCE = "Operational Excellence"
    PERFORMANCE_EFFICIENCY = "Performance Efficiency"


SECURITY, RELIABILITY = Pillar.SECURITY, Pillar.RELIABILITY
COST_OPTIMIZATION, OPERATIONAL_EXCELLENCE = Pillar.COST_OPTIMIZATION, Pillar.OPERATIONAL_EXCELLENCE
PERFORMANCE_EFFICIENCY = Pillar.PERFORMANCE_EFFICIENCY

# A policy's stable reference: MYS.<AREA>.<NNN>. AREA is its module's area code (one per module,
# written in the module's docstring); NNN is the next number never used in that area. A reference
# is never renumbered or reused: a removed policy retires its number, a moved policy keeps its
# reference. Config files and exemptions name policies by id; people and tickets cite references.
REFERENCE_PATTERN = r"MYS\.[A-Z0-9]{2,6}\.[0-9]{3}"


@dataclass(frozen=True)
class Spec:
    """What docs/policy.md and the tests read: one row per policy."""

    id: str
    description: str
    severity: Severity
    remediation: str
    reads: str  # the Azure/Kubernetes property the policy reads (wire name)
    types: tuple[str, ...]  # resource types it applies to ("stack" for stack policies)
    reference: str | None = None  # MYS.<AREA>.<NNN> (tests/test_policy_docs.py requires one)
    pillar: Pillar | None = None  # (tests/test_policy_docs.py requires one)
    module: str = ""  # the module that defines it
    config_schema: PolicyConfigSchema | None = None  # its own config properties (not `exemptions`)


SPECS: list[Spec] = []
POLICIES: list[Policy] = []

ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


def _register(spec: Spec, policy: ResourceValidationPolicy | StackValidationPolicy) -> None:
    if any(s.id == spec.id for s in SPECS):
        raise ValueError(f"duplicate policy id {spec.id}")
    if spec.reference and any(s.reference == spec.reference for s in SPECS):
        raise ValueError(f"policy {spec.id}: reference {spec.reference} is already taken")
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
    *,
    reference: str | None = None,
    pillar: Pillar | None = None,
) -> Callable[[ResourceCheck], ResourceCheck]:
    types = tuple(types)

    def wrap(check: ResourceCheck) -> ResourceCheck:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if applies(types, args.resource_type) and not exempt(args):
                check(args, report)

        _register(
            Spec(
                id,
                description,
                severity,
                remediation,
                reads,
                types,
                reference,
                pillar,
                check.__module__,
                config_schema,
            ),
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
    *,
    reference: str | None = None,
    pillar: Pillar | None = None,
) -> Callable[[StackCheck], StackCheck]:
    def wrap(check: StackCheck) -> StackCheck:
        _register(
            Spec(
                id,
                description,
                severity,
                remediation,
                reads,
                ("stack",),
                reference,
                pillar,
                check.__module__,
                config_schema,
            ),
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

# What `from mystira_policies import ...` offers a policy module (the package re-exports all of it).
__all__ = [
    "ACR",
    "AKS",
    "AKS_POOL",
    "AMR",
    "AMR_DB",
    "COG",
    "CRITICAL",
    "COST_OPTIMIZATION",
    "DEFAULT_ENFORCEMENT",
    "FIC_TYPES",
    "HIGH",
    "K8S_WORKLOADS",
    "LOW",
    "MEDIUM",
    "NSG",
    "NSG_RULE",
    "OPERATIONAL_EXCELLENCE",
    "PACK_NAME",
    "PERFORMANCE_EFFICIENCY",
    "PG",
    "PG_CONFIG",
    "PG_FIREWALL",
    "POLICIES",
    "PROD_ENVS",
    "Pillar",
    "REFERENCE_PATTERN",
    "RELIABILITY",
    "ROLE_ASSIGNMENT",
    "SB",
    "SECURITY",
    "SPECS",
    "STORAGE",
    "STRICT_ENVS",
    "Spec",
    "VAULT",
    "ResourceCheck",
    "StackCheck",
    "applies",
    "config",
    "environment",
    "eq",
    "exempt",
    "get",
    "has",
    "items",
    "known",
    "refers_to",
    "resource_policy",
    "stack_name",
    "stack_policy",
    "truthy",
    "with_exemptions",
    # pulumi_policy and typing names the single module offered (files written against it import them)
    "EnforcementLevel",
    "Policy",
    "PolicyConfigSchema",
    "PolicyResource",
    "ReportViolation",
    "ResourceValidationArgs",
    "ResourceValidationPolicy",
    "Severity",
    "StackValidationArgs",
    "StackValidationPolicy",
    "UnknownValueError",
    "Callable",
    "Iterable",
    "Mapping",
    "Sequence",
]
