"""The promotion gate's decisions on sample `pulumi preview --json` documents (no CLI needed)."""

from __future__ import annotations

import json

import pytest

from mystira_infra import gate
from mystira_infra.dryrun import render
from tests.conftest import stack_run

PREFIX = "urn:pulumi:prod::mystira-infra::"
PG = "azure-native:dbforpostgresql:Server"
KV = "azure-native:keyvault:Vault"
SUBNET = "azure-native:network:Subnet"
TAG = "azure-native:resources:TagAtScope"


def urn(typ: str, name: str, parent: str = "mystira:data:Postgres") -> str:
    return f"{PREFIX}{parent}${typ}::{name}"


def step(op: str, typ: str, name: str, *, protect: bool = False, states: bool = True) -> dict:
    s: dict = {"op": op, "urn": urn(typ, name)}
    if states:
        state = {"type": typ, "urn": s["urn"], "protect": protect}
        if op != "create":
            s["oldState"] = dict(state)
        if op not in ("delete", "delete-replaced"):
            s["newState"] = dict(state)
    return s


def doc(*steps: dict) -> dict:
    return {"config": {}, "steps": list(steps), "diagnostics": [], "changeSummary": {}}


def test_create_only_passes():
    d = gate.evaluate(doc(step("create", PG, "pg-server"), step("create", KV, "story-kv")))
    assert d.allowed and not d.findings and not d.overridden


def test_update_of_stateful_resource_passes():
    d = gate.evaluate(doc(step("update", PG, "pg-server", protect=True), step("same", KV, "story-kv")))
    assert d.allowed and not d.findings


def test_replace_of_postgres_server_is_refused():
    d = gate.evaluate(doc(step("replace", PG, "pg-server")))
    assert not d.allowed
    [f] = d.findings
    assert (f.type, f.why, f.ops) == (PG, "stateful", ("replace",))
    assert "pg-server" in d.report() and "REFUSED" in d.report()


def test_replacement_steps_of_one_resource_are_one_finding():
    # `pulumi preview --json --show-replacement-steps` spells a replace as three steps
    d = gate.evaluate(doc(step("create-replacement", PG, "pg-server"), step("replace", PG, "pg-server"),
                          step("delete-replaced", PG, "pg-server")))
    assert not d.allowed
    [f] = d.findings
    assert f.ops == ("create-replacement", "replace", "delete-replaced")


@pytest.mark.parametrize("op", ["create-replacement", "delete-replaced", "import-replacement"])
def test_each_replacement_step_alone_is_refused(op):
    assert not gate.evaluate(doc(step(op, PG, "pg-server"))).allowed


def test_delete_of_key_vault_is_refused():
    d = gate.evaluate(doc(step("delete", KV, "story-kv")))
    assert not d.allowed and d.findings[0].why == "stateful"


def test_delete_of_protected_resource_is_refused_whatever_its_type():
    d = gate.evaluate(doc(step("delete", SUBNET, "aks-subnet", protect=True)))
    assert not d.allowed
    assert d.findings[0].why == "protected"


def test_delete_or_replace_of_stateless_unprotected_resource_passes():
    d = gate.evaluate(doc(step("delete", TAG, "old-tags"), step("replace", SUBNET, "ingress")))
    assert d.allowed and not d.findings


def test_type_comes_from_the_urn_when_states_are_missing():
    d = gate.evaluate(doc(step("delete", KV, "story-kv", states=False)))
    assert not d.allowed and d.findings[0].type == KV


def test_unknown_op_fails_closed():
    d = gate.evaluate(doc({"op": "obliterate", "urn": urn(TAG, "x")}))
    assert not d.allowed and d.findings[0].why == "unknown op"


def test_override_with_reason_passes_and_logs_the_reason():
    d = gate.evaluate(doc(step("replace", PG, "pg-server")), allow_destructive=True,
                      reason="PG 16 -> 17 major upgrade,\n restore tested in staging")
    assert d.allowed and d.overridden
    assert d.reason == "PG 16 -> 17 major upgrade, restore tested in staging"  # one line in the log
    assert "ALLOWED (override)" in d.report() and d.reason in d.report()


def test_override_without_reason_is_refused():
    d = gate.evaluate(doc(step("delete", KV, "story-kv")), allow_destructive=True, reason="   ")
    assert not d.allowed and "reason" in d.report()


def test_a_document_without_steps_is_not_judged():
    with pytest.raises(gate.GateInputError):
        gate.evaluate({"changeSummary": {"delete": 3}})


def test_stateful_list_names_the_data_services():
    for typ in (PG, KV, "azure-native:redisenterprise:RedisEnterprise", "azure-native:servicebus:Namespace",
                "azure-native:storage:StorageAccount", "azure-native:resources:ResourceGroup"):
        assert typ in gate.STATEFUL_TYPES
    assert not gate.DESTRUCTIVE_OPS & gate.SAFE_OPS


def test_dry_run_preview_of_prod_passes_the_gate():
    # a new stack only creates: the dry run's `--json` document has the CLI's shape and passes
    d = gate.evaluate(render.preview_json(stack_run("prod", "preview")))
    assert d.allowed and not d.findings


@pytest.mark.parametrize("extra,expected", [([], 1), (["--allow-destructive", "--reason", "planned"], 0),
                                            (["--allow-destructive"], 1)])
def test_cli_exit_codes_and_step_summary(tmp_path, monkeypatch, capsys, extra, expected):
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(doc(step("delete", KV, "story-kv"))))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.delenv("GATE_OVERRIDE_REASON", raising=False)
    assert gate.main(["--preview", str(path), *extra]) == expected
    out = capsys.readouterr().out
    assert "story-kv" in out
    assert ("::warning title=Promotion gate overridden::planned" in out) == (expected == 0)
    assert "Promotion gate" in summary.read_text()


def test_cli_unreadable_preview_exits_2(tmp_path):
    bad = tmp_path / "preview.json"
    bad.write_text("Previewing update (prod)\n")  # human output instead of --json
    assert gate.main(["--preview", str(bad)]) == 2
