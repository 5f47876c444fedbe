"""scripts/bootstrap.py: argument parsing, the exact dry-run commands, and the run order (with a
fake runner: tests never run pulumi or az)."""

from __future__ import annotations

import io
import re
import subprocess

import pytest
import yaml

from scripts import bootstrap
from tests.conftest import ROOT

SUB = "00000000-0000-4000-8000-000000000001"
NAMES = bootstrap.Names(
    storage_account="mysshrstatestsanabcd",
    vault="mysshrplatformkvsanabcd",
    state_resource_group="mys-shared-state-rg-san",
    environments=("dev", "staging", "prod"),
)


def dry_run(*extra: str) -> list[str]:
    out = io.StringIO()
    assert (
        bootstrap.main(
            ["--subscription-id", SUB, "--dry-run", "--local-state", "/tmp/mys-boot", *extra],
            names=NAMES,
            runner=_never,
            out=out,
        )
        == 0
    )
    return out.getvalue().splitlines()


def _never(*args, **kwargs):
    raise AssertionError("a dry run must not run anything")


def commands(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith("#")]


def test_default_names_come_from_the_shared_stack_settings():
    names = bootstrap.shared_names(ROOT)
    provider = yaml.safe_load((ROOT / "Pulumi.shared.yaml").read_text())["secretsprovider"]
    assert provider == bootstrap.secrets_provider(names.vault)
    assert re.fullmatch(r"mysshrstatestsan[a-z0-9]{4}", names.storage_account)
    assert names.state_resource_group == "mys-shared-state-rg-san"
    assert names.environments == ("dev", "staging", "prod")


def test_dry_run_prints_the_exact_commands_in_order():
    cmds = commands(dry_run())
    provider = "azurekeyvault://mysshrplatformkvsanabcd.vault.azure.net/keys/pulumi-secrets"
    kv = "AZURE_KEYVAULT_AUTH_VIA_CLI=true "
    pp = "PULUMI_CONFIG_PASSPHRASE=<from your environment> "
    rg = f"/subscriptions/{SUB}/resourceGroups/mys-shared-state-rg-san/providers"
    me = "$(az ad signed-in-user show --query id -o tsv)"
    assert cmds == [
        f"az account set --subscription {SUB}",
        "pulumi login file:///tmp/mys-boot",
        pp + "pulumi stack init shared --secrets-provider passphrase",
        pp + "pulumi up --stack shared",
        f"az role assignment create --assignee-object-id {me} --assignee-principal-type User "
        f"--role 'Storage Blob Data Contributor' --scope {rg}/Microsoft.Storage/storageAccounts/"
        "mysshrstatestsanabcd"
        "/blobServices/default/containers/state",
        f"az role assignment create --assignee-object-id {me} --assignee-principal-type User "
        f"--role 'Key Vault Crypto User' --scope {rg}/Microsoft.KeyVault/vaults/mysshrplatformkvsanabcd"
        "/keys/pulumi-secrets",
        pp + kv + f"pulumi stack change-secrets-provider --stack shared {provider}",
        kv + "pulumi stack export --stack shared --file /tmp/mys-boot/shared.checkpoint.json",
        "pulumi login 'azblob://state?storage_account=mysshrstatestsanabcd'",
        kv + f"pulumi stack init shared --secrets-provider {provider}",
        kv + "pulumi stack import --stack shared --file /tmp/mys-boot/shared.checkpoint.json",
        kv + "pulumi preview --stack shared --expect-no-changes",
        kv + f"pulumi stack init dev --secrets-provider {provider}",
        kv + f"pulumi stack init staging --secrets-provider {provider}",
        kv + f"pulumi stack init prod --secrets-provider {provider}",
    ]


def test_dry_run_never_prints_a_passphrase(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "s3cr3t-passphrase")
    assert not [line for line in dry_run() if "s3cr3t" in line]


def test_options_change_the_commands():
    cmds = commands(
        dry_run(
            "--yes",
            "--environments",
            "prod",
            "--storage-account",
            "otherstate",
            "--operator-object-id",
            "11111111-1111-4111-8111-111111111111",
            "--operator-type",
            "ServicePrincipal",
        )
    )
    assert "PULUMI_CONFIG_PASSPHRASE=<from your environment> pulumi up --stack shared --yes" in cmds
    assert "pulumi login 'azblob://state?storage_account=otherstate'" in cmds
    assert [c for c in cmds if "stack init" in c and "shared" not in c] == [
        "AZURE_KEYVAULT_AUTH_VIA_CLI=true pulumi stack init prod --secrets-provider "
        "azurekeyvault://mysshrplatformkvsanabcd.vault.azure.net/keys/pulumi-secrets"
    ]
    grants = [c for c in cmds if c.startswith("az role assignment")]
    assert (
        all(
            "--assignee-object-id 11111111-1111-4111-8111-111111111111 "
            "--assignee-principal-type ServicePrincipal" in g
            for g in grants
        )
        and len(grants) == 2
    )


def test_from_step_skips_earlier_steps():
    lines = dry_run("--from-step", "9")
    assert [line for line in lines if re.match(r"# \d+\.", line)][0].startswith("# 9. ")
    assert commands(lines)[0] == "pulumi login 'azblob://state?storage_account=mysshrstatestsanabcd'"


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "--subscription-id"),
        (["--subscription-id", "not-a-guid"], "expected a GUID"),
        (["--subscription-id", SUB, "--storage-account", "Bad_Name"], "--storage-account"),
        (["--subscription-id", SUB, "--vault", "x"], "--vault"),
        (["--subscription-id", SUB, "--environments", "qa"], "unknown environment 'qa'"),
        (["--subscription-id", SUB, "--operator-object-id", "me"], "--operator-object-id"),
    ],
)
def test_bad_arguments_are_rejected(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        bootstrap.parse_args(argv, NAMES)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


class FakeRunner:
    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list = []
        self.fail_at = fail_at

    def __call__(self, cmd, **kwargs):
        self.calls.append((cmd, kwargs))
        code = 1 if self.fail_at is not None and len(self.calls) == self.fail_at else 0
        return subprocess.CompletedProcess(cmd, code)


def run_bootstrap(tmp_path, runner: FakeRunner) -> int:
    """A full run against local state, every command going to `runner`."""
    return bootstrap.main(
        ["--subscription-id", SUB, "--local-state", str(tmp_path)],
        names=NAMES,
        runner=runner,
        out=io.StringIO(),
    )


def test_run_requires_a_passphrase_before_running_anything(monkeypatch, tmp_path):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    runner = FakeRunner()
    code = run_bootstrap(tmp_path, runner)
    assert code == 2 and runner.calls == []


def test_run_executes_every_step_in_order_and_keeps_the_passphrase_out_of_argv(monkeypatch, tmp_path):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "pp-s3cret")
    runner = FakeRunner()
    assert run_bootstrap(tmp_path, runner) == 0
    assert len(runner.calls) == 15
    first, kwargs = runner.calls[0]
    assert first == ["az", "account", "set", "--subscription", SUB]
    assert runner.calls[3][0] == ["pulumi", "up", "--stack", "shared"]
    assert (
        runner.calls[3][1]["env"]["PULUMI_CONFIG_PASSPHRASE"] == "pp-s3cret"
    )  # from the environment, not a placeholder
    assert runner.calls[4][1].get("shell") is True  # $(az ad signed-in-user ...) needs the shell
    # Neither an argv element nor a shell command line (visible in `ps`) carries the passphrase.
    command_lines = [cmd if isinstance(cmd, str) else " ".join(cmd) for cmd, _ in runner.calls]
    assert not any("pp-s3cret" in line for line in command_lines)


def test_run_stops_at_the_first_failure_and_says_how_to_resume(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "pp")
    runner = FakeRunner(fail_at=4)
    assert run_bootstrap(tmp_path, runner) == 1
    assert len(runner.calls) == 4
    assert "--from-step 4" in capsys.readouterr().err
