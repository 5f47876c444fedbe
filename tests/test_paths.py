"""`mystira-infra paths`: the path proof over a plan (issue 13 item 5).

Complete synthetic plans (`tests/fixtures/paths/complete-*.json`, written by `generate.py` in the
dry run's `--json` shape) must pass; removing any one hop must fail naming that hop; the committed
stacks fail today, naming exactly the hops issue 13 is adding.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mystira_infra import cli
from mystira_infra.cli import main
from mystira_infra.dryrun import render
from mystira_infra.insights import paths
from tests.conftest import ENV_STACKS, stack_run

FIXTURES = Path(__file__).parent / "fixtures" / "paths"
MODES = ("update", "preview")


def _doc(mode: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"complete-{mode}.json").read_text(encoding="utf-8"))


def _broken(report: paths.Report) -> dict[tuple[str, str], list[str]]:
    """(workload, path kind) -> every broken hop's step, in order."""
    out: dict[tuple[str, str], list[str]] = {}
    for p in report.paths:
        steps = [h.step for h in p.hops if h.status == paths.BROKEN]
        if steps:
            out[(p.workload, p.kind)] = steps
    return out


def _first_broken(report: paths.Report) -> set[tuple[str, str, str]]:
    return {(p.workload, p.kind, h.step) for p in report.paths if (h := p.first_broken())}


def _without(doc: dict[str, Any], *names: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    before = len(doc["steps"])
    doc["steps"] = [s for s in doc["steps"] if s["urn"].split("::")[-1] not in names]
    assert len(doc["steps"]) == before - len(names), f"fixture lacks one of {names}"
    return doc


def _state(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s["newState"] for s in doc["steps"] if s["urn"].split("::")[-1] == name)


# ---- today's committed stacks -----------------------------------------------------------------

# EXPECTED BROKEN TODAY. Issue 13 items 1-4 are being built (registry private endpoint, app-routing
# ingress, Front Door with WAF and DNS records, the grant Job). When they land, these hops hold:
# empty this set (and the request-path list below) so the test asserts that every path holds.
TODAY_FIRST_BROKEN = {
    ("story-generator", "request", "hostname -> DNS record"),
    ("story-generator", "image", "private endpoint"),
    ("story-generator", "postgres/authorization", "database grant"),
}
TODAY_REQUEST_BROKEN = [
    "hostname -> DNS record",  # no Ingress, so no host, DNS record, Front Door route or origin
    "ingress controller",  # the app-routing add-on is off
    "Ingress -> Service",
    "NetworkPolicy ingress from the controller",  # the netpol admits its own namespace only
]


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_committed_stacks_fail_naming_the_hops_issue_13_adds(stack):
    report = paths.check(paths.Plan(render.preview_json(stack_run(stack))))
    assert not report.ok
    assert _first_broken(report) == TODAY_FIRST_BROKEN
    assert _broken(report)[("story-generator", "request")] == TODAY_REQUEST_BROKEN
    # What already holds keeps holding: vault, Redis, OpenAI, the identity, PostgreSQL's network.
    kinds = {p.kind for p in report.paths if p.workload == "story-generator"}
    assert {
        "identity",
        "keyvault/network",
        "keyvault/authorization",
        "redis/network",
        "redis/authorization",
        "openai/network",
        "openai/authorization",
        "postgres/network",
    } <= kinds
    assert all(
        p.first_broken() is None
        for p in report.paths
        if p.kind in ("identity", "postgres/network", "redis/authorization", "openai/authorization")
    )


def test_committed_stack_in_preview_mode_proves_links_by_dependency():
    """In a preview, ids and principal ids are unknown: the links hold by propertyDependencies."""
    report = paths.check(paths.Plan(render.preview_json(stack_run("dev", "preview"))))
    assert _first_broken(report) == TODAY_FIRST_BROKEN
    vault = next(p for p in report.paths if p.kind == "keyvault/authorization")
    assert vault.hops[-1].status == paths.OK
    assert vault.hops[-1].resource.endswith("RoleAssignment::story-vault-secrets-user")


def test_cli_on_a_stack_exits_2_and_names_each_first_broken_hop(capsys, monkeypatch):
    # The command's own dry run is `_run_ok` (update mode); the session's cached run of dev is the same.
    monkeypatch.setattr(cli, "_run_ok", lambda cwd, stack: stack_run(stack))
    assert main(["paths", "--stack", "dev"]) == 2
    out = capsys.readouterr().out
    broken = [line for line in out.splitlines() if line.startswith("BROKEN ")]
    assert len(broken) == len(TODAY_FIRST_BROKEN)
    assert any(
        "private endpoint: no private endpoint to registry" in line and "fix: add a private endpoint" in line
        for line in broken
    )
    assert any("database grant: no grant Job" in line for line in broken)
    assert "urn:pulumi:dev::mystira-infra::" in out  # each hop names the resource behind it


# ---- complete plans ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_complete_plan_holds_for_every_workload(mode):
    report = paths.check(paths.Plan(_doc(mode)))
    assert report.ok, paths.render(report)
    by_workload: dict[str, set[str]] = {}
    for p in report.paths:
        by_workload.setdefault(p.workload, set()).add(p.kind)
        assert p.hops, p.title
        for h in p.hops:
            # At preview the grant SQL interpolates principal ids, so it is unknown as a whole: the
            # Job is linked to the identity by dependency, the database name shows only at apply.
            expected = paths.UNKNOWN if mode == "preview" and h.step == "database grant" else paths.OK
            assert h.status == expected, (p.title, h)
    assert by_workload["story-generator"] == {
        "request",
        "image",
        "identity",
        "keyvault/network",
        "keyvault/authorization",
        "postgres/network",
        "postgres/authorization",
        "redis/network",
        "redis/authorization",
        "openai/network",
        "openai/authorization",
    }
    assert "servicebus/authorization" in by_workload["publisher"]
    assert "request" not in by_workload["publisher"]  # not behind the edge, and no Ingress routes to it
    assert "request" in by_workload["admin-api"]
    assert by_workload["chain"] == {
        "image",
        "identity",
        "keyvault/network",
        "keyvault/authorization",
    }  # a StatefulSet
    assert by_workload["Job postgres-grant-1a2b3c"] == {"image"}


def test_complete_request_path_names_each_resource_in_order():
    report = paths.check(paths.Plan(_doc("update")))
    request = next(p for p in report.paths if p.workload == "story-generator" and p.kind == "request")
    assert [h.step for h in request.hops] == [
        "hostname -> DNS record",
        "custom domain",
        "domain validation",
        "route",
        "origin group",
        "origin -> ingress",
        "WAF",
        "ingress controller",
        "Ingress -> Service",
        "Service -> pods",
        "NetworkPolicy ingress from the controller",
    ]
    assert request.hops[0].resource.endswith("dns:RecordSet::edge-cname-story")
    assert request.hops[1].resource.endswith("AFDCustomDomain::edge-domain-story")
    assert request.hops[3].resource.endswith("Route::edge-route-story")
    assert request.hops[5].resource.endswith("AFDOrigin::edge-origin-story")
    assert "internal load balancer" in request.hops[7].detail
    assert "story-api.dev.mystira.app -> story-generator:80 (TLS)" in request.hops[8].detail


def test_fixtures_are_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("paths_fixture_generator", FIXTURES / "generate.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    update = json.loads(json.dumps(gen.build()))
    assert update == _doc("update"), "rerun: .venv/bin/python tests/fixtures/paths/generate.py"
    assert json.loads(json.dumps(gen.as_preview(gen.build()))) == _doc("preview")


# ---- each kind of hop removed -----------------------------------------------------------------

REMOVALS: list[tuple[tuple[str, ...], str, str, str]] = [
    # (resources removed, workload, path kind, the hop that must be named first)
    (("edge-cname-story",), "story-generator", "request", "hostname -> DNS record"),
    (("edge-domain-story",), "story-generator", "request", "custom domain"),
    (("edge-dnsauth-story",), "story-generator", "request", "domain validation"),
    (("edge-route-story",), "story-generator", "request", "route"),
    (("edge-origins-story",), "story-generator", "request", "origin group"),
    (("edge-origin-story",), "story-generator", "request", "origin -> ingress"),
    (("edge-waf-link",), "story-generator", "request", "WAF"),
    (("ingress-controller",), "story-generator", "request", "origin -> ingress"),  # and "ingress controller"
    (("story-generator-ingress",), "story-generator", "request", "hostname -> DNS record"),
    (("admin-api-service",), "admin-api", "request", "hostname -> DNS record"),  # and "Service -> pods"
    (("registry-pe",), "story-generator", "image", "private endpoint"),
    (("registry-pe-dns",), "chain", "image", "zone group"),
    (("core-registry-dns-link",), "publisher", "image", "zone linked to VNet"),
    (("aks-kubelet-acr-pull",), "story-generator", "image", "kubelet may pull"),
    (("story-federation",), "story-generator", "identity", "federated credential"),
    (("story-vault-pe",), "story-generator", "keyvault/network", "private endpoint"),
    (("story-vault-pe-dns",), "story-generator", "keyvault/network", "zone group"),
    (("core-keyvault-dns-link",), "chain", "keyvault/network", "zone linked to VNet"),
    (("story-vault-secrets-user",), "story-generator", "keyvault/authorization", "role assignment"),
    (("core-postgres-dns-link",), "admin-api", "postgres/network", "zone linked to VNet"),
    (("postgres-grant",), "story-generator", "postgres/authorization", "database grant"),
    (("postgres-admin-grant",), "admin-api", "postgres/authorization", "grant Job is an Entra admin"),
    (("redis-pe",), "story-generator", "redis/network", "private endpoint"),
    (("redis-access-admin",), "admin-api", "redis/authorization", "access policy assignment"),
    (("openai-pe",), "story-generator", "openai/network", "private endpoint"),
    (("openai-story-user",), "story-generator", "openai/authorization", "role assignment"),
    (("servicebus-pe",), "publisher", "servicebus/network", "private endpoint"),
    (
        ("servicebus-publisher-sender", "servicebus-publisher-receiver"),
        "publisher",
        "servicebus/authorization",
        "role assignment",
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("names", "workload", "kind", "step"), REMOVALS, ids=[r[0][0] for r in REMOVALS])
def test_removing_a_hop_names_it(mode, names, workload, kind, step):
    report = paths.check(paths.Plan(_without(_doc(mode), *names)))
    assert not report.ok
    assert (workload, kind, step) in _first_broken(report), paths.render(report)
    # Nothing else breaks but what depended on the removed resource.
    assert all(k[1] == kind or k[1] == "request" for k in _broken(report)), _broken(report)


def test_removing_the_controller_also_names_the_controller_hop():
    report = paths.check(paths.Plan(_without(_doc("update"), "ingress-controller")))
    assert "ingress controller" in _broken(report)[("story-generator", "request")]


Mutation = Callable[[dict[str, Any]], None]


def _drop_routing_peer(doc: dict[str, Any]) -> None:
    rule = _state(doc, "story-generator-netpol")["inputs"]["spec"]["ingress"][0]
    rule["from"] = [{"podSelector": {}}]


def _drop_postgres_egress(doc: dict[str, Any]) -> None:
    rule = _state(doc, "story-generator-netpol")["inputs"]["spec"]["egress"][0]
    rule["ports"] = [p for p in rule["ports"] if p["port"] != 5432.0]


def _egress_to_other_subnet(doc: dict[str, Any]) -> None:
    rule = _state(doc, "publisher-netpol")["inputs"]["spec"]["egress"][0]
    rule["to"] = [{"ipBlock": {"cidr": "10.0.4.0/24"}}]  # the PostgreSQL subnet, not the endpoints'


def _wrong_client_id(doc: dict[str, Any]) -> None:
    _state(doc, "env-sa-story-generator")["inputs"]["metadata"]["annotations"][
        "azure.workload.identity/client-id"
    ] = "not-an-identity"


def _no_identity_label(doc: dict[str, Any]) -> None:
    labels = _state(doc, "chain-workload")["inputs"]["spec"]["template"]["metadata"]["labels"]
    del labels["azure.workload.identity/use"]


def _cname_elsewhere(doc: dict[str, Any]) -> None:
    _state(doc, "edge-cname-admin")["inputs"]["cnameRecord"]["cname"] = "somewhere.example.net"


def _image_from_docker_hub(doc: dict[str, Any]) -> None:
    containers = _state(doc, "publisher-workload")["inputs"]["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = "docker.io/library/node:22"


def _routing_addon_off(doc: dict[str, Any]) -> None:
    _state(doc, "aks-cluster")["inputs"]["ingressProfile"]["webAppRouting"]["enabled"] = False


def _zone_group_on_wrong_zone(doc: dict[str, Any]) -> None:
    cfg = _state(doc, "redis-pe-dns")["inputs"]["privateDnsZoneConfigs"][0]
    cfg["privateDnsZoneId"] = cfg["privateDnsZoneId"].replace(
        "privatelink.redis.azure.net", "privatelink.other.net"
    )


def _wrong_host_header(doc: dict[str, Any]) -> None:
    _state(doc, "edge-origin-story")["inputs"]["originHostHeader"] = "mys-dev-edge-abc123.z01.azurefd.net"


def _route_on_other_endpoint(doc: dict[str, Any]) -> None:
    _state(doc, "edge-route-admin")["inputs"]["endpointName"] = "mys-dev-other"


MUTATIONS: list[tuple[Mutation, str, str, str]] = [
    (_route_on_other_endpoint, "admin-api", "request", "route"),
    (_wrong_host_header, "story-generator", "request", "origin -> ingress"),
    (_drop_routing_peer, "story-generator", "request", "NetworkPolicy ingress from the controller"),
    (_drop_postgres_egress, "story-generator", "postgres/network", "NetworkPolicy egress :5432"),
    (_egress_to_other_subnet, "publisher", "servicebus/network", "NetworkPolicy egress :5671/443"),
    (_wrong_client_id, "story-generator", "identity", "service account -> managed identity"),
    (_no_identity_label, "chain", "identity", "workload identity label"),
    (_cname_elsewhere, "admin-api", "request", "hostname -> DNS record"),
    (_image_from_docker_hub, "publisher", "image", "image -> registry"),
    (_routing_addon_off, "admin-api", "request", "ingress controller"),
    (_zone_group_on_wrong_zone, "admin-api", "redis/network", "zone group"),
]


@pytest.mark.parametrize(
    ("mutate", "workload", "kind", "step"), MUTATIONS, ids=[m[0].__name__ for m in MUTATIONS]
)
def test_a_wrong_setting_names_the_hop(mutate, workload, kind, step):
    doc = _doc("update")
    mutate(doc)
    assert (workload, kind, step) in _first_broken(paths.check(paths.Plan(doc)))


def test_a_wrong_identity_breaks_its_authorization_paths_too():
    doc = _doc("update")
    _wrong_client_id(doc)
    broken = _broken(paths.check(paths.Plan(doc)))
    assert broken[("story-generator", "keyvault/authorization")] == ["identity"]
    assert ("admin-api", "keyvault/authorization") not in broken


# ---- unknown values ---------------------------------------------------------------------------


def test_a_value_unknown_at_preview_with_no_link_is_unknown_until_apply_not_broken(tmp_path, capsys):
    doc = _doc("preview")
    cname = _state(doc, "edge-cname-story")
    assert cname["inputs"]["cnameRecord"]["cname"] == paths.UNKNOWN_SENTINEL
    cname["propertyDependencies"] = {}
    cname["dependencies"] = []
    report = paths.check(paths.Plan(doc))
    request = next(p for p in report.paths if p.workload == "story-generator" and p.kind == "request")
    assert request.hops[0].status == paths.UNKNOWN
    assert report.ok
    plan = tmp_path / "preview.json"
    plan.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["paths", "--plan", str(plan)]) == 0
    assert "[??] hostname -> DNS record" in capsys.readouterr().out


def test_a_known_value_that_names_nothing_is_broken_even_in_preview():
    doc = _doc("preview")
    sa = _state(doc, "env-sa-admin-api")
    sa["inputs"]["metadata"]["annotations"]["azure.workload.identity/client-id"] = (
        "00000000-dead-beef-0000-000000000000"
    )
    assert ("admin-api", "identity", "service account -> managed identity") in _first_broken(
        paths.check(paths.Plan(doc))
    )


# ---- the command ------------------------------------------------------------------------------


def test_cli_on_a_plan_file(tmp_path, capsys):
    assert main(["paths", "--plan", str(FIXTURES / "complete-preview.json")]) == 0
    assert "every hop holds" in capsys.readouterr().out
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(_without(_doc("update"), "registry-pe")), encoding="utf-8")
    assert main(["paths", "--plan", str(broken)]) == 2
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("BROKEN ")]
    assert len(lines) == 5  # every workload's and the grant Job's image path
    assert all(
        "| private endpoint: no private endpoint to registry mysshrcr (group registry)" in x for x in lines
    )


def test_cli_mermaid_draws_the_request_path(capsys):
    assert (
        main(
            [
                "paths",
                "--plan",
                str(FIXTURES / "complete-update.json"),
                "--format",
                "mermaid",
                "--workload",
                "story-generator",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("flowchart LR")
    assert "CNAME story-api.dev.mystira.app" in out
    assert "admin-api" not in out
    assert "style " not in out  # nothing broken, nothing red


def test_cli_bad_input(tmp_path, capsys):
    assert main(["paths"]) == 1
    assert "give one of --stack STACK or --plan FILE" in capsys.readouterr().err
    assert main(["paths", "--plan", str(tmp_path / "missing.json")]) == 1
    assert "can't read plan" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["paths", "--plan", str(bad)]) == 1
    assert "can't read plan" in capsys.readouterr().err


def test_diagram_doc_is_generated_from_the_dev_plan():
    doc = (Path(__file__).parent.parent / "docs" / "request-path-diagram.md").read_text(encoding="utf-8")
    report = paths.check(paths.Plan(render.preview_json(stack_run("dev"))))
    assert paths.mermaid(report, "story-generator") in doc, (
        "regenerate: .venv/bin/mystira-infra paths --stack dev --format mermaid --workload story-generator"
    )
    complete = paths.check(paths.Plan(_doc("update")))
    assert paths.mermaid(complete, "story-generator") in doc


def test_a_real_preview_of_an_existing_stack_reads_replacements_and_deletes_once():
    """A real preview lists `same`/`update` steps, a replacement as several steps of one URN, and
    deletes: what is deleted is not part of the plan, and a resource counts once."""
    doc = _doc("update")
    for step in doc["steps"]:
        step["op"] = "same"
    route = next(s for s in doc["steps"] if s["urn"].endswith("::edge-route-story"))
    doc["steps"] += [
        {**copy.deepcopy(route), "op": "create-replacement"},
        {**copy.deepcopy(route), "op": "replace"},
    ]
    assert paths.check(paths.Plan(doc)).ok
    doc["steps"].remove(route)
    doc["steps"] = [s for s in doc["steps"] if s["urn"] != route["urn"]] + [{**route, "op": "delete"}]
    assert ("story-generator", "request", "route") in _first_broken(paths.check(paths.Plan(doc)))


def test_a_public_service_is_reached_through_the_cluster_outbound_only_if_it_has_one():
    """Dev's Service Bus is Standard (no private endpoints): public, through the cluster's outbound."""
    doc = _without(_doc("update"), "servicebus-pe", "servicebus-pe-dns")
    for side in ("inputs", "outputs"):
        _state(doc, "servicebus-ns")[side]["publicNetworkAccess"] = "Enabled"
    network = next(p for p in paths.check(paths.Plan(doc)).paths if p.kind == "servicebus/network")
    assert [(h.step, h.status) for h in network.hops] == [
        ("-> Service Bus", paths.OK),
        ("public endpoint", paths.OK),
        ("NetworkPolicy egress :5671/443", paths.OK),
    ]
    firewalled = copy.deepcopy(doc)
    _state(firewalled, "servicebus-ns")["outputs"]["networkAcls"] = {"defaultAction": "Deny"}
    report = paths.check(paths.Plan(firewalled))
    hop = next(p for p in report.paths if p.kind == "servicebus/network").hops[1]
    assert (hop.status, report.ok) == (paths.UNKNOWN, True)  # the cluster's egress IP is known at apply
    _state(doc, "aks-cluster")["inputs"]["networkProfile"] = {"outboundType": "none"}
    assert ("publisher", "servicebus/network", "public endpoint") in _first_broken(
        paths.check(paths.Plan(doc))
    )
    _state(doc, "publisher-netpol")["inputs"]["spec"]["egress"][0]["to"] = [
        {"ipBlock": {"cidr": "10.0.0.0/8"}}
    ]
    del _state(doc, "aks-cluster")["inputs"]["networkProfile"]
    # A private range doesn't cover a public endpoint.
    assert ("publisher", "servicebus/network", "NetworkPolicy egress :5671/443") in _first_broken(
        paths.check(paths.Plan(doc))
    )


@pytest.mark.parametrize(
    ("origin_ip", "lb_ip", "holds"), [("20.1.2.3", "20.1.2.3", True), ("20.1.2.3", "20.9.9.9", False)]
)
def test_a_standard_origin_must_be_the_controllers_public_load_balancer(origin_ip, lb_ip, holds):
    """Front Door Standard has no Private Link: the origin is the controller's public IP."""
    doc = _doc("update")
    origin = _state(doc, "edge-origin-story")
    for side in ("inputs", "outputs"):
        del origin[side]["sharedPrivateLinkResource"]
        origin[side]["hostName"] = origin_ip
    annotations = _state(doc, "ingress-controller")["inputs"]["spec"]["loadBalancerAnnotations"]
    annotations.clear()
    annotations["service.beta.kubernetes.io/azure-load-balancer-ipv4"] = lb_ip
    request = next(
        p
        for p in paths.check(paths.Plan(doc)).paths
        if p.workload == "story-generator" and p.kind == "request"
    )
    hop = next(h for h in request.hops if h.step == "origin -> ingress")
    assert (hop.status == paths.OK) is holds, hop
    assert next(h for h in request.hops if h.step == "ingress controller").detail.endswith(
        "public load balancer"
    )
