"""Observability: the environment's Log Analytics workspace, action group and alerts, and each
service's Application Insights with its alert rules.

- `Monitoring` (`mystira:monitoring:Monitoring`, core resource group): the workspace, the action
  group, the workspace ingestion alert, the subscription activity log to the workspace, the
  diagnostic settings of the workspace itself, the VNet and the NSGs (the core network's; every
  other component sends its own through `interfaces.diagnostics`), and the metric alerts on the
  data services (`add_metric_alerts`, called once the data stage has built them).
- `ServiceTelemetry` (`mystira:monitoring:ServiceTelemetry`, a service's tier-2 group): the
  service's own workspace-based Application Insights (Entra-only ingestion) and its four
  scheduled-query alerts, evaluated every 5 minutes.

Thresholds, severities, windows and failing periods come in as `AlertSettings` (settings.py holds
the platform's standard); the queries and metric names are here, one table each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights

from components import interfaces
from mystira_infra.naming import Namer
from mystira_infra.settings import AlertRule, AlertSettings

# Every alert is evaluated this often (the platform standard; DESIGN.md section 4).
EVALUATION_FREQUENCY = "PT5M"

# Subscription activity log categories sent to the workspace (CIS 6.1.x asks for Administrative,
# Alert, Policy and Security at least; the rest are cheap and useful in an incident).
ACTIVITY_LOG_CATEGORIES = (
    "Administrative",
    "Security",
    "ServiceHealth",
    "Alert",
    "Recommendation",
    "Policy",
    "Autoscale",
    "ResourceHealth",
)


def iso_minutes(minutes: int) -> str:
    """ISO 8601 duration in the form Azure answers with (PT1H, not PT60M), so it never shows as a diff."""
    if minutes % 1440 == 0:
        return f"P{minutes // 1440}D"
    if minutes % 60 == 0:
        return f"PT{minutes // 60}H"
    return f"PT{minutes}M"


# --------------------------------------------------------------------------------------------
# Log (scheduled query) alerts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogAlert:
    setting: str  # field of AlertSettings holding threshold, severity, window and periods
    role: str  # in the rule's name
    title: str
    measure: str  # the query's column the threshold applies to
    query: Callable[[AlertRule], str]  # KQL over the scope's tables, binned by the rule's window
    description: str


# App Insights (workspace-based) still answers the classic table names when the rule's scope is
# the component: requests, dependencies, exceptions with `timestamp`, `success`, `duration` (ms).
SERVICE_ALERTS: tuple[LogAlert, ...] = (
    LogAlert(
        "request_failure_rate_percent",
        "request-failures",
        "Request failure rate",
        "FailureRatePercent",
        lambda r: (
            "requests\n"
            f"| summarize FailureRatePercent = 100.0 * countif(success == false) / count() "
            f"by bin(timestamp, {r.window_minutes}m)"
        ),
        "Share of failed requests (percent) per window",
    ),
    LogAlert(
        "p95_response_ms",
        "p95-response",
        "P95 response time",
        "P95DurationMs",
        lambda r: (
            "requests\n"
            f"| summarize P95DurationMs = percentile(duration, 95) by bin(timestamp, {r.window_minutes}m)"
        ),
        "95th percentile of request duration (ms) per window",
    ),
    LogAlert(
        "exceptions_per_5_minutes",
        "exceptions",
        "Exceptions",
        "ExceptionsPer5Minutes",
        lambda r: "exceptions\n| summarize ExceptionsPer5Minutes = count() by bin(timestamp, 5m)",
        "Exceptions per 5 minutes (the worst 5 minutes of the window)",
    ),
    LogAlert(
        "dependency_failure_rate_percent",
        "dependency-failures",
        "Dependency failure rate",
        "DependencyFailureRatePercent",
        lambda r: (
            "dependencies\n"
            f"| summarize DependencyFailureRatePercent = 100.0 * countif(success == false) / count() "
            f"by bin(timestamp, {r.window_minutes}m)"
        ),
        "Share of failed outgoing calls (percent) per window",
    ),
)

# Once per environment, on the workspace: Usage.Quantity is in MB.
INGESTION_ALERT = LogAlert(
    "ingestion_gb_per_hour",
    "ingestion",
    "Workspace ingestion",
    "IngestedGb",
    lambda r: (
        "Usage\n"
        "| where IsBillable == true\n"
        f"| summarize IngestedGb = sum(Quantity) / 1024.0 by bin(TimeGenerated, {r.window_minutes}m)"
    ),
    "Billable data ingested into the workspace (GB) per window",
)


def _log_alert(
    name: str,
    alert: LogAlert,
    rule: AlertRule,
    *,
    rule_name: str,
    scope: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    location: str,
    action_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> monitor.ScheduledQueryRule:
    return monitor.ScheduledQueryRule(
        f"{name}-{alert.role}-alert",
        rule_name=rule_name,
        resource_group_name=resource_group_name,
        location=location,
        kind="LogAlert",
        display_name=rule_name,
        description=f"{alert.description} above {rule.threshold:g} (mystira-infra)",
        # On in every environment: the seed system enabled its alerts in prod only, so dev and
        # staging regressions went unseen.
        enabled=True,
        severity=rule.severity,
        scopes=[scope],
        evaluation_frequency=EVALUATION_FREQUENCY,
        window_size=iso_minutes(rule.window_minutes),
        criteria={
            "all_of": [
                {
                    "query": alert.query(rule),
                    "time_aggregation": "Maximum",
                    "metric_measure_column": alert.measure,
                    "operator": "GreaterThan",
                    "threshold": rule.threshold,
                    "failing_periods": {
                        "number_of_evaluation_periods": rule.evaluation_periods,
                        "min_failing_periods_to_alert": rule.failing_periods,
                    },
                }
            ]
        },
        actions={"action_groups": action_group_ids},
        auto_mitigate=True,  # resolve the alert once the condition clears
        skip_query_validation=False,  # a query that doesn't parse fails the deploy, not the night
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


# --------------------------------------------------------------------------------------------
# Metric alerts on the data services
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricAlertSpec:
    setting: str  # field of AlertSettings
    role: str
    metric: str  # metric name in the Azure Monitor REST API
    namespace: str
    aggregation: str
    operator: str = "GreaterThan"


# Metric names as Azure Monitor's supported-metrics reference spells them.
METRIC_ALERTS: dict[str, tuple[MetricAlertSpec, ...]] = {
    # Azure Managed Redis (Microsoft.Cache/redisEnterprise), sampled every 5 minutes.
    "redis": (
        MetricAlertSpec(
            "redis_used_memory_percent",
            "memory",
            "usedmemorypercentage",
            "Microsoft.Cache/redisEnterprise",
            "Maximum",
        ),
        MetricAlertSpec(
            "redis_connected_clients",
            "clients",
            "connectedclients",
            "Microsoft.Cache/redisEnterprise",
            "Maximum",
        ),
    ),
    "service_bus": (
        # A dead-lettered message is a message the platform lost: alert on the first one.
        MetricAlertSpec(
            "service_bus_dead_lettered_messages",
            "dead-lettered",
            "DeadletteredMessages",
            "Microsoft.ServiceBus/namespaces",
            "Maximum",
            "GreaterThanOrEqual",
        ),
        MetricAlertSpec(
            "service_bus_throttled_requests",
            "throttled",
            "ThrottledRequests",
            "Microsoft.ServiceBus/namespaces",
            "Total",
        ),
    ),
    "postgres": (
        MetricAlertSpec(
            "postgres_cpu_percent",
            "cpu",
            "cpu_percent",
            "Microsoft.DBforPostgreSQL/flexibleServers",
            "Average",
        ),
        MetricAlertSpec(
            "postgres_storage_percent",
            "storage",
            "storage_percent",
            "Microsoft.DBforPostgreSQL/flexibleServers",
            "Maximum",
        ),
    ),
}


# --------------------------------------------------------------------------------------------
# The environment's monitoring core
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitoringArgs:
    namer: Namer
    resource_group_name: pulumi.Input[str]
    location: str
    retention_days: int
    alert_emails: tuple[str, ...]
    alerts: AlertSettings
    tags: Mapping[str, str]
    daily_quota_gb: float | None = None  # a daily ingestion cap (dev), None for none
    webhook_url: pulumi.Input[str] | None = None  # a secret: an extra webhook receiver
    extra_action_group_ids: tuple[str, ...] = ()  # groups every alert notifies besides our own
    nsg_ids: Mapping[str, pulumi.Input[str]] | None = None  # role -> NSG id: diagnostic settings
    vnet_id: pulumi.Input[str] | None = None  # the core VNet: diagnostic setting
    activity_log: bool = True  # the subscription activity log to this workspace


class Monitoring(pulumi.ComponentResource):
    workspace_id: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    workspace_customer_id: pulumi.Output[str]
    action_group_id: pulumi.Output[str]
    action_group_ids: list[pulumi.Input[str]]
    # svc.key -> ServiceTelemetry; filled by the observability stage (`add_service`).
    app_insights: dict[str, ServiceTelemetry]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:monitoring:Monitoring", name, None, opts)
        self._name, self._args = name, args
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        workspace = operationalinsights.Workspace(
            f"{name}-log",
            workspace_name=args.namer("log_analytics", "core"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": "PerGB2018"},  # pay per GB; commitment tiers only pay off above 100 GB/day
            retention_in_days=args.retention_days,
            workspace_capping={"daily_quota_gb": args.daily_quota_gb} if args.daily_quota_gb else None,
            features={
                # Shared-key ingestion off: agents and App Insights send with Entra tokens only.
                "disable_local_auth": True,
                # Readers of a resource see its logs only, not the whole workspace.
                "enable_log_access_using_only_resource_permissions": True,
            },
            # Public endpoints stay on, explicitly: AKS, App Insights and diagnostic settings send
            # over them (no Azure Monitor private link scope in this design); auth is Entra-only.
            public_network_access_for_ingestion="Enabled",
            public_network_access_for_query="Enabled",
            tags=tags,
            opts=child,
        )

        webhooks: list[monitor.WebhookReceiverArgsDict] | None = (
            [{"name": "webhook", "service_uri": args.webhook_url, "use_common_alert_schema": True}]
            if args.webhook_url is not None
            else None
        )
        group = monitor.ActionGroup(
            f"{name}-ag",
            action_group_name=args.namer("action_group", "core"),
            resource_group_name=args.resource_group_name,
            location="Global",
            group_short_name=short_name(args.namer.env),
            enabled=True,
            # Addresses come from the stack settings only: none is written in code.
            email_receivers=[
                {"name": f"email-{i}", "email_address": address, "use_common_alert_schema": True}
                for i, address in enumerate(args.alert_emails)
            ],
            webhook_receivers=webhooks,
            tags=tags,
            opts=child,
        )

        self.workspace = workspace
        self.workspace_id = workspace.id
        self.workspace_name = workspace.name
        self.workspace_customer_id = workspace.customer_id
        self.action_group_id = group.id
        self.action_group_ids = [group.id, *args.extra_action_group_ids]
        self.app_insights = {}
        self.metric_alerts: dict[str, list[monitor.MetricAlert]] = {}

        rule = args.alerts.ingestion_gb_per_hour
        self.ingestion_alert = _log_alert(
            name,
            INGESTION_ALERT,
            rule,
            rule_name=args.namer("alert", "core-ingestion"),
            scope=workspace.id,
            resource_group_name=args.resource_group_name,
            location=args.location,
            action_group_ids=self.action_group_ids,
            tags=tags,
            parent=self,
        )

        if args.activity_log:
            # Control-plane history (who changed what) beside the resource logs, for as long as
            # the workspace keeps data; the portal keeps only 90 days.
            monitor.SubscriptionDiagnosticSetting(
                f"{name}-activity-log",
                name=args.namer("diagnostic_setting", "activity"),
                workspace_id=workspace.id,
                logs=[{"category": c, "enabled": True} for c in ACTIVITY_LOG_CATEGORIES],
                opts=child,
            )

        # Who queried what (LAQueryLogs) and the workspace's own health, kept beside the data.
        interfaces.diagnostics(
            f"{name}-log", resource_id=workspace.id, workspace_id=workspace.id, parent=self
        )
        if args.vnet_id is not None:
            interfaces.diagnostics(
                f"{name}-vnet", resource_id=args.vnet_id, workspace_id=workspace.id, parent=self
            )
        for role, nsg_id in (args.nsg_ids or {}).items():
            # NSGs have logs (events, rule counters) but no platform metrics.
            interfaces.diagnostics(
                f"{name}-{role.replace('_', '-')}-nsg",
                resource_id=nsg_id,
                workspace_id=workspace.id,
                parent=self,
                metrics=False,
            )

        self.register_outputs(
            {
                "workspace_id": self.workspace_id,
                "workspace_name": self.workspace_name,
                "workspace_customer_id": self.workspace_customer_id,
                "action_group_id": self.action_group_id,
            }
        )

    def add_service(self, key: str, telemetry: ServiceTelemetry) -> ServiceTelemetry:
        """Record a service's telemetry under `app_insights[key]` (the cross-stage contract)."""
        if key in self.app_insights:
            raise ValueError(f"App Insights for service '{key}' added twice")
        self.app_insights[key] = telemetry
        return telemetry

    def add_metric_alerts(self, kind: str, resource_id: pulumi.Input[str]) -> list[monitor.MetricAlert]:
        """The metric alerts for a data service built by a later stage: `kind` is a key of
        METRIC_ALERTS ("redis", "service_bus", "postgres"), `resource_id` the resource's id."""
        if kind not in METRIC_ALERTS:
            raise ValueError(f"no metric alerts for '{kind}'; known: {', '.join(METRIC_ALERTS)}")
        if kind in self.metric_alerts:
            raise ValueError(f"metric alerts for '{kind}' added twice")
        args = self._args
        created = []
        for spec in METRIC_ALERTS[kind]:
            rule: AlertRule = getattr(args.alerts, spec.setting)
            rule_name = args.namer("alert", f"{kind.replace('_', '')}-{spec.role}")
            created.append(
                monitor.MetricAlert(
                    f"{self._name}-{kind.replace('_', '-')}-{spec.role}-alert",
                    rule_name=rule_name,
                    resource_group_name=args.resource_group_name,
                    location="global",
                    description=f"{spec.metric} ({spec.aggregation}) {spec.operator} {rule.threshold:g}"
                    " (mystira-infra)",
                    enabled=True,  # in every environment
                    severity=rule.severity,
                    scopes=[resource_id],
                    evaluation_frequency=EVALUATION_FREQUENCY,
                    window_size=iso_minutes(rule.window_minutes),
                    # Typed Args, not a dict: `criteria` is a union of criteria types, and the SDK
                    # only turns a dict's keys into wire names when it knows the type (a dict here
                    # would reach Azure as `all_of`/`odata_type` and be rejected).
                    criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                        odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                        all_of=[
                            monitor.MetricCriteriaArgs(
                                criterion_type="StaticThresholdCriterion",
                                name=spec.role,
                                metric_name=spec.metric,
                                metric_namespace=spec.namespace,
                                time_aggregation=spec.aggregation,
                                operator=spec.operator,
                                threshold=rule.threshold,
                            )
                        ],
                    ),
                    actions=[{"action_group_id": g} for g in self.action_group_ids],
                    auto_mitigate=True,
                    tags=dict(args.tags),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.metric_alerts[kind] = created
        return created


def short_name(env: str) -> str:
    """Action group short name (shown in SMS and email subjects): at most 12 characters."""
    return f"mys-{env}"[:12]


# --------------------------------------------------------------------------------------------
# A service's telemetry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceTelemetryArgs:
    name: str  # App Insights physical name (naming module)
    alert_names: Mapping[str, str]  # LogAlert.role -> physical rule name
    resource_group_name: pulumi.Input[str]  # the service's tier-2 group
    location: str
    workspace_id: pulumi.Input[str]
    action_group_ids: Sequence[pulumi.Input[str]]
    alerts: AlertSettings
    tags: Mapping[str, str]


class ServiceTelemetry(pulumi.ComponentResource):
    id: pulumi.Output[str]
    name: pulumi.Output[str]
    app_id: pulumi.Output[str]
    connection_string: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServiceTelemetryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mystira:monitoring:ServiceTelemetry", name, None, opts)
        self._name = name
        component = applicationinsights.Component(
            f"{name}-appi",
            resource_name_=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="web",
            application_type="web",
            # Workspace-based: telemetry lands in the environment's workspace, retention is its.
            workspace_resource_id=args.workspace_id,
            ingestion_mode="LogAnalytics",
            # Instrumentation-key ingestion off: the service sends with its managed identity
            # (Monitoring Metrics Publisher, see `grant_publisher`), so a leaked connection string
            # can't be used to write telemetry.
            disable_local_auth=True,
            disable_ip_masking=False,  # keep client IPs masked (personal data)
            # Public endpoints, explicitly: pods send over them (no private link scope here).
            public_network_access_for_ingestion="Enabled",
            public_network_access_for_query="Enabled",
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.component = component
        self.id = component.id
        self.name = component.name
        self.app_id = component.app_id
        self.connection_string = component.connection_string

        self.alerts = {
            alert.role: _log_alert(
                name,
                alert,
                getattr(args.alerts, alert.setting),
                rule_name=args.alert_names[alert.role],
                scope=component.id,
                resource_group_name=args.resource_group_name,
                location=args.location,
                action_group_ids=list(args.action_group_ids),
                tags=args.tags,
                parent=self,
            )
            for alert in SERVICE_ALERTS
        }
        self.register_outputs(
            {
                "id": self.id,
                "name": self.name,
                "app_id": self.app_id,
                "connection_string": self.connection_string,
            }
        )

    def grant_publisher(self, principal_id: pulumi.Input[str], subscription_id: pulumi.Input[str]):
        """Let the service's identity send telemetry (Entra ingestion; local auth is off)."""
        return interfaces.role_assignment(
            f"{self._name}-appi-publisher",
            scope=self.id,
            role="Monitoring Metrics Publisher",
            principal_id=principal_id,
            principal_type="ServicePrincipal",
            subscription_id=subscription_id,
            parent=self,
        )
