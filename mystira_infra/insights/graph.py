"""The architecture graph of a dry run: resources grouped by resource group, then by component,
with dependency edges; rendered as Mermaid (renders in GitHub comments) or Graphviz DOT.

- Nodes are the custom resources (providers and the stack itself left out).
- A resource's group is the `resourceGroupName` input; else the resource group named in its
  `scope` (role assignments, locks); else the group of its nearest custom ancestor (a DNS zone
  group under its private endpoint); else "(no resource group)" (Entra apps, Kubernetes objects).
- A resource's component is its nearest ComponentResource ancestor (not the stack).
- Edges are `dependencies` (inputs that are other resources' outputs, and `depends_on`), with a
  dependency on a component expanded to that component's custom descendants, as the SDK does.
  The command draws the transitive reduction (an edge implied by a longer path is left out, so
  prod stays under GitHub's Mermaid limit of 500 edges); `--all-edges` draws every one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mystira_infra.dryrun.mocks import UNKNOWN, Record, Secret

NO_GROUP = "(no resource group)"
_RG_IN_SCOPE = re.compile(r"/resourceGroups/([^/]+)", re.IGNORECASE)


def _skip(rec: Record) -> bool:
    return rec.type == "pulumi:pulumi:Stack" or rec.type.startswith("pulumi:providers:")


def _text(value: object) -> str | None:
    if isinstance(value, Secret):
        value = value.value
    return value if isinstance(value, str) and value and value != UNKNOWN else None


@dataclass
class Node:
    urn: str
    type: str
    name: str
    group: str
    component: str  # URN of the nearest component ancestor, "" if directly under the stack


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)  # urn -> node
    edges: list[tuple[str, str]] = field(default_factory=list)  # (dependency urn, dependent urn)
    components: dict[str, str] = field(default_factory=dict)  # component urn -> "Type name"

    def groups(self) -> dict[str, dict[str, list[Node]]]:
        """resource group -> component urn ("" for none) -> nodes, sorted for stable output."""
        out: dict[str, dict[str, list[Node]]] = {}
        for node in self.nodes.values():
            out.setdefault(node.group, {}).setdefault(node.component, []).append(node)
        for comps in out.values():
            for nodes in comps.values():
                nodes.sort(key=lambda n: (n.type, n.name))
        return dict(sorted(out.items(), key=lambda kv: (kv[0] == NO_GROUP, kv[0])))


def transitive_reduction(edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop an edge a -> c when a path a -> b -> ... -> c exists: same ordering, fewer arrows
    (every resource depends on its resource group; the diagram shows that by grouping)."""
    out: dict[str, set[str]] = {}
    for a, b in edges:
        out.setdefault(a, set()).add(b)

    def reachable_without(a: str, skip: str) -> set[str]:
        seen: set[str] = set()
        stack = [n for n in out.get(a, ()) if n != skip]
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(out.get(n, ()))
        return seen

    return [(a, b) for a, b in edges if b not in reachable_without(a, b)]


def expand_dependencies(records: list[Record]) -> dict[str, list[str]]:
    """urn -> the custom resources it waits for (component dependencies expanded to descendants)."""
    by_urn = {r.urn: r for r in records}
    kids: dict[str, list[Record]] = {}
    for r in records:
        kids.setdefault(r.parent, []).append(r)

    def customs_under(urn: str) -> list[str]:
        out: list[str] = []
        for child in kids.get(urn, []):
            out += [child.urn] if child.custom else customs_under(child.urn)
        return out

    deps: dict[str, list[str]] = {}
    for r in records:
        found: list[str] = []
        for d in r.dependencies:
            target = by_urn.get(d)
            if target is None or _skip(target):
                continue
            found += [d] if target.custom else customs_under(d)
        deps[r.urn] = list(dict.fromkeys(u for u in found if u != r.urn))
    return deps


def build_graph(records: list[Record], *, reduce: bool = False) -> Graph:
    """`reduce`: keep only the edges not implied by others (see `transitive_reduction`)."""
    by_urn = {r.urn: r for r in records}
    graph = Graph()

    def own_group(rec: Record) -> str | None:
        rg = _text(rec.inputs.get("resourceGroupName"))
        if rg:
            return rg
        scope = _text(rec.inputs.get("scope"))
        match = _RG_IN_SCOPE.search(scope or "")
        return match.group(1) if match else None

    def group_of(rec: Record) -> str:
        cur: Record | None = rec
        while cur is not None:
            if cur.custom:
                found = own_group(cur)
                if found:
                    return found
            cur = by_urn.get(cur.parent)
        return NO_GROUP

    def component_of(rec: Record) -> str:
        cur = by_urn.get(rec.parent)
        while cur is not None and (cur.custom or cur.type == "pulumi:pulumi:Stack"):
            if cur.type == "pulumi:pulumi:Stack":
                return ""
            cur = by_urn.get(cur.parent)
        return cur.urn if cur is not None else ""

    for rec in records:
        if rec.custom and not _skip(rec):
            comp = component_of(rec)
            graph.nodes[rec.urn] = Node(rec.urn, rec.type, rec.name, group_of(rec), comp)
            if comp:
                c = by_urn[comp]
                graph.components[comp] = f"{c.type} {c.name}"
    for urn, deps in expand_dependencies(records).items():
        if urn in graph.nodes:
            graph.edges += [(d, urn) for d in deps if d in graph.nodes]
    if reduce:
        graph.edges = transitive_reduction(graph.edges)
    return graph


def short_type(type_: str) -> str:
    """azure-native:network:Subnet -> network:Subnet;
    azuread:index/application:Application -> azuread:Application."""
    parts = type_.split(":")
    if len(parts) == 3:
        pkg, mod, cls = parts
        mod = mod.split("/")[0]
        return f"{pkg}:{cls}" if mod == "index" else f"{mod}:{cls}"
    return type_


def _ids(graph: Graph) -> dict[str, str]:
    return {urn: f"r{i}" for i, urn in enumerate(sorted(graph.nodes, key=lambda u: (graph.nodes[u].type, u)))}


def _quote(text: str) -> str:
    return text.replace('"', "'")


def to_mermaid(graph: Graph, title: str = "") -> str:
    ids = _ids(graph)
    lines = ["flowchart LR"]
    if title:
        lines.insert(0, f"---\ntitle: {_quote(title)}\n---")
    for gi, (group, comps) in enumerate(graph.groups().items()):
        lines.append(f'  subgraph g{gi}["{_quote(group)}"]')
        for ci, (comp, nodes) in enumerate(sorted(comps.items())):
            indent = "    "
            if comp:
                lines.append(f'    subgraph g{gi}c{ci}["{_quote(graph.components[comp])}"]')
                indent = "      "
            for n in nodes:
                lines.append(
                    f'{indent}{ids[n.urn]}["{_quote(n.name)}<br/><small>{short_type(n.type)}</small>"]'
                )
            if comp:
                lines.append("    end")
        lines.append("  end")
    for a, b in sorted(graph.edges, key=lambda e: (ids[e[0]], ids[e[1]])):
        lines.append(f"  {ids[a]} --> {ids[b]}")
    return "\n".join(lines)


def to_dot(graph: Graph, title: str = "") -> str:
    ids = _ids(graph)
    lines = [f'digraph "{_quote(title or "stack")}" {{', "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    for gi, (group, comps) in enumerate(graph.groups().items()):
        lines.append(f'  subgraph cluster_g{gi} {{ label="{_quote(group)}";')
        for ci, (comp, nodes) in enumerate(sorted(comps.items())):
            if comp:
                lines.append(f'    subgraph cluster_g{gi}c{ci} {{ label="{_quote(graph.components[comp])}";')
            for n in nodes:
                lines.append(f'      {ids[n.urn]} [label="{_quote(n.name)}\\n{short_type(n.type)}"];')
            if comp:
                lines.append("    }")
        lines.append("  }")
    for a, b in sorted(graph.edges, key=lambda e: (ids[e[0]], ids[e[1]])):
        lines.append(f"  {ids[a]} -> {ids[b]};")
    lines.append("}")
    return "\n".join(lines)
