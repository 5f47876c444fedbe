"""Deploy-time estimate: the critical path of a cold `pulumi up` over the recorded graph.

How the engine schedules a cold `up` (pulumi 3.272, Python SDK), which this models exactly:

- A resource is sent to the engine once every value it needs is known: its `dependencies`
  (resources whose outputs are in its inputs, plus `depends_on`). Those outputs only resolve when
  the engine answers RegisterResource, i.e. after the dependency was created.
- It also waits for its parent's URN (`pulumi/runtime/resource.py`: `parent_urn = await
  opts.parent.urn.future()`). A component's URN resolves at once (components take no time), but a
  *custom* parent's URN resolves only with the engine's answer, after the parent was created. So
  a child of a custom resource (a DNS link under its zone, a lock under its resource group)
  starts after that parent; a child of a component does not wait for the component's children.
- Everything else runs in parallel (the CLI's default `--parallel` is unbounded for this size).

`critical_path(durations, edges)` is the pure function: the longest path through the DAG, with
start(n) = max(finish(d) for d in deps(n)), finish(n) = start(n) + duration(n).
`DURATIONS` is the one table of per-type create durations, each row with its source.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mystira_infra.dryrun.mocks import Record, plain
from mystira_infra.insights.graph import expand_dependencies

FACTS = "shared/reference/azure-platform-facts.md section 3"


@dataclass(frozen=True)
class Duration:
    type: str  # type token, or a prefix ending in ":" (e.g. "azuread:") for a whole provider
    seconds: float
    source: str
    when: tuple[str, Any] | None = None  # (input path, value): this row applies only then

    def matches(self, rec_type: str, inputs: Mapping[str, Any]) -> bool:
        if not (rec_type == self.type or (self.type.endswith(":") and rec_type.startswith(self.type))):
            return False
        if self.when is None:
            return True
        value: Any = inputs
        for part in self.when[0].split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value == self.when[1]


_M = 60.0
# Typical create durations. "estimate" marks a budget where no measurement was published.
# More specific rows (with `when`) come before the general row of the same type.
DURATIONS: tuple[Duration, ...] = (
    Duration("azure-native:resources:ResourceGroup", 3, f"seconds: {FACTS}, row 1 (TF logs, steampipe#824)"),
    Duration(
        "azure-native:network:VirtualNetwork", 8, f"about 8 s: {FACTS}, row 1 (terraform-azurerm-aks#74)"
    ),
    Duration("azure-native:network:Subnet", 6, f"about 6 s: {FACTS}, row 1"),
    Duration("azure-native:network:NetworkSecurityGroup", 5, f"seconds: {FACTS}, row 1"),
    Duration("azure-native:managedidentity:UserAssignedIdentity", 5, f"seconds: {FACTS}, row 1"),
    Duration("azure-native:managedidentity:FederatedIdentityCredential", 5, f"seconds: {FACTS}, row 3"),
    Duration("azure-native:operationalinsights:Workspace", 7, f"about 7 s: {FACTS}, row 1"),
    Duration("azure-native:applicationinsights:Component", 7, f"seconds: {FACTS}, row 1"),
    Duration("azure-native:applicationinsights:Workbook", 5, "seconds (estimate)"),
    Duration("azure-native:containerservice:MaintenanceConfiguration", 10, "seconds (estimate)"),
    Duration("azure-native:privatedns:PrivateZone", 35, f"about 35 s: {FACTS}, row 2 (steampipe#824)"),
    Duration("azure-native:privatedns:VirtualNetworkLink", 45, f"under 1 min: {FACTS}, row 2"),
    Duration(
        "azure-native:authorization:RoleAssignment",
        5,
        f"seconds (propagation is not waited for by the engine): {FACTS}, row 3",
    ),
    Duration("azure-native:authorization:ManagementLockByScope", 3, "seconds (estimate)"),
    Duration("azure-native:authorization:RoleDefinition", 5, "seconds (estimate)"),
    Duration("azure-native:keyvault:Vault", 90, f"about 1-2 min (estimate): {FACTS}, row 4"),
    Duration("azure-native:keyvault:Secret", 3, "seconds (estimate)"),
    Duration("azure-native:keyvault:Key", 5, "seconds (estimate)"),
    Duration("azure-native:network:PrivateEndpoint", 90, f"about 1-2 min (estimate): {FACTS}, row 4"),
    Duration("azure-native:network:PrivateDnsZoneGroup", 30, "under 1 min (estimate)"),
    Duration(
        "azure-native:containerregistry:Registry", 4 * _M, f"about 4 min: {FACTS}, row 5 (aks-baseline)"
    ),
    Duration(
        "azure-native:containerservice:ManagedCluster",
        12 * _M,
        f"8-15 min standalone, 18 min baseline stamp: {FACTS}, row 6",
    ),
    Duration("azure-native:containerservice:AgentPool", 5 * _M, "about 5 min per user pool (estimate)"),
    Duration(
        "azure-native:dbforpostgresql:Server",
        25 * _M,
        f"zone-redundant HA adds a standby, 15-30 min: {FACTS}, row 7",
        when=("highAvailability.mode", "ZoneRedundant"),
    ),
    Duration("azure-native:dbforpostgresql:Server", 10 * _M, f"5-15 min without HA: {FACTS}, row 7"),
    Duration(
        "azure-native:dbforpostgresql:Configuration", 20, "seconds each, serial on one server (estimate)"
    ),
    Duration("azure-native:dbforpostgresql:Database", 20, "seconds each, serial on one server (estimate)"),
    Duration("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra", 30, "under 1 min (estimate)"),
    Duration("azure-native:dbforpostgresql:FirewallRule", 20, "seconds (estimate)"),
    Duration("azure-native:cache:Redis", 25 * _M, f"'20+ minutes is typical' (Microsoft): {FACTS}, row 8"),
    Duration(
        "azure-native:redisenterprise:RedisEnterprise",
        15 * _M,
        f"Azure Managed Redis: no hard data, budget 10-20 min (estimate): {FACTS}, row 9",
    ),
    Duration("azure-native:redisenterprise:Database", 2 * _M, "a few minutes (estimate)"),
    Duration("azure-native:redisenterprise:AccessPolicyAssignment", 30, "under 1 min (estimate)"),
    Duration(
        "azure-native:servicebus:Namespace",
        10 * _M,
        f"Premium: several minutes up to 20 (estimate): {FACTS}",
        when=("sku.name", "Premium"),
    ),
    Duration(
        "azure-native:servicebus:Namespace", 2 * _M, f"Standard: under 2 min (estimate): {FACTS}, row 11"
    ),
    Duration("azure-native:servicebus:Queue", 5, "seconds (estimate)"),
    Duration("azure-native:servicebus:Topic", 5, "seconds (estimate)"),
    Duration("azure-native:servicebus:Subscription", 5, "seconds (estimate)"),
    Duration(
        "azure-native:cognitiveservices:Account", 1 * _M, f"about 1 min: {FACTS}, row 10 (chat-copilot#682)"
    ),
    Duration("azure-native:cognitiveservices:Deployment", 90, f"about 1-2 min each, serial: {FACTS}, row 10"),
    Duration("azure-native:communication:", 1 * _M, f"about 1 min: {FACTS}, row 12"),
    Duration("azure-native:storage:StorageAccount", 30, "under 1 min (estimate)"),
    Duration("azure-native:storage:", 5, "seconds (estimate)"),
    Duration("azure-native:monitor:", 10, "seconds (estimate): alerts, action groups, diagnostic settings"),
    Duration("azure-native:portal:", 5, "seconds (estimate)"),
    Duration("azure-native:dashboard:", 5, "seconds (estimate)"),
    Duration("azuread:", 5, "seconds (estimate): Microsoft Graph objects"),
    Duration("kubernetes:apps/v1:Deployment", 1 * _M, "the provider waits for the rollout (estimate)"),
    Duration("kubernetes:", 3, "seconds (estimate): an API server write"),
    Duration("pulumi:", 0, "engine-only: providers, stack references, components"),
    Duration("mystira:", 0, "components take no time"),
)
DEFAULT = Duration("*", 30, "no row for this type: default 30 s (add one to DURATIONS)")


def duration_of(type_: str, inputs: Mapping[str, Any] | None = None) -> Duration:
    inputs = plain(dict(inputs or {}))
    matching = [d for d in DURATIONS if d.matches(type_, inputs)]
    if not matching:
        return DEFAULT
    # Exact type beats a provider prefix; the first matching row of a type wins (specific first).
    exact = [d for d in matching if d.type == type_]
    return exact[0] if exact else max(matching, key=lambda d: len(d.type))


@dataclass
class Estimate:
    total: float  # seconds: the finish time of the last resource (the critical path)
    serial: float  # seconds: the sum of all durations, as if one at a time
    path: list[str]  # node ids on the critical path, first to last
    start: dict[str, float] = field(default_factory=dict)
    finish: dict[str, float] = field(default_factory=dict)
    waits_for: dict[str, str | None] = field(default_factory=dict)  # the dependency that set start


def critical_path(durations: Mapping[str, float], edges: Iterable[tuple[str, str]]) -> Estimate:
    """Longest path of a DAG. `edges` are (before, after): `after` starts when `before` finished."""
    deps: dict[str, list[str]] = {n: [] for n in durations}
    out: dict[str, list[str]] = {n: [] for n in durations}
    for before, after in edges:
        if before not in durations or after not in durations:
            raise KeyError(f"edge {before} -> {after}: unknown node")
        deps[after].append(before)
        out[before].append(after)
    indegree = {n: len(d) for n, d in deps.items()}
    ready = [n for n, k in indegree.items() if k == 0]
    heapq.heapify(ready)
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    waits: dict[str, str | None] = {}
    while ready:
        n = heapq.heappop(ready)
        prev = max(deps[n], key=lambda d: (finish[d], d), default=None)
        start[n] = finish[prev] if prev is not None else 0.0
        finish[n] = start[n] + durations[n]
        waits[n] = prev
        for m in out[n]:
            indegree[m] -= 1
            if indegree[m] == 0:
                heapq.heappush(ready, m)
    if len(finish) != len(durations):
        stuck = sorted(set(durations) - set(finish))
        raise ValueError(f"dependency cycle among: {', '.join(stuck[:5])}")
    last = max(finish, key=lambda n: (finish[n], n), default=None)
    path: list[str] = []
    cur = last
    while cur is not None:
        path.append(cur)
        cur = waits[cur]
    path.reverse()
    return Estimate(
        total=finish[last] if last else 0.0,
        serial=float(sum(durations.values())),
        path=path,
        start=start,
        finish=finish,
        waits_for=waits,
    )


@dataclass
class StackEstimate:
    estimate: Estimate
    records: dict[str, Record]  # urn -> record (the nodes)
    rows: dict[str, Duration]  # urn -> the DURATIONS row used


def graph_of(records: list[Record]) -> tuple[dict[str, Record], list[tuple[str, str]]]:
    """Nodes (custom resources but the providers) and engine edges: dependencies + custom parent."""
    nodes = {r.urn: r for r in records if r.custom and not r.type.startswith("pulumi:providers:")}
    edges: set[tuple[str, str]] = set()
    for urn, deps in expand_dependencies(records).items():
        if urn in nodes:
            edges |= {(d, urn) for d in deps if d in nodes}
    for r in nodes.values():
        if r.parent in nodes:  # a custom parent's URN resolves only once it is created
            edges.add((r.parent, r.urn))
    return nodes, sorted(edges)


def estimate_records(records: list[Record]) -> StackEstimate:
    nodes, edges = graph_of(records)
    rows = {u: duration_of(r.type, r.inputs) for u, r in nodes.items()}
    est = critical_path({u: row.seconds for u, row in rows.items()}, edges)
    return StackEstimate(estimate=est, records=nodes, rows=rows)


def minutes(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m}m{s:02d}s"


def render(se: StackEstimate, stack: str, slow_seconds: float = 5 * _M) -> str:
    est = se.estimate
    lines = [
        f"Estimated cold `pulumi up` of {stack}: {minutes(est.total)} on the critical path "
        f"({len(se.records)} resources; serial sum {minutes(est.serial)}, "
        f"parallelism x{est.serial / est.total if est.total else 0:.1f})",
        "",
        "Critical path:",
        f"  {'start':>7}  {'takes':>7}  resource",
    ]
    for urn in est.path:
        r = se.records[urn]
        lines.append(
            f"  {minutes(est.start[urn]):>7}  {minutes(se.rows[urn].seconds):>7}  {r.type}  {r.name}"
        )
    slow = sorted(
        (u for u, row in se.rows.items() if row.seconds >= slow_seconds), key=lambda u: -est.finish[u]
    )
    if slow:
        lines += ["", f"Slow resources (>= {minutes(slow_seconds)}) and what they wait for:"]
        for u in slow:
            r, prev = se.records[u], est.waits_for[u]
            why = f"waits for {se.records[prev].type} {se.records[prev].name}" if prev else "starts at once"
            lines.append(
                f"  {r.name:<32} start {minutes(est.start[u]):>7}  finish {minutes(est.finish[u]):>7}  {why}"
            )
    defaulted = sorted({r.type for u, r in se.records.items() if se.rows[u] is DEFAULT})
    if defaulted:
        lines += ["", "No duration row (30 s assumed): " + ", ".join(defaulted)]
    lines += ["", "Durations: mystira_infra/insights/estimate.py DURATIONS (each row cites its source)."]
    return "\n".join(lines)
