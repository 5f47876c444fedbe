"""Insights over a dry run's recorded resources: architecture graph, environment diff, and the
critical path of a cold `pulumi up`. Pure functions over `Record`s; the CLI wires them up."""

from mystira_infra.insights.diff import Change, StackDiff, diff_records
from mystira_infra.insights.estimate import DURATIONS, Estimate, critical_path, estimate_records
from mystira_infra.insights.graph import Graph, build_graph, to_dot, to_mermaid

__all__ = [
    "DURATIONS",
    "Change",
    "Estimate",
    "Graph",
    "StackDiff",
    "build_graph",
    "critical_path",
    "diff_records",
    "estimate_records",
    "to_dot",
    "to_mermaid",
]
