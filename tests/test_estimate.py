"""Deploy-time estimate: the critical path of a cold `pulumi up` over the recorded graph."""

from __future__ import annotations

import pytest

from mystira_infra.dryrun.mocks import Record
from mystira_infra.insights import estimate
from mystira_infra.insights.estimate import DURATIONS, critical_path, duration_of, estimate_records
from tests.conftest import stack_run


def test_critical_path_on_a_hand_built_graph():
    # a(1) -> b(5) -> d(2); a -> c(10) -> d; e(3) alone. Longest: a, c, d = 13. Serial sum 21.
    durations = {"a": 1, "b": 5, "c": 10, "d": 2, "e": 3}
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    est = critical_path(durations, edges)
    assert est.total == 13
    assert est.path == ["a", "c", "d"]
    assert est.serial == 21
    assert est.start == {"a": 0, "b": 1, "c": 1, "d": 11, "e": 0}
    assert est.waits_for["d"] == "c"


def test_a_lone_slow_node_is_the_critical_path():
    est = critical_path({"fast1": 1, "fast2": 1, "slow": 100}, [("fast1", "fast2")])
    assert (est.total, est.path) == (100, ["slow"])


def test_cycle_is_an_error():
    with pytest.raises(ValueError, match="cycle"):
        critical_path({"a": 1, "b": 1}, [("a", "b"), ("b", "a")])


def test_edge_to_unknown_node_is_an_error():
    with pytest.raises(KeyError):
        critical_path({"a": 1}, [("a", "zzz")])


def _rec(
    name: str,
    type_: str,
    *,
    parent: str = "stack",
    deps: tuple[str, ...] = (),
    custom: bool = True,
    inputs: dict | None = None,
) -> Record:
    return Record(
        urn=name,
        type=type_,
        name=name,
        custom=custom,
        parent=parent,
        inputs=inputs or {},
        dependencies=list(deps),
    )


def test_engine_edges_component_dependency_expands_and_custom_parent_waits():
    rg, zone, link = (
        "azure-native:resources:ResourceGroup",
        "azure-native:privatedns:PrivateZone",
        "azure-native:privatedns:VirtualNetworkLink",
    )
    records = [
        _rec("stack", "pulumi:pulumi:Stack", parent="", custom=False),
        _rec("comp", "mystira:network:CoreNetwork", custom=False),
        _rec("rg", rg),
        _rec("zone", zone, parent="comp", deps=("rg",)),
        # a child of a custom parent without an explicit dependency still waits for the parent
        _rec("link", link, parent="zone"),
        # depending on a component means waiting for its custom descendants, not for children of
        # those (pulumi/runtime/rpc.py _add_dependency: "Cust4 because it is a child of a custom")
        _rec("later", rg, deps=("comp",)),
    ]
    nodes, edges = estimate.graph_of(records)
    assert set(nodes) == {"rg", "zone", "link", "later"}
    assert ("zone", "link") in edges
    assert ("zone", "later") in edges and ("link", "later") not in edges
    assert not any(e[0] == "comp" or e[1] == "comp" for e in edges)  # components take no time
    se = estimate_records(records)
    assert se.estimate.path == ["rg", "zone", "link"]
    assert se.estimate.total == 3 + 35 + 45
    assert se.estimate.start["later"] == 3 + 35


def test_durations_table_has_a_source_for_every_row_and_ha_postgres_is_slower():
    assert all(d.source and d.seconds >= 0 for d in DURATIONS)
    server = "azure-native:dbforpostgresql:Server"
    ha = duration_of(server, {"highAvailability": {"mode": "ZoneRedundant"}})
    plain = duration_of(server, {"highAvailability": {"mode": "Disabled"}})
    assert ha.seconds > plain.seconds
    # Redis and PostgreSQL HA are the slowest; AKS next; role assignments and networking seconds.
    aks = duration_of("azure-native:containerservice:ManagedCluster")
    assert ha.seconds > aks.seconds > duration_of("azure-native:network:Subnet").seconds
    assert duration_of("azure-native:authorization:RoleAssignment").seconds < 60
    assert duration_of("azuread:index/application:Application").type == "azuread:"
    assert duration_of("made-up:thing:Thing") is estimate.DEFAULT


def test_prod_estimate_on_the_recorded_graph():
    se = estimate_records(stack_run("prod").records)
    est = se.estimate
    assert est.serial > est.total > 10 * 60  # at least one slow resource, and some parallelism
    # The path is connected: each step waits for the previous one.
    for before, after in zip(est.path, est.path[1:], strict=False):
        assert est.waits_for[after] == before
    assert est.finish[est.path[-1]] == est.total
    text = estimate.render(se, "prod")
    assert "Critical path:" in text and "serial sum" in text


def test_estimate_command_on_the_fixture(capsys):
    from mystira_infra.cli import main
    from tests.conftest import ROOT

    assert main(["estimate", "--stack", "demo", "--cwd", str(ROOT / "tests" / "fixtures" / "minimal")]) == 0
    out = capsys.readouterr().out
    # rg (3 s) -> vault (90 s) -> secret (3 s); the storage account (30 s) runs beside them.
    assert out.splitlines()[0].startswith("Estimated cold `pulumi up` of demo: 1m36s on the critical path")
    assert "serial sum 2m06s" in out
    path = out.split("Critical path:")[1].split("\n\n")[0]
    assert [line.split()[-1] for line in path.strip().splitlines()[1:]] == ["rg", "vault", "db-password"]
