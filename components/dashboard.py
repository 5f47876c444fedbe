"""The service-health workbook: one Azure Monitor workbook per environment showing, for every
service, request rate, failure rate, P95 latency and exceptions from its own Application Insights.

A workbook (not a portal dashboard) because its KQL items can each name the component they query
(`crossComponentResources`), it needs no tile layout, and Azure keeps it as data we can diff.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights

# (title, KQL, visualization) per chart, each over the service's own App Insights.
CHARTS: tuple[tuple[str, str, str], ...] = (
    (
        "Request rate (per minute)",
        "requests\n| summarize RequestsPerMinute = count() / 5.0 by bin(timestamp, 5m)",
        "timechart",
    ),
    (
        "Failure rate (%)",
        "requests\n| summarize FailureRatePercent = 100.0 * countif(success == false) / count()"
        " by bin(timestamp, 5m)",
        "timechart",
    ),
    (
        "P95 latency (ms)",
        "requests\n| summarize P95DurationMs = percentile(duration, 95) by bin(timestamp, 5m)",
        "timechart",
    ),
    (
        "Exceptions (per 5 minutes)",
        "exceptions\n| summarize Exceptions = count() by bin(timestamp, 5m)",
        "barchart",
    ),
)


def workbook_content(title: str, app_insights_ids: Mapping[str, str]) -> dict:
    """The workbook's serialized data (Notebook/1.0): a title, then a group of charts per service."""
    items: list[dict] = [
        {"type": 1, "name": "title", "content": {"json": f"# {title}\n\nLast 24 hours, 5-minute bins."}}
    ]
    for key, component_id in app_insights_ids.items():
        items.append({"type": 1, "name": f"{key}-header", "content": {"json": f"## {key}"}})
        for i, (chart, query, visualization) in enumerate(CHARTS):
            items.append(
                {
                    "type": 3,
                    "name": f"{key}-chart-{i}",
                    "content": {
                        "version": "KqlItem/1.0",
                        "title": f"{key}: {chart}",
                        "query": query,
                        "size": 1,
                        "timeContext": {"durationMs": 86_400_000},
                        "queryType": 0,  # logs
                        "resourceType": "microsoft.insights/components",
                        "crossComponentResources": [component_id],
                        "visualization": visualization,
                    },
                    "customWidth": "25",
                }
            )
    return {
        "version": "Notebook/1.0",
        "items": items,
        "isLocked": False,
        "$schema": "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json",
    }


@dataclass(frozen=True)
class ServiceHealthWorkbookArgs:
    display_name: str  # from the naming module; the resource name is a GUID derived from it
    resource_group_name: pulumi.Input[str]
    location: str
    app_insights_ids: Mapping[str, pulumi.Input[str]]  # svc.key -> App Insights id, in catalogue order
    tags: Mapping[str, str]


class ServiceHealthWorkbook(pulumi.ComponentResource):
    id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServiceHealthWorkbookArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mystira:monitoring:ServiceHealthWorkbook", name, None, opts)
        keys = list(args.app_insights_ids)
        serialized = pulumi.Output.all(*args.app_insights_ids.values()).apply(
            lambda ids: json.dumps(
                workbook_content(args.display_name, dict(zip(keys, ids, strict=True))), indent=1
            )
        )
        workbook = applicationinsights.Workbook(
            f"{name}-workbook",
            # Azure requires a workbook's resource name to be a GUID: derive it from the display
            # name, so it is stable across runs and differs per environment.
            resource_name_=str(uuid.uuid5(uuid.NAMESPACE_URL, f"mystira-workbook:{args.display_name}")),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="shared",  # visible to everyone with read access on the group
            category="workbook",
            display_name=args.display_name,
            source_id="azure monitor",  # listed in Azure Monitor's workbook gallery
            serialized_data=serialized,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.id = workbook.id
        self.register_outputs({"id": self.id})
