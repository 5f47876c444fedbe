"""Architecture graph: resources grouped by resource group and component, dependency edges."""

from __future__ import annotations

import re

from mystira_infra.cli import main
from mystira_infra.insights.graph import NO_GROUP, build_graph, to_dot, to_mermaid, transitive_reduction
from tests.conftest import ENV_STACKS, stack_run


def _node(graph, name):
    return next(n for n in graph.nodes.values() if n.name == name)


def test_resources_grouped_by_resource_group_and_component():
    g = build_graph(stack_run("dev").records)
    subnet = _node(g, "core-aks-snet")
    assert subnet.group == "mys-dev-core-rg-san"
    assert g.components[subnet.component] == "mystira:network:CoreNetwork core"
    # A DNS link has no resourceGroupName of its own... it does: and its zone is its parent.
    assert _node(g, "core-keyvault-dns-link").group == "mys-dev-core-rg-san"
    # Every service's identity sits in that service's tier-2 group.
    assert _node(g, "story-id").group == "mys-dev-story-rg-san"
    assert not any(n.type.startswith("pulumi:") for n in g.nodes.values())


def test_dependency_edges_follow_recorded_dependencies():
    result = stack_run("dev")
    g = build_graph(result.records)
    by_name = {n.name: u for u, n in g.nodes.items()}
    assert (by_name["core-vnet"], by_name["core-aks-snet"]) in g.edges
    assert (by_name["core-aks-nsg"], by_name["core-aks-snet"]) in g.edges
    for a, b in g.edges:
        assert a in result.get(b).dependencies or result.get(a).parent in result.get(b).dependencies


def test_mermaid_has_one_subgraph_per_group_and_every_edge():
    g = build_graph(stack_run("staging").records)
    text = to_mermaid(g, "staging")
    assert text.splitlines()[3] == "flowchart LR"
    groups = {n.group for n in g.nodes.values()}
    for group in groups:
        assert f'["{group}"]' in text
    assert text.count(" --> ") == len(g.edges)
    assert text.count("subgraph") == text.count("\n  end") + text.count("\n    end")
    assert len(set(re.findall(r"^\s+(r\d+)\[", text, re.M))) == len(g.nodes)


def test_dot_is_balanced_and_lists_every_node():
    g = build_graph(stack_run("prod").records)
    text = to_dot(g, "prod")
    assert text.startswith('digraph "prod"') and text.count("{") == text.count("}")
    assert text.count(" -> ") == len(g.edges)
    assert "cluster_g0" in text


def test_graph_command_on_every_stack_and_the_fixture(capsys):
    for stack in ("shared", *ENV_STACKS):
        assert main(["graph", "--stack", stack]) == 0
        out = capsys.readouterr().out
        assert "flowchart LR" in out and f"mys-{stack}-" in out
    assert main(["graph", "--stack", "demo", "--cwd", "tests/fixtures/minimal", "--format", "dot"]) == 0
    out = capsys.readouterr().out
    assert 'label="demo-dev-rg"' in out and out.count(" -> ") >= 3


def test_resources_outside_a_group_go_to_the_no_group_bucket():
    g = build_graph(stack_run("dev").records)
    outside = [n for n in g.nodes.values() if n.group == NO_GROUP]
    assert all(not n.type.startswith("azure-native:resources:") for n in outside)
    assert list(g.groups())[-1] == NO_GROUP or not outside


def test_transitive_reduction_drops_only_implied_edges():
    edges = [("rg", "vnet"), ("vnet", "snet"), ("rg", "snet"), ("rg", "zone")]
    assert transitive_reduction(edges) == [("rg", "vnet"), ("vnet", "snet"), ("rg", "zone")]


def test_reduced_graph_keeps_every_ordering_and_fits_github_mermaid():
    full = build_graph(stack_run("prod").records)
    reduced = build_graph(stack_run("prod").records, reduce=True)
    assert set(reduced.edges) <= set(full.edges) and len(reduced.edges) < len(full.edges)

    def closure(edges):
        out: dict[str, set[str]] = {}
        for a, b in edges:
            out.setdefault(a, set()).add(b)
        changed = True
        while changed:
            changed = False
            for a in list(out):
                more = set().union(*(out.get(b, set()) for b in out[a])) - out[a]
                if more:
                    out[a] |= more
                    changed = True
        return out

    assert closure(full.edges) == closure(reduced.edges)
    assert len(reduced.edges) <= 500  # GitHub's Mermaid maxEdges
