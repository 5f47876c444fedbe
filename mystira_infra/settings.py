"""Typed stack settings: the only reader of stack configuration.

`load_settings()` turns the stack's config (``Pulumi.<stack>.yaml`` plus the defaults that
``Pulumi.yaml`` declares) into one frozen `Settings` object, or raises `SettingsError` naming the
file, the key and the reason before any resource is registered. It reads the same values whether
the real CLI runs the program (it passes config through the environment) or the dry run does (it
loads the YAML files and calls ``pulumi.runtime.set_all_config`` the way the CLI would).

Sections are frozen dataclasses. YAML keys are the camelCase form of the field names
(``vmSize`` for ``vm_size``); `_parse` walks the dataclass fields, so a section's shape is written
once, here. Cross-field rules (CIDRs inside the VNet, version support, ...) are in `_validate_*`.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from mystira_infra import lifecycle, naming, services

PROJECT = "mystira-infra"
ENVIRONMENTS = ("shared", "dev", "staging", "prod")
APP_ENVIRONMENTS = ("dev", "staging", "prod")

# Pinned versions (AKS Kubernetes minor, PostgreSQL major, Azure OpenAI model versions) are checked
# against the dated table in mystira_infra/lifecycle.py on the date of the run: retired is an error,
# within 90 days a warning. The seed system pinned 1.28 in prod, long out of support: rejected there.

# Window sizes both log (scheduled query) and metric alerts accept, no shorter than the 5-minute
# evaluation frequency every alert uses.
ALERT_WINDOWS_MINUTES = (5, 15, 30, 60, 360, 720, 1440)

# App roles of the Admin API (components/entra.py defines them; a test keeps the two equal).
ADMIN_APP_ROLES = ("Admin", "SuperAdmin", "Moderator", "Viewer")

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class SettingsError(pulumi.RunError):
    """Bad stack configuration. A RunError, so the real CLI prints the message without a traceback."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        super().__init__(f"{file}: {key}: {reason}")


class SecretValue:
    """A value from a `secure:` config entry. Never printed (repr is [secret]); resources get it
    as a Pulumi secret through `output()`, created when the stack is built, not when parsed."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "[secret]"

    def output(self) -> pulumi.Output[str]:
        return pulumi.Output.secret(self._value)


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subnets:
    aks: str  # AKS nodes (a /22 or larger: overlay pods don't use VNet addresses)
    postgres: str  # delegated to Microsoft.DBforPostgreSQL/flexibleServers (private access)
    private_endpoints: str  # Key Vault, Redis, Service Bus, OpenAI private endpoints
    ingress: str  # internal load balancer for the ingress controller


@dataclass(frozen=True)
class NetworkSettings:
    address_space: str
    subnets: Subnets


@dataclass(frozen=True)
class NodePool:
    name: str
    vm_size: str
    min_count: int
    max_count: int
    taints: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    max_pods: int = 30


@dataclass(frozen=True)
class MaintenanceWindow:
    day: str
    start_hour: int  # UTC
    duration_hours: int = 4


@dataclass(frozen=True)
class AksSettings:
    kubernetes_version: str
    system_pool: NodePool
    maintenance_window: MaintenanceWindow
    tier: str = "Free"
    pools: tuple[NodePool, ...] = ()
    upgrade_channel: str = "patch"
    node_os_upgrade_channel: str = "NodeImage"
    service_cidr: str = "172.16.0.0/16"
    dns_service_ip: str = "172.16.0.10"
    pod_cidr: str = "192.168.0.0/16"
    admin_group_object_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkloadSettings:
    image_tag: str
    min_replicas: int = 2
    max_replicas: int = 10
    cpu_request: str = "250m"
    cpu_limit: str = "1"
    memory_request: str = "256Mi"
    memory_limit: str = "512Mi"
    port: int = 8080


@dataclass(frozen=True)
class NamespaceQuotaSettings:
    """ResourceQuota and LimitRange of the environment's namespace (quantities as Kubernetes writes them)."""

    requests_cpu: str = "8"
    requests_memory: str = "16Gi"
    limits_cpu: str = "16"
    limits_memory: str = "32Gi"
    pods: int = 60
    default_cpu_request: str = "100m"
    default_memory_request: str = "128Mi"
    default_cpu_limit: str = "500m"
    default_memory_limit: str = "512Mi"


@dataclass(frozen=True)
class KubernetesSettings:
    story_generator: WorkloadSettings
    quota: NamespaceQuotaSettings = NamespaceQuotaSettings()


@dataclass(frozen=True)
class PostgresSettings:
    sku_name: str
    sku_tier: str
    admin_group_object_id: str
    admin_group_name: str
    maintenance_window: MaintenanceWindow
    version: str = "16"
    storage_size_gb: int = 32
    high_availability: bool = False
    geo_redundant_backup: bool = False
    backup_retention_days: int = 7


@dataclass(frozen=True)
class RedisSettings:
    sku: str
    high_availability: bool = False


@dataclass(frozen=True)
class ServiceBusSettings:
    sku: str = "Standard"
    capacity: int = 1


@dataclass(frozen=True)
class KeyVaultSettings:
    purge_protection: bool = True
    soft_delete_retention_days: int = 90


@dataclass(frozen=True)
class AlertRule:
    threshold: float
    severity: int
    window_minutes: int = 15
    failing_periods: int = 2
    evaluation_periods: int = 3


@dataclass(frozen=True)
class AlertSettings:
    """The platform's alert standard (the seed system's five alerts, docs/observability.md); a stack
    may override any of them."""

    request_failure_rate_percent: AlertRule = AlertRule(threshold=5, severity=1)
    p95_response_ms: AlertRule = AlertRule(threshold=2000, severity=2)
    exceptions_per_5_minutes: AlertRule = AlertRule(threshold=10, severity=2, failing_periods=1)
    dependency_failure_rate_percent: AlertRule = AlertRule(threshold=10, severity=2)
    ingestion_gb_per_hour: AlertRule = AlertRule(
        threshold=1, severity=2, window_minutes=60, failing_periods=1, evaluation_periods=1
    )
    # Metric alerts the seed system defined but never wired (components/monitoring.py METRIC_ALERTS
    # maps each to its Azure metric). Failing periods don't apply to metric alerts: kept at 1 of 1.
    redis_used_memory_percent: AlertRule = AlertRule(
        threshold=80, severity=2, failing_periods=1, evaluation_periods=1
    )
    redis_connected_clients: AlertRule = AlertRule(
        threshold=1000, severity=2, failing_periods=1, evaluation_periods=1
    )
    service_bus_dead_lettered_messages: AlertRule = AlertRule(
        threshold=1, severity=2, failing_periods=1, evaluation_periods=1
    )
    service_bus_throttled_requests: AlertRule = AlertRule(
        threshold=10, severity=2, failing_periods=1, evaluation_periods=1
    )
    postgres_cpu_percent: AlertRule = AlertRule(
        threshold=80, severity=2, failing_periods=1, evaluation_periods=1
    )
    postgres_storage_percent: AlertRule = AlertRule(
        threshold=85, severity=1, failing_periods=1, evaluation_periods=1
    )


@dataclass(frozen=True)
class MonitoringSettings:
    retention_days: int
    alert_emails: tuple[str, ...]
    daily_quota_gb: float | None = None
    alerts: AlertSettings = AlertSettings()
    # Action groups every alert notifies besides the environment's own (e.g. an on-call group in
    # another subscription): full ARM ids.
    extra_action_group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelDeployment:
    name: str
    model: str
    version: str
    capacity: int
    sku: str = "GlobalStandard"


@dataclass(frozen=True)
class OpenAISettings:
    deployments: tuple[ModelDeployment, ...]
    public_network_access: bool = False


@dataclass(frozen=True)
class EntraSettings:
    admin_ui_redirect_uris: tuple[str, ...]
    group_roles: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExternalIdSettings:
    tenant_id: str = ""
    pwa_redirect_uris: tuple[str, ...] = ()
    mobile_redirect_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegistrySettings:
    sku: str = "Premium"
    retention_days: int = 15
    # Public IP ranges allowed to reach the registry's public endpoint (the CI push path: the
    # region's AzureContainerRegistry service-tag prefixes for `az acr build`). Empty: public
    # network access Disabled and exports disabled; pulls go through private endpoints only.
    push_ip_ranges: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmailSettings:
    data_location: str = "Africa"


@dataclass(frozen=True)
class GithubSettings:
    repository: str
    environments: tuple[str, ...] = APP_ENVIRONMENTS


# --------------------------------------------------------------------------------------------
# Top-level keys: one row per key of Pulumi.yaml's `config:` block (a test keeps the two equal).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    field: str  # attribute on Settings
    type: Any  # Python type of the parsed value
    tiers: tuple[str, ...]  # stacks that use it ("shared" and/or "env")
    required: bool = False
    secret: bool = False


ENV, SHARED, BOTH = ("env",), ("shared",), ("env", "shared")

KEYS: dict[str, Key] = {
    "environment": Key("environment", str, BOTH, required=True),
    "region": Key("region", str, BOTH),
    "costCenter": Key("cost_center", str, BOTH),
    "nameGeneration": Key("name_generation", int, BOTH),
    "sharedStack": Key("shared_stack", str, ENV, required=True),
    "network": Key("network", NetworkSettings, ENV, required=True),
    "aks": Key("aks", AksSettings, ENV, required=True),
    "kubernetes": Key("kubernetes", KubernetesSettings, ENV, required=True),
    "postgres": Key("postgres", PostgresSettings, ENV, required=True),
    "redis": Key("redis", RedisSettings, ENV, required=True),
    "serviceBus": Key("service_bus", ServiceBusSettings, ENV),
    "keyVault": Key("key_vault", KeyVaultSettings, ENV),
    "monitoring": Key("monitoring", MonitoringSettings, ENV, required=True),
    "openai": Key("openai", OpenAISettings, ENV, required=True),
    "entra": Key("entra", EntraSettings, ENV, required=True),
    "externalId": Key("external_id", ExternalIdSettings, ENV),
    "chainRpcEndpoint": Key("chain_rpc_endpoint", str, ENV),
    "alertWebhookUrl": Key("alert_webhook_url", str, ENV, secret=True),
    "registry": Key("registry", RegistrySettings, SHARED),
    "email": Key("email", EmailSettings, SHARED),
    "github": Key("github", GithubSettings, SHARED, required=True),
}


@dataclass(frozen=True)
class Settings:
    stack: str
    file: str
    environment: str
    region: str = "southafricanorth"
    cost_center: str = "mystira-platform"
    name_generation: int = 1
    shared_stack: str | None = None
    network: NetworkSettings | None = None
    aks: AksSettings | None = None
    kubernetes: KubernetesSettings | None = None
    postgres: PostgresSettings | None = None
    redis: RedisSettings | None = None
    service_bus: ServiceBusSettings = ServiceBusSettings()
    key_vault: KeyVaultSettings = KeyVaultSettings()
    monitoring: MonitoringSettings | None = None
    openai: OpenAISettings | None = None
    entra: EntraSettings | None = None
    external_id: ExternalIdSettings = ExternalIdSettings()
    chain_rpc_endpoint: str = ""
    # Secrets arrive only from `secure:` values and stay pulumi.Output secrets.
    alert_webhook_url: SecretValue | None = None
    registry: RegistrySettings = RegistrySettings()
    email: EmailSettings = EmailSettings()
    github: GithubSettings | None = None

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def is_shared(self) -> bool:
        return self.environment == "shared"

    @property
    def region_code(self) -> str:
        return naming.region_code(self.region)

    def names(self) -> naming.Namer:
        return naming.Namer(self.environment, self.region, self.stack, self.name_generation)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_settings() -> Settings:
    """Read the running stack's config (real CLI or dry run) into `Settings`."""
    stack = pulumi.get_stack()
    prefix = f"{PROJECT}:"
    raw: dict[str, str] = {}
    for source in (runtime_config.get_config_env(), runtime_config.CONFIG.get()):
        raw.update({k[len(prefix) :]: v for k, v in source.items() if k.startswith(prefix)})
    secret_keys = {
        k[len(prefix) :]
        for k in list(runtime_config.get_config_secret_keys_env()) + list(runtime_config._SECRET_KEYS.get())
        if k.startswith(prefix)
    }
    settings = parse_settings(stack, raw, secret_keys)
    placeholders = placeholder_ids(settings)
    if placeholders and not _under_mocks():
        # A real `pulumi preview`/`up`: ids that name nobody would reach Azure and Entra. One
        # message for all of them, before any resource is registered.
        raise SettingsError(settings.file, ", ".join(k for k, _ in placeholders),
                            "placeholder ids (" + ", ".join(sorted({v for _, v in placeholders}))
                            + "); set the real object/tenant ids before a preview or up against Azure")
    for warning in settings_warnings(settings, date.today()):
        pulumi.log.warn(warning)
    return settings


def _under_mocks() -> bool:
    """True under the SDK's mock runtime (the dry run and the tests: `pulumi.runtime.set_mocks`
    installs a MockMonitor), where nothing reaches Azure. A real CLI run talks to the engine's gRPC
    resource monitor instead. Chosen over an environment variable, which a real run could inherit."""
    from pulumi.runtime import mocks as runtime_mocks
    from pulumi.runtime import settings as runtime_settings

    return isinstance(runtime_settings.get_monitor(), runtime_mocks.MockMonitor)


def parse_settings(
    stack: str, raw: dict[str, str], secret_keys: set[str] | frozenset[str] = frozenset(),
    today: date | None = None, check_lifecycle: bool = True,
) -> Settings:
    """Validate raw config strings (as the CLI passes them) for `stack`; raise SettingsError.
    Pinned versions are checked against the lifecycle table on `today` (default: the run's date)
    unless `check_lifecycle` is off (`mystira-infra lifecycle` lists every finding itself)."""
    file = f"Pulumi.{stack}.yaml"

    def fail(key: str, reason: str) -> typing.NoReturn:
        raise SettingsError(file, key, reason)

    for key in raw:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(sorted(KEYS))}"
            fail(key, f"unknown key{hint}")

    env = raw.get("environment")
    if env is None:
        fail("environment", "missing required key (one of: " + ", ".join(ENVIRONMENTS) + ")")
    if env not in ENVIRONMENTS:
        fail("environment", f"unknown environment '{env}'; expected one of: {', '.join(ENVIRONMENTS)}")
    if stack in ENVIRONMENTS and stack != env:
        fail("environment",
             f"is '{env}' but the stack is '{stack}'; a stack may only build its own environment")
    tier = "shared" if env == "shared" else "env"

    values: dict[str, Any] = {}
    for key, spec in KEYS.items():
        # Pulumi.yaml gives keys that one tier doesn't use an empty default ("", {} or []) so the
        # CLI doesn't demand them of the other tier: empty means "not set".
        if raw.get(key, "").strip() in ("", "{}", "[]"):
            if spec.required and tier in spec.tiers:
                fail(key, "missing required key")
            continue
        if tier not in spec.tiers:
            fail(key,
                 f"not used by {'the shared stack' if tier == 'shared' else 'environment stacks'}; remove it")
        if spec.secret:
            if key not in secret_keys:
                fail(key,
                     "holds a secret but is not a `secure:` value; set it with `pulumi config set --secret`")
            values[spec.field] = SecretValue(raw[key])
            continue
        values[spec.field] = _parse(_decode(raw[key], spec.type, key, fail), spec.type, key, fail)

    settings = Settings(stack=stack, file=file, **values)
    _validate(settings, fail)
    for finding in lifecycle_findings(settings, today or date.today()) if check_lifecycle else []:
        if finding.severity == "error":
            fail(finding.key, finding.message)
    return settings


def _decode(text: Any, typ: Any, key: str, fail: typing.Callable[[str, str], typing.NoReturn]) -> Any:
    """CLI config values are strings; objects and arrays arrive as JSON text."""
    if not isinstance(text, str):
        return text
    if dataclasses.is_dataclass(typ) or typing.get_origin(typ) in (tuple, dict):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            fail(key, f"expected an object, got the text '{text}'")
    if typ is int:
        if not re.fullmatch(r"-?\d+", text.strip()):
            fail(key, f"expected an integer, got '{text}'")
        return int(text)
    if typ is bool:
        if text.lower() not in ("true", "false"):
            fail(key, f"expected true or false, got '{text}'")
        return text.lower() == "true"
    return text


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _parse(value: Any, typ: Any, path: str, fail: typing.Callable[[str, str], typing.NoReturn]) -> Any:
    """Check `value` (decoded YAML/JSON) against the Python type `typ`; return the typed value."""
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(typ) if a is not type(None)]
        return None if value is None else _parse(value, options[0], path, fail)
    if dataclasses.is_dataclass(typ):
        if not isinstance(value, dict):
            fail(path, f"expected an object, got {type(value).__name__} {value!r}")
        hints = typing.get_type_hints(typ)
        fields = {_camel(f.name): f for f in dataclasses.fields(typ)}
        for k in value:
            if k not in fields:
                close = difflib.get_close_matches(k, fields, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(fields)}"
                fail(f"{path}.{k}", f"unknown key{hint}")
        kwargs = {}
        for camel, f in fields.items():
            if camel in value:
                kwargs[f.name] = _parse(value[camel], hints[f.name], f"{path}.{camel}", fail)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                fail(f"{path}.{camel}", "missing required key")
        # `typ` is a dataclass type here (is_dataclass also admits instances, which callers never pass).
        return typing.cast(type, typ)(**kwargs)
    if origin is tuple:
        if not isinstance(value, list):
            fail(path, f"expected a list, got {type(value).__name__} {value!r}")
        item = typing.get_args(typ)[0]
        return tuple(_parse(v, item, f"{path}[{i}]", fail) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            fail(path, f"expected an object, got {type(value).__name__} {value!r}")
        item = typing.get_args(typ)[1]
        return {str(k): _parse(v, item, f"{path}.{k}", fail) for k, v in value.items()}
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail(path, f"expected a number, got {type(value).__name__} {value!r}")
        return float(value)
    if typ is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if typ in (str, int, bool) and (type(value) is not typ):
        fail(path, f"expected {_TYPE_NAMES[typ]}, got {type(value).__name__} {value!r}")
    return value


# --------------------------------------------------------------------------------------------
# Cross-field rules
# --------------------------------------------------------------------------------------------


def _validate(s: Settings, fail: typing.Callable[[str, str], typing.NoReturn]) -> None:
    if s.region not in naming.REGION_CODES:
        fail("region",
             f"unsupported region '{s.region}'; supported: {', '.join(sorted(naming.REGION_CODES))}")
    _positive(s.name_generation, "nameGeneration", fail)
    problem = names_problem(s.environment, s.region, s.stack, s.name_generation)
    if problem:
        fail("region", problem)
    try:
        naming.check_tag_value(s.cost_center)
    except naming.NameError as e:
        fail("costCenter", str(e))
    if s.is_shared:
        _validate_shared(s, fail)
    else:
        _validate_env(s, fail)


def _positive(value: float, key: str, fail: typing.Callable[[str, str], typing.NoReturn]) -> None:
    problem = positive_problem(value)
    if problem:
        fail(key, problem)


def _network(
    value: str, key: str, fail: typing.Callable[[str, str], typing.NoReturn]
) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value)  # strict: host bits must be zero
    except ValueError as e:
        fail(key, f"not a valid CIDR block: {e}")


def _validate_env(s: Settings, fail: typing.Callable[[str, str], typing.NoReturn]) -> None:
    assert s.network and s.aks and s.postgres and s.monitoring and s.openai and s.kubernetes
    if not re.fullmatch(r"[\w.-]+/[\w.-]+/[\w.-]+", s.shared_stack or ""):
        fail("sharedStack", f"expected '<org>/<project>/<stack>', got '{s.shared_stack}'")

    # Address plan: every subnet inside the VNet, none overlapping, AKS nodes on a /22 or larger.
    subnets = {f"network.subnets.{_camel(f.name)}": getattr(s.network.subnets, f.name)
               for f in dataclasses.fields(Subnets)}
    found = address_plan_problem(s.network.address_space, subnets)
    if found:
        fail(*found)
    vnet = ipaddress.IPv4Network(s.network.address_space)
    if ipaddress.IPv4Network(s.network.subnets.aks).prefixlen > 22:
        fail("network.subnets.aks", "AKS nodes need a /22 or larger subnet")

    # AKS: pool names and counts, service CIDR outside the VNet (the version: lifecycle table).
    aks = s.aks
    if aks.tier not in ("Free", "Standard", "Premium"):
        fail("aks.tier", f"expected Free, Standard or Premium, got '{aks.tier}'")
    if s.is_prod and aks.tier == "Free":
        fail("aks.tier", "prod needs the Standard tier (uptime SLA)")
    pools = [("aks.systemPool", aks.system_pool)] + [(f"aks.pools[{i}]", p) for i, p in enumerate(aks.pools)]
    names_seen: set[str] = set()
    for key, pool in pools:
        try:
            naming.check("aks_pool", pool.name)
        except naming.NameError as e:
            fail(f"{key}.name", str(e))
        if pool.name in names_seen:
            fail(f"{key}.name", f"duplicate pool name '{pool.name}'")
        names_seen.add(pool.name)
        counts = pool_count_problem(pool.min_count, pool.max_count)
        if counts:
            fail(f"{key}.{counts[0]}", counts[1])
        _positive(pool.max_pods, f"{key}.maxPods", fail)
        for i, taint in enumerate(pool.taints):
            if not re.fullmatch(r"[\w./-]+=[\w.-]*:(NoSchedule|PreferNoSchedule|NoExecute)", taint):
                fail(f"{key}.taints[{i}]", f"expected 'key=value:Effect', got '{taint}'")
    found = cluster_cidrs_problem(vnet, aks.service_cidr, aks.pod_cidr, aks.dns_service_ip)
    if found:
        fail(*found)
    _window(aks.maintenance_window, "aks.maintenanceWindow", fail)
    if aks.upgrade_channel not in ("none", "patch", "stable", "rapid", "node-image"):
        fail("aks.upgradeChannel", f"unknown channel '{aks.upgrade_channel}'")
    if aks.node_os_upgrade_channel not in ("None", "Unmanaged", "NodeImage", "SecurityPatch"):
        fail("aks.nodeOsUpgradeChannel", f"unknown channel '{aks.node_os_upgrade_channel}'")

    wl = s.kubernetes.story_generator
    _positive(wl.min_replicas, "kubernetes.storyGenerator.minReplicas", fail)
    if wl.min_replicas < 2:
        fail("kubernetes.storyGenerator.minReplicas",
             "at least 2 replicas keep the service up during a node drain")
    if wl.max_replicas < wl.min_replicas:
        fail("kubernetes.storyGenerator.maxReplicas", "must be at least minReplicas")
    port = port_problem(wl.port)
    if port:
        fail("kubernetes.storyGenerator.port", port)
    if wl.image_tag in ("", "latest"):
        fail("kubernetes.storyGenerator.imageTag", "pin an immutable tag or digest, not 'latest'")
    _positive(s.kubernetes.quota.pods, "kubernetes.quota.pods", fail)

    pg = s.postgres
    _positive(pg.storage_size_gb, "postgres.storageSizeGb", fail)
    if not 7 <= pg.backup_retention_days <= 35:
        fail("postgres.backupRetentionDays", f"must be 7 to 35 days, got {pg.backup_retention_days}")
    if pg.sku_tier not in ("Burstable", "GeneralPurpose", "MemoryOptimized"):
        fail("postgres.skuTier", f"unknown tier '{pg.sku_tier}'")
    if pg.high_availability and pg.sku_tier == "Burstable":
        fail("postgres.highAvailability", "zone-redundant HA is not available on the Burstable tier")
    _window(pg.maintenance_window, "postgres.maintenanceWindow", fail)

    if s.service_bus.sku not in ("Standard", "Premium"):
        fail("serviceBus.sku", f"expected Standard or Premium, got '{s.service_bus.sku}'")
    _positive(s.service_bus.capacity, "serviceBus.capacity", fail)
    if not 7 <= s.key_vault.soft_delete_retention_days <= 90:
        fail("keyVault.softDeleteRetentionDays", "must be 7 to 90 days")
    if s.environment in ("staging", "prod") and not s.key_vault.purge_protection:
        fail("keyVault.purgeProtection", f"purge protection must stay on in {s.environment}")

    mon = s.monitoring
    if not 30 <= mon.retention_days <= 730:
        fail("monitoring.retentionDays", f"must be 30 to 730 days, got {mon.retention_days}")
    if mon.daily_quota_gb is not None:
        _positive(mon.daily_quota_gb, "monitoring.dailyQuotaGb", fail)
    for i, email in enumerate(mon.alert_emails):
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            fail(f"monitoring.alertEmails[{i}]", f"not an email address: '{email}'")
    for f in dataclasses.fields(AlertSettings):
        rule = getattr(mon.alerts, f.name)
        key = f"monitoring.alerts.{_camel(f.name)}"
        _positive(rule.threshold, f"{key}.threshold", fail)
        if not 0 <= rule.severity <= 4:
            fail(f"{key}.severity", f"Azure alert severities are 0 to 4, got {rule.severity}")
        _positive(rule.window_minutes, f"{key}.windowMinutes", fail)
        if not 1 <= rule.failing_periods <= rule.evaluation_periods:
            fail(f"{key}.failingPeriods", "must be between 1 and evaluationPeriods")
        if rule.window_minutes not in ALERT_WINDOWS_MINUTES:
            fail(f"{key}.windowMinutes",
                 f"Azure alert windows are {', '.join(map(str, ALERT_WINDOWS_MINUTES))} minutes"
                 f" (and at least the 5-minute evaluation frequency), got {rule.window_minutes}")
    for i, group in enumerate(mon.extra_action_group_ids):
        if not re.fullmatch(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                            r"microsoft\.insights/actionGroups/[^/]+",
                            group, re.IGNORECASE):
            fail(f"monitoring.extraActionGroupIds[{i}]",
                 f"expected an action group resource id, got '{group}'")

    for i, d in enumerate(s.openai.deployments):
        _positive(d.capacity, f"openai.deployments[{i}].capacity", fail)
    if s.environment in ("staging", "prod") and s.openai.public_network_access:
        fail("openai.publicNetworkAccess", f"must stay off in {s.environment}; use the private endpoint")
    tenant = s.external_id.tenant_id
    if tenant and not _is_guid(tenant):
        fail("externalId.tenantId", f"expected a tenant GUID, got '{tenant}'")
    for role, groups in (s.entra.group_roles if s.entra else {}).items():
        if role not in ADMIN_APP_ROLES:
            known = ", ".join(ADMIN_APP_ROLES)
            fail(f"entra.groupRoles.{role}", f"unknown app role; expected one of {known}")
        for i, g in enumerate(groups):
            if not _is_guid(g):
                fail(f"entra.groupRoles.{role}[{i}]", f"expected a group object id (GUID), got '{g}'")


def _validate_shared(s: Settings, fail: typing.Callable[[str, str], typing.NoReturn]) -> None:
    assert s.github
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", s.github.repository):
        fail("github.repository", f"expected '<owner>/<repo>', got '{s.github.repository}'")
    for i, env in enumerate(s.github.environments):
        if env not in APP_ENVIRONMENTS:
            fail(f"github.environments[{i}]", f"unknown environment '{env}'")
    _positive(s.registry.retention_days, "registry.retentionDays", fail)
    if s.registry.sku != "Premium":
        fail("registry.sku", "Premium is required for private endpoints, zone redundancy and retention")
    for i, cidr in enumerate(s.registry.push_ip_ranges):
        net = _network(cidr, f"registry.pushIpRanges[{i}]", fail)
        if net.is_private or net.prefixlen < 8:
            fail(f"registry.pushIpRanges[{i}]",
                 f"{net} must be a public range no wider than /8 (a firewall rule)")


# --------------------------------------------------------------------------------------------
# Decisions as pure functions: each returns what is wrong (or None); `_validate_*` names the key.
# --------------------------------------------------------------------------------------------


def positive_problem(value: float) -> str | None:
    return None if value > 0 else f"must be greater than zero, got {value:g}"


def cidr_problem(value: str) -> str | None:
    """Why `value` is not an IPv4 CIDR block with its host bits zero, or None."""
    try:
        ipaddress.IPv4Network(value)  # strict: host bits must be zero
    except ValueError as e:
        return f"not a valid CIDR block: {e}"
    return None


def address_plan_problem(
    address_space: str, subnets: Mapping[str, str], space_key: str = "network.addressSpace"
) -> tuple[str, str] | None:
    """The first problem of a VNet address plan as (key, reason): the space must be a private
    CIDR; each subnet (keyed by its settings key) a CIDR inside it that overlaps no earlier one."""
    problem = cidr_problem(address_space)
    if problem:
        return space_key, problem
    vnet = ipaddress.IPv4Network(address_space)
    if not vnet.is_private:
        return space_key, f"{vnet} is not a private (RFC 1918) range"
    seen: dict[str, ipaddress.IPv4Network] = {}
    for key, value in subnets.items():
        problem = cidr_problem(value)
        if problem:
            return key, problem
        net = ipaddress.IPv4Network(value)
        if not net.subnet_of(vnet):
            return key, f"{net} is outside the VNet address space {vnet}"
        for other_key, other in seen.items():
            if net.overlaps(other):
                return key, f"{net} overlaps {other_key} ({other})"
        seen[key] = net
    return None


def cluster_cidrs_problem(
    vnet: ipaddress.IPv4Network, service_cidr: str, pod_cidr: str, dns_service_ip: str
) -> tuple[str, str] | None:
    """AKS overlay ranges: the service and pod CIDRs lie outside the VNet and apart from each
    other, and the DNS service IP inside the service CIDR. The first problem as (key, reason)."""
    for key, value in (("aks.serviceCidr", service_cidr), ("aks.podCidr", pod_cidr)):
        problem = cidr_problem(value)
        if problem:
            return key, problem
    service, pod = ipaddress.IPv4Network(service_cidr), ipaddress.IPv4Network(pod_cidr)
    if service.overlaps(vnet):
        return "aks.serviceCidr", f"{service} overlaps the VNet {vnet}; it must lie outside it"
    if pod.overlaps(vnet) or pod.overlaps(service):
        return "aks.podCidr", f"{pod} overlaps the VNet or the service CIDR"
    try:
        dns_ip = ipaddress.IPv4Address(dns_service_ip)
    except ValueError as e:
        return "aks.dnsServiceIp", str(e)
    if dns_ip not in service:
        return "aks.dnsServiceIp", f"{dns_ip} is outside the service CIDR {service}"
    return None


def pool_count_problem(min_count: int, max_count: int) -> tuple[str, str] | None:
    """Autoscaler bounds of a node pool: (field, reason) or None."""
    problem = positive_problem(min_count)
    if problem:
        return "minCount", problem
    if max_count < min_count:
        return "maxCount", f"must be at least minCount ({min_count}), got {max_count}"
    return None


# Service parts of the names the stacks make besides each service's own key (stacks/, components/).
INFRA_NAME_PARTS = ("core", "platform", "state", "aks", "aksnodes")


def names_problem(env: str, region: str, stack: str, generation: int) -> str | None:
    """Whether every name the program makes fits its Azure rule in this region: a longer region
    code can push a squashed name over 24 characters (mysdevpublisherkveus2xxxx is 25)."""
    namer = naming.Namer(env, region, stack, generation)
    for kind in naming.RULES:
        if kind == "aks_pool":  # pool names come from settings, checked where they are read
            continue
        for part in (*(svc.key for svc in services.SERVICES), *INFRA_NAME_PARTS):
            try:
                namer(kind, part)
            except naming.NameError as e:
                kind_text = kind.replace("_", " ")
                return f"the {kind_text} name for '{part}' breaks an Azure limit in {region}: {e}"
    return None


def port_problem(port: int) -> str | None:
    """A TCP port a container can listen on and a Service can target: 1 to 65535."""
    return None if 1 <= port <= 65535 else f"a TCP port is 1 to 65535, got {port}"


def _window(w: MaintenanceWindow, key: str, fail: typing.Callable[[str, str], typing.NoReturn]) -> None:
    if w.day not in WEEKDAYS:
        fail(f"{key}.day", f"expected a weekday name ({', '.join(WEEKDAYS)}), got '{w.day}'")
    if not 0 <= w.start_hour <= 23:
        fail(f"{key}.startHour", f"expected 0 to 23 (UTC), got {w.start_hour}")
    if not 4 <= w.duration_hours <= 24:
        fail(f"{key}.durationHours", f"a maintenance window is 4 to 24 hours, got {w.duration_hours}")


def _is_guid(value: str) -> bool:
    return re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", value) is not None


# --------------------------------------------------------------------------------------------
# Pinned versions against the lifecycle table, and placeholder ids
# --------------------------------------------------------------------------------------------


def lifecycle_pins(s: Settings) -> list[lifecycle.Pin]:
    """Every version the stack pins that Azure retires, under its settings key."""
    pins: list[lifecycle.Pin] = []
    if s.aks:
        pins.append(lifecycle.Pin("aks.kubernetesVersion", "kubernetes", "kubernetes",
                                  s.aks.kubernetes_version))
    if s.postgres:
        pins.append(lifecycle.Pin("postgres.version", "postgres", "postgresql", s.postgres.version))
    for i, d in enumerate(s.openai.deployments if s.openai else ()):
        pins.append(lifecycle.Pin(f"openai.deployments[{i}].version", "openai", d.model, d.version, d.sku))
    return pins


def lifecycle_findings(
    s: Settings, today: date, warn_days: int = lifecycle.WARN_DAYS
) -> list[lifecycle.Finding]:
    """The stack's pins checked on `today` (pure: the date is an argument)."""
    return lifecycle.check(lifecycle_pins(s), s.region, today, warn_days)


# Ids that documentation and examples use in place of a real one: the nil GUID and its kin. Any GUID
# whose hex digits are all one digit (ignoring the version and variant digits, as in
# 11111111-1111-4111-8111-111111111111, which the committed stack files use) is one too.
PLACEHOLDER_GUIDS = frozenset({
    "12345678-1234-1234-1234-123456789012",
    "12345678-1234-1234-1234-123456789abc",
    "12345678-90ab-cdef-1234-567890abcdef",
    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
})


def is_placeholder_id(value: str) -> bool:
    """A GUID-shaped value that names nobody (see PLACEHOLDER_GUIDS)."""
    if not _is_guid(value):
        return False
    digits = value.lower().replace("-", "")
    body = digits[:12] + digits[13:16] + digits[17:]  # without the version (12) and variant (16) digit
    return len(set(body)) == 1 or value.lower() in PLACEHOLDER_GUIDS


def placeholder_ids(s: Settings) -> list[tuple[str, str]]:
    """(key, value) of every placeholder id anywhere in the settings, in file order."""
    found: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, str):
            if is_placeholder_id(value):
                found.append((path, value))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name), f"{path}.{_camel(f.name)}")
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        elif isinstance(value, Mapping):
            for k, item in value.items():
                walk(item, f"{path}.{k}")

    for key, spec in KEYS.items():
        walk(getattr(s, spec.field), key)
    return found


def settings_warnings(s: Settings, today: date) -> list[str]:
    """What the run should warn about, one line each naming the file and the key: pins that
    retire within 90 days, and placeholder ids (refused outright by a real preview or up)."""
    out = [f"{s.file}: {f.key}: {f.message}" for f in lifecycle_findings(s, today) if f.severity == "warning"]
    placeholders = placeholder_ids(s)
    if placeholders:
        keys = ", ".join(f"{k} ({v})" for k, v in placeholders)
        out.append(f"{s.file}: placeholder ids a real `pulumi preview`/`up` refuses: {keys}")
    return out
