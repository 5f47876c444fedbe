"""Stage 'observability' (runs first after core): Log Analytics, the action group, App Insights
and alert rules per service, NSG and activity-log diagnostics, and the service-health workbook.

Sets `p.components["monitoring"]` (`.workspace_id`, `.app_insights[svc.key]`, `.action_group_id`):
later stages read the workspace id and give their own resources a diagnostic setting through
`components.interfaces.diagnostics`.

`finish(p)` runs after the data stage (stacks/environment.py calls it): it adds the metric alerts
on PostgreSQL, Redis and Service Bus, and grants each service's identity the right to send
telemetry to its own App Insights. Everything it needs is optional: a missing component is
skipped, so the stage order can change without breaking the build.
"""

from __future__ import annotations

import pulumi

from components.dashboard import ServiceHealthWorkbook, ServiceHealthWorkbookArgs
from components.monitoring import (
    METRIC_ALERTS,
    SERVICE_ALERTS,
    Monitoring,
    MonitoringArgs,
    ServiceTelemetry,
    ServiceTelemetryArgs,
)
from mystira_infra.services import SERVICES
from stacks.platform import Platform


def build(p: Platform) -> None:
    s = p.settings
    assert s.monitoring is not None
    mon = s.monitoring
    monitoring = Monitoring(
        "core",
        MonitoringArgs(
            namer=p.namer,
            resource_group_name=p.core_rg.name,
            location=p.location,
            retention_days=mon.retention_days,
            daily_quota_gb=mon.daily_quota_gb,
            alert_emails=mon.alert_emails,
            webhook_url=s.alert_webhook_url.output() if s.alert_webhook_url else None,
            extra_action_group_ids=mon.extra_action_group_ids,
            alerts=mon.alerts,
            nsg_ids=p.network.nsg_ids,
            vnet_id=p.network.vnet_id,
            tags=p.component_tags("monitoring"),
        ),
        opts=pulumi.ResourceOptions(parent=p.core_rg),
    )

    for svc in SERVICES:
        telemetry = ServiceTelemetry(
            svc.key,
            ServiceTelemetryArgs(
                name=p.namer("app_insights", svc.key),
                alert_names={a.role: p.namer("alert", f"{svc.key}-{a.role}") for a in SERVICE_ALERTS},
                resource_group_name=p.service_rgs[svc.key].name,
                location=p.location,
                workspace_id=monitoring.workspace_id,
                action_group_ids=monitoring.action_group_ids,
                alerts=mon.alerts,
                tags=p.service_tags(svc),
            ),
            opts=pulumi.ResourceOptions(parent=p.service_rgs[svc.key]),
        )
        monitoring.add_service(svc.key, telemetry)
        # Each service's vault holds its own connection string (the seed system pointed every
        # service at one shared component).
        p.add_secret(
            svc.key, "appinsights-connection-string", pulumi.Output.secret(telemetry.connection_string)
        )

    ServiceHealthWorkbook(
        "core",
        ServiceHealthWorkbookArgs(
            display_name=p.namer("dashboard", "service-health"),
            resource_group_name=p.core_rg.name,
            location=p.location,
            app_insights_ids={k: t.id for k, t in monitoring.app_insights.items()},
            tags=p.component_tags("monitoring"),
        ),
        opts=pulumi.ResourceOptions(parent=monitoring),
    )

    p.components["monitoring"] = monitoring
    pulumi.export("logAnalyticsWorkspaceId", monitoring.workspace_id)
    pulumi.export("actionGroupId", monitoring.action_group_id)
    pulumi.export("appInsightsIds", {k: t.id for k, t in monitoring.app_insights.items()})


def finish(p: Platform) -> None:
    """After the data stage: metric alerts on the data services, telemetry publisher roles."""
    monitoring: Monitoring = p.components["monitoring"]
    # A METRIC_ALERTS kind is also the p.components key the data stage stores that service under.
    for kind in METRIC_ALERTS:
        target = p.components.get(kind)
        if target is not None:
            monitoring.add_metric_alerts(kind, target.id)
    identities = p.components.get("identities", {})
    for key, telemetry in monitoring.app_insights.items():
        if key in identities:
            telemetry.grant_publisher(identities[key].principal_id, p.subscription_id)
