"""Environment diff: per logical resource, the settings that differ between two stacks."""

from __future__ import annotations

from mystira_infra.cli import main
from mystira_infra.insights.diff import (
    category,
    diff_records,
    env_tokens,
    flatten,
    ignored,
    normalise,
    render,
)
from tests.conftest import ROOT, build_stack, stack_run

FIXTURE = ROOT / "tests" / "fixtures" / "minimal"


def test_flatten_keys_named_list_items_by_name():
    flat = flatten({"sku": {"name": "B1"}, "pools": [{"name": "sys", "count": 1.0}], "ips": ["b", "a"]})
    assert flat == {"sku.name": "B1", "pools[sys].name": "sys", "pools[sys].count": 1.0, "ips": ["a", "b"]}


def test_names_ids_and_environment_tag_are_ignored():
    assert ignored("resourceGroupName") and ignored("subnet.id") and ignored("tags.Environment")
    assert ignored("properties.tenantId") and ignored("scope")
    assert not ignored("sku.name") and not ignored("tags.Critical")
    tokens = env_tokens("dev", "dev")
    assert normalise("mys-dev-core-rg-san", tokens) == "mys-{env}-core-rg-san"
    assert normalise("https://admin.dev.mystira.app", tokens) == "https://admin.{env}.mystira.app"
    assert normalise("Standard_D2ds_v5", tokens) == "Standard_D2ds_v5"  # 'ds' is not a token


def test_categories():
    assert category("sku.name") == "sku"
    assert category("highAvailability.mode") == "ha"
    assert category("backup.backupRetentionDays") == "retention"
    assert category("agentPoolProfiles[system].count") == "count"
    assert category("storage.storageSizeGB") == "size"
    assert category("publicNetworkAccess") == "network"


def test_two_small_stacks_differ_only_in_their_sku():
    a, b = build_stack("demo", directory=FIXTURE), build_stack("demoprod", directory=FIXTURE)
    assert a.ok and b.ok
    d = diff_records(
        a.records,
        b.records,
        a_name="demo",
        b_name="demoprod",
        a_tokens=env_tokens("demo", "dev", project="minimal-demo"),
        b_tokens=env_tokens("demoprod", "prod", project="minimal-demo"),
    )
    assert [(c.name, c.path, c.a, c.b, c.category) for c in d.changes] == [
        ("data", "sku.name", "Standard_LRS", "Standard_ZRS", "sku")
    ]
    assert d.matched == 4 and not d.only_a and not d.only_b


def test_a_resource_only_in_one_stack_is_listed():
    a = build_stack("demo", directory=FIXTURE)
    d = diff_records(a.records, [r for r in a.records if r.name != "vault"], a_name="x", b_name="y")
    assert d.only_a == [("azure-native:keyvault:Vault", "vault")] and not d.changes


def test_dev_vs_prod_shows_what_a_reviewer_must_read():
    dev, prod = stack_run("dev", "update"), stack_run("prod", "update")
    d = diff_records(
        dev.records,
        prod.records,
        a_name="dev",
        b_name="prod",
        a_tokens=env_tokens("dev", "dev"),
        b_tokens=env_tokens("prod", "prod"),
    )
    changes = {(c.name, c.path): (c.a, c.b) for c in d.changes}
    assert changes[("core-vnet", "addressSpace.addressPrefixes")] == (["10.0.0.0/16"], ["10.2.0.0/16"])
    assert changes[("aks-cluster", "sku.tier")] == ("Free", "Standard")
    # Physical names differ in every resource but are not reported.
    assert not any(c.path.endswith("Name") for c in d.changes)
    assert not any(c.path == "tags.Environment" for c in d.changes)
    # Locks exist only in prod.
    assert any(t == "azure-native:authorization:ManagementLockByScope" for t, _ in d.only_b)
    text = render(d)
    assert text.splitlines()[0].startswith("Environment diff dev -> prod")
    assert "(" in text and "resources)" in text  # tags.Critical on every prod resource is folded


def test_diff_command(capsys):
    assert main(["diff", "--stack", "demo", "--stack", "demoprod", "--cwd", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert "sku.name" in out and "Standard_ZRS" in out
    assert main(["diff", "--stack", "demo", "--cwd", str(FIXTURE)]) == 1
    assert "exactly two stacks" in capsys.readouterr().err
