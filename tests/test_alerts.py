"""Alert rules: the platform's standard per service and environment, the ingestion alert, the
metric alerts on the data services, and the settings that shape them (issue 5).

The expected values are written out here (the issue's table), not read from settings.py, so a
changed default fails a test instead of silently changing every environment.
"""

from __future__ import annotations

import textwrap

import pytest

from mystira_infra.dryrun.runner import run_stack
from mystira_infra.naming import Namer
from mystira_infra.services import SERVICES
from tests.conftest import ROOT, build_stack, stack_run
from tests.helpers import inputs, is_unknown, of_type

RULE = "azure-native:monitor:ScheduledQueryRule"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
APPI = "azure-native:applicationinsights:Component"
WORKSPACE = "azure-native:operationalinsights:Workspace"
ACTION_GROUP = "azure-native:monitor:ActionGroup"

# role -> (threshold, severity, window, failing periods, evaluation periods, table, measure column)
SERVICE_STANDARD = {
    "request-failures": (5.0, 1, "PT15M", 2, 3, "requests", "FailureRatePercent"),
    "p95-response": (2000.0, 2, "PT15M", 2, 3, "requests", "P95DurationMs"),
    "exceptions": (10.0, 2, "PT15M", 1, 3, "exceptions", "ExceptionsPer5Minutes"),
    "dependency-failures": (10.0, 2, "PT15M", 2, 3, "dependencies", "DependencyFailureRatePercent"),
}
# What each query must compute (a readable KQL fragment per alert).
QUERY_FRAGMENT = {
    "request-failures": "countif(success == false) / count()",
    "p95-response": "percentile(duration, 95)",
    "exceptions": "count() by bin(timestamp, 5m)",
    "dependency-failures": "countif(success == false) / count()",
}


def criterion(rule: dict) -> dict:
    (c,) = rule["criteria"]["allOf"]
    return c


def action_group_id(result) -> str:
    (group,) = of_type(result, ACTION_GROUP)
    return group.id


@pytest.mark.parametrize("svc", SERVICES, ids=lambda s: s.key)
@pytest.mark.parametrize("role", SERVICE_STANDARD)
def test_service_alert_follows_the_standard(env_stack, svc, role):
    result = stack_run(env_stack)
    threshold, severity, window, failing, periods, table, measure = SERVICE_STANDARD[role]
    rule = inputs(result.one(RULE, f"{svc.key}-{role}-alert"))
    appi = result.one(APPI, f"{svc.key}-appi")
    c = criterion(rule)

    assert rule["scopes"] == [appi.id], "each service's alerts watch its own App Insights"
    assert rule["resourceGroupName"] == Namer(env_stack, "southafricanorth", env_stack)(
        "resource_group", svc.key
    )
    assert rule["enabled"] is True, (
        f"alerts are on in {env_stack} too (the seed system had them on in prod only)"
    )
    assert rule["kind"] == "LogAlert"
    assert rule["evaluationFrequency"] == "PT5M"
    assert rule["severity"] == severity
    assert rule["windowSize"] == window
    assert c["threshold"] == threshold and c["operator"] == "GreaterThan"
    assert c["failingPeriods"] == {"minFailingPeriodsToAlert": failing, "numberOfEvaluationPeriods": periods}
    assert c["metricMeasureColumn"] == measure and c["timeAggregation"] == "Maximum"
    query = c["query"]
    assert query.splitlines()[0] == table
    assert f"{measure} =" in query and QUERY_FRAGMENT[role] in query
    assert rule["actions"]["actionGroups"] == [action_group_id(result)]
    assert rule["autoMitigate"] is True


def test_every_service_gets_four_rules_and_the_workspace_one(env_stack):
    rules = of_type(stack_run(env_stack), RULE)
    assert len(rules) == 4 * len(SERVICES) + 1


def test_ingestion_alert_once_per_environment_on_the_workspace(env_stack, mode):
    result = stack_run(env_stack, mode)
    (ws,) = of_type(result, WORKSPACE)
    rules = [r for r in of_type(result, RULE) if r.name == "core-ingestion-alert"]
    assert len(rules) == 1
    rule = inputs(rules[0])
    if mode == "update":
        assert rule["scopes"] == [ws.id]
    else:
        assert all(is_unknown(s) for s in rule["scopes"])
    c = criterion(rule)
    assert (c["threshold"], rule["severity"], rule["windowSize"], rule["evaluationFrequency"]) == (
        1.0,
        2,
        "PT1H",
        "PT5M",
    )
    assert c["failingPeriods"] == {"minFailingPeriodsToAlert": 1, "numberOfEvaluationPeriods": 1}
    assert c["query"].startswith("Usage\n") and "IsBillable" in c["query"] and "/ 1024.0" in c["query"]
    assert rule["enabled"] is True


def test_alert_settings_reach_every_service():
    result = build_stack(
        "dev",
        overrides={
            "monitoring": {
                "retentionDays": 30,
                "alertEmails": ["ops@example.org"],
                "alerts": {
                    "p95ResponseMs": {
                        "threshold": 1500,
                        "severity": 3,
                        "windowMinutes": 30,
                        "failingPeriods": 3,
                        "evaluationPeriods": 4,
                    }
                },
                "extraActionGroupIds": [
                    "/subscriptions/x/resourceGroups/oncall/providers/microsoft.insights/actionGroups/pager"
                ],
            }
        },
    )
    for svc in SERVICES:
        rule = inputs(result.one(RULE, f"{svc.key}-p95-response-alert"))
        c = criterion(rule)
        assert (c["threshold"], rule["severity"], rule["windowSize"]) == (1500.0, 3, "PT30M")
        assert c["failingPeriods"] == {"minFailingPeriodsToAlert": 3, "numberOfEvaluationPeriods": 4}
        assert "bin(timestamp, 30m)" in c["query"]
        assert rule["actions"]["actionGroups"][1].endswith("/actionGroups/pager"), (
            "the extra group is notified too"
        )
        other = inputs(result.one(RULE, f"{svc.key}-request-failures-alert"))
        assert criterion(other)["threshold"] == 5.0, "an override touches only its own alert"


@pytest.mark.parametrize(
    ("alerts", "key"),
    [
        (
            {"p95ResponseMs": {"threshold": 2000, "severity": 2, "windowMinutes": 10}},
            "p95ResponseMs.windowMinutes",
        ),
        ({"exceptionsPer5Minutes": {"threshold": 10, "severity": 5}}, "exceptionsPer5Minutes.severity"),
        (
            {"requestFailureRatePercent": {"threshold": 5, "severity": 1, "failingPeriods": 4}},
            "requestFailureRatePercent.failingPeriods",
        ),
    ],
)
def test_bad_alert_settings_are_rejected(alerts, key):
    result = build_stack(
        "dev", overrides={"monitoring": {"retentionDays": 30, "alertEmails": [], "alerts": alerts}}
    )
    assert result.error and f"monitoring.alerts.{key}" in result.error


# --------------------------------------------------------------------------------------------
# Metric alerts on the data services: a small program that builds the monitoring core and runs
# the stage's `finish` against stand-ins for the data stage's components.
# --------------------------------------------------------------------------------------------

# kind -> role -> (metric, namespace, aggregation, operator, threshold, severity)
METRIC_STANDARD = {
    "redis": {
        "memory": (
            "usedmemorypercentage",
            "Microsoft.Cache/redisEnterprise",
            "Maximum",
            "GreaterThan",
            80.0,
            2,
        ),
        "clients": (
            "connectedclients",
            "Microsoft.Cache/redisEnterprise",
            "Maximum",
            "GreaterThan",
            1000.0,
            2,
        ),
    },
    "service_bus": {
        "dead-lettered": (
            "DeadletteredMessages",
            "Microsoft.ServiceBus/namespaces",
            "Maximum",
            "GreaterThanOrEqual",
            1.0,
            2,
        ),
        "throttled": (
            "ThrottledRequests",
            "Microsoft.ServiceBus/namespaces",
            "Total",
            "GreaterThan",
            10.0,
            2,
        ),
    },
    "postgres": {
        "cpu": (
            "cpu_percent",
            "Microsoft.DBforPostgreSQL/flexibleServers",
            "Average",
            "GreaterThan",
            80.0,
            2,
        ),
        "storage": (
            "storage_percent",
            "Microsoft.DBforPostgreSQL/flexibleServers",
            "Maximum",
            "GreaterThan",
            85.0,
            1,
        ),
    },
}
TARGETS = {
    "postgres": "/subscriptions/s/resourceGroups/core/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg",
    "redis": "/subscriptions/s/resourceGroups/core/providers/Microsoft.Cache/redisEnterprise/redis",
    "service_bus": "/subscriptions/s/resourceGroups/core/providers/Microsoft.ServiceBus/namespaces/sb",
}

PROGRAM = textwrap.dedent(f"""
    from types import SimpleNamespace

    from components.monitoring import (
        SERVICE_ALERTS, Monitoring, MonitoringArgs, ServiceTelemetry, ServiceTelemetryArgs)
    from mystira_infra.naming import Namer
    from mystira_infra.settings import AlertSettings
    from stacks.env import observability

    namer = Namer("dev", "southafricanorth", "dev")
    m = Monitoring("core", MonitoringArgs(
        namer=namer, resource_group_name="core-rg", location="southafricanorth",
        retention_days=30, alert_emails=(), alerts=AlertSettings(), tags={{}}))
    t = ServiceTelemetry("story", ServiceTelemetryArgs(
        name="appi", alert_names={{a.role: a.role for a in SERVICE_ALERTS}}, resource_group_name="story-rg",
        location="southafricanorth", workspace_id=m.workspace_id, action_group_ids=m.action_group_ids,
        alerts=AlertSettings(), tags={{}}))
    m.add_service("story", t)
    targets = {TARGETS!r}
    p = SimpleNamespace(
        subscription_id="00000000-0000-4000-8000-000000000001",
        components={{"monitoring": m, "identities": {{"story": SimpleNamespace(principal_id="p-story")}},
                     **{{k: SimpleNamespace(id=v) for k, v in targets.items()}}}},
    )
    observability.finish(p)
""")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    directory = tmp_path_factory.mktemp("finish")
    (directory / "Pulumi.yaml").write_text("name: finish-test\nruntime: python\n")
    (directory / "Pulumi.dev.yaml").write_text("config: {}\n")
    (directory / "__main__.py").write_text(PROGRAM)
    for package in ("components", "stacks"):
        (directory / package).symlink_to(ROOT / package)
    result = run_stack(directory, "dev", preview=False)
    assert result.ok, result.error
    return result


@pytest.mark.parametrize(("kind", "role"), [(k, r) for k, roles in METRIC_STANDARD.items() for r in roles])
def test_metric_alert_on_data_service(finished, kind, role):
    metric, namespace, aggregation, operator, threshold, severity = METRIC_STANDARD[kind][role]
    alert = inputs(finished.one(METRIC_ALERT, f"core-{kind.replace('_', '-')}-{role}-alert"))
    (c,) = alert["criteria"]["allOf"]
    assert alert["scopes"] == [TARGETS[kind]]
    assert (c["metricName"], c["metricNamespace"], c["timeAggregation"]) == (metric, namespace, aggregation)
    assert (c["operator"], c["threshold"], alert["severity"]) == (operator, threshold, severity)
    assert alert["criteria"]["odataType"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
    assert (alert["evaluationFrequency"], alert["windowSize"]) == ("PT5M", "PT15M")
    assert alert["enabled"] is True and alert["location"] == "global"
    (group,) = of_type(finished, ACTION_GROUP)
    assert alert["actions"] == [{"actionGroupId": group.id}]


def test_finish_adds_six_metric_alerts_and_the_publisher_role(finished):
    assert len(of_type(finished, METRIC_ALERT)) == 6
    (grant,) = of_type(finished, "azure-native:authorization:RoleAssignment")
    g = inputs(grant)
    # Local auth is off on App Insights: without this role the service can't send telemetry.
    assert g["roleDefinitionId"].endswith("/3913510d-42f4-4e42-8a64-420c390055eb")
    assert g["principalId"] == "p-story" and g["principalType"] == "ServicePrincipal"
    assert g["scope"] == finished.one(APPI, "story-appi").id


def test_stack_metric_alerts_watch_the_data_services(env_stack):
    """stacks/environment.py runs `observability.finish(p)` after the data stage: two alerts per
    data service, each scoped to that service (none at all means `finish` was unwired)."""
    result = stack_run(env_stack)
    alerts = of_type(result, METRIC_ALERT)
    assert len(alerts) == 6
    targets = {
        "postgres": "azure-native:dbforpostgresql:Server",
        "redis": "azure-native:redisenterprise:RedisEnterprise",
        "service-bus": "azure-native:servicebus:Namespace",
    }
    for kind, token in targets.items():
        (target,) = of_type(result, token)
        watching = [a for a in alerts if a.name.startswith(f"core-{kind}-")]
        assert len(watching) == 2 and all(inputs(a)["scopes"] == [target.id] for a in watching)


def _snake_keys(value, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            if "_" in k and not k.startswith("__"):
                yield f"{path}.{k}"
            yield from _snake_keys(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _snake_keys(v, f"{path}[{i}]")


MONITORING_TYPES = (
    RULE,
    METRIC_ALERT,
    APPI,
    WORKSPACE,
    ACTION_GROUP,
    "azure-native:applicationinsights:Workbook",
    "azure-native:monitor:DiagnosticSetting",
    "azure-native:monitor:SubscriptionDiagnosticSetting",
)


def test_inputs_reach_azure_under_wire_names(finished):
    """A dict passed where the SDK expects a union type keeps its Python keys (`all_of`), and Azure
    rejects the request: every monitoring input must arrive camelCase."""
    records = [r for r in stack_run("dev").records + finished.records if r.type in MONITORING_TYPES]
    assert {r.type for r in records} >= {RULE, METRIC_ALERT, APPI, WORKSPACE, ACTION_GROUP}
    bad = [f"{r.type} {r.name}: {key}" for r in records for key in _snake_keys(inputs(r))]
    assert not bad, "\n".join(bad)
