"""The dry run as a user runs it: `mystira-infra preview`, its tree, its JSON, its exit codes,
`--cwd` on another program, secrets kept secret, preview vs update, and no network."""

from __future__ import annotations

import json
import socket

import pytest

from mystira_infra.cli import main
from mystira_infra.dryrun import render
from mystira_infra.dryrun.mocks import UNKNOWN
from mystira_infra.dryrun.project import SECRET_PLACEHOLDER
from tests.conftest import ALL_STACKS, ENV_STACKS, ROOT, build_stack, stack_run

FIXTURE = str(ROOT / "tests" / "fixtures" / "minimal")
NETWORK_TYPES = (
    "azure-native:resources:ResourceGroup",
    "azure-native:network:VirtualNetwork",
    "azure-native:network:Subnet",
    "azure-native:network:NetworkSecurityGroup",
    "azure-native:privatedns:PrivateZone",
)


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_tree_lists_groups_and_network(stack):
    text = render.tree(stack_run(stack, "preview"))
    assert text.startswith(f"Previewing update ({stack})")
    assert "pulumi:pulumi:Stack" in text and "Resources by type:" in text
    wanted = NETWORK_TYPES if stack in ENV_STACKS else NETWORK_TYPES[:1]
    for type_ in wanted:
        assert f"─ {type_}" in text, f"{stack}: {type_} missing from the tree"
    # Children are indented under their parent: the VNet sits under the CoreNetwork component.
    if stack in ENV_STACKS:
        lines = text.splitlines()
        comp = next(i for i, line in enumerate(lines) if "mystira:network:CoreNetwork" in line)
        vnet = next(i for i, line in enumerate(lines) if "azure-native:network:VirtualNetwork" in line)
        assert vnet > comp and lines[vnet].index("azure-native") > lines[comp].index("mystira:")


def test_cli_preview_exits_0_and_prints_the_tree(capsys):
    assert main(["preview", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "azure-native:network:VirtualNetwork" in out and "to create" in out


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_json_shape_like_pulumi_preview_json(stack):
    result = stack_run(stack, "preview")
    doc = json.loads(json.dumps(render.preview_json(result)))
    assert doc["changeSummary"] == {"create": len(result.records)}
    assert len(doc["steps"]) == len(result.records) and isinstance(doc["diagnostics"], list)
    for step in doc["steps"]:
        assert step["op"] == "create" and step["urn"].startswith(f"urn:pulumi:{stack}::")
        state = step["newState"]
        assert state["type"] and isinstance(state["inputs"], dict) and "parent" in state
        assert "dependencies" in state and "protect" in state
        if state["type"] != "pulumi:pulumi:Stack":
            assert state["parent"].startswith("urn:pulumi:")


def test_cli_json_on_a_program_given_by_cwd(capsys):
    assert main(["preview", "--stack", "demo", "--cwd", FIXTURE, "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    types = [s["newState"]["type"] for s in doc["steps"]]
    assert types.count("azure-native:storage:StorageAccount") == 1
    assert "azure-native:resources:ResourceGroup" in types
    # Secrets: the secure config value and the secret input show as [secret]; never the placeholder.
    assert doc["config"]["minimal-demo:dbPassword"] == "[secret]"
    secret = next(s for s in doc["steps"] if s["newState"]["type"] == "azure-native:keyvault:Secret")
    props = secret["newState"]["inputs"]["properties"]
    assert props == "[secret]" or props["value"] == "[secret]"  # the SDK may mark the whole object
    assert SECRET_PLACEHOLDER not in out


def test_tree_never_prints_a_secret(capsys):
    assert main(["preview", "--stack", "demo", "--cwd", FIXTURE, "--mode", "update"]) == 0
    assert SECRET_PLACEHOLDER not in capsys.readouterr().out


def test_program_error_exits_1(capsys):
    assert main(["preview", "--stack", "broken", "--cwd", FIXTURE]) == 1
    err = capsys.readouterr().err
    assert "the fixture program was asked to fail" in err


def test_missing_stack_file_exits_1(capsys):
    assert main(["preview", "--stack", "nosuch", "--cwd", FIXTURE]) == 1
    err = capsys.readouterr().err
    assert "Pulumi.nosuch.yaml: no such stack file" in err and "demo" in err


def test_not_a_project_directory_exits_1(tmp_path, capsys):
    assert main(["preview", "--stack", "dev", "--cwd", str(tmp_path)]) == 1
    assert "no Pulumi.yaml" in capsys.readouterr().err


def test_unknown_invoke_fails_loudly(capsys):
    assert main(["preview", "--stack", "badinvoke", "--cwd", FIXTURE]) == 1
    assert "no answer for invoke 'azure-native:storage:listStorageAccountKeys'" in capsys.readouterr().err


def test_preview_leaves_ids_unknown_update_fills_arm_ids():
    preview = build_stack("demo", "preview", directory=ROOT / "tests" / "fixtures" / "minimal")
    update = build_stack("demo", "update", directory=ROOT / "tests" / "fixtures" / "minimal")
    vault_p = preview.one("azure-native:keyvault:Vault")
    vault_u = update.one("azure-native:keyvault:Vault")
    assert vault_p.id == "" and vault_p.outputs.get("id", UNKNOWN) in ("", UNKNOWN, None)
    assert vault_u.id == (
        "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/demo-dev-rg"
        "/providers/Microsoft.KeyVault/vaults/demo-dev-kv"
    )
    # The secret's vault name is known in both modes (names are inputs), its dependency recorded.
    secret = update.one("azure-native:keyvault:Secret")
    assert secret.inputs["vaultName"] == "demo-dev-kv" and vault_u.urn in secret.dependencies
    # The stack's outputs follow the mode too.
    assert preview.outputs["storageAccount"] == update.outputs["storageAccount"] == "demodevdata"


def test_dry_run_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"the dry run tried to open a connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    fixture = build_stack("demo", "update", directory=ROOT / "tests" / "fixtures" / "minimal")
    assert fixture.ok, fixture.error
    dev = build_stack("dev", "preview")  # a fresh run of the real program, shared reference included
    assert dev.ok, dev.error
    assert len(dev.records) == len(stack_run("dev", "preview").records)
