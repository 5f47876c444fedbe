"""Typed settings: each bad input fails before any resource is registered, with one message that
names the file, the key and the reason; the CLI exits 1 without a traceback."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml

from mystira_infra import settings
from mystira_infra.dryrun.project import load_project, load_stack_config
from mystira_infra.settings import KEYS, SettingsError, parse_settings
from tests.conftest import ROOT, build_stack

PREFIX = "mystira-infra:"


def _raw(stack: str = "dev") -> dict[str, str]:
    """The strings the CLI hands the program for a committed stack file (defaults applied)."""
    config = load_stack_config(load_project(ROOT), stack)
    return {k[len(PREFIX) :]: v for k, v in config.values.items() if k.startswith(PREFIX)}


def _with(stack: str, key: str, path: str | None, value) -> dict[str, str]:
    """The raw config with `key` (an object) changed at the dotted `path`, or replaced if no path."""
    raw = _raw(stack)
    if path is None:
        raw[key] = value if isinstance(value, str) else json.dumps(value)
        return raw
    obj = json.loads(raw[key])
    *parents, last = path.split(".")
    cur = obj
    for p in parents:
        cur = cur[int(p)] if p.isdigit() else cur[p]
    if value is _DELETE:
        del cur[last]
    else:
        cur[last] = value
    raw[key] = json.dumps(obj)
    return raw


_DELETE = object()


def _error(stack: str, raw: dict[str, str], secret_keys=frozenset()) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        parse_settings(stack, raw, secret_keys)
    err = info.value
    assert str(err).startswith(f"Pulumi.{stack}.yaml: {err.key}: ")
    assert "\n" not in str(err)
    return err


def test_committed_stacks_parse():
    for stack in ("shared", "dev", "staging", "prod"):
        s = parse_settings(stack, _raw(stack))
        assert s.environment == stack and s.stack == stack


# (case id, stack, key, path, value, expected key in the message, expected words in the reason)
BAD_INPUTS = [
    ("missing-required-key", "dev", "postgres", None, "{}", "postgres", "missing required key"),
    ("missing-nested-key", "dev", "postgres", "skuName", _DELETE, "postgres.skuName", "missing required key"),
    (
        "wrong-type-int",
        "dev",
        "postgres",
        "storageSizeGb",
        "big",
        "postgres.storageSizeGb",
        "expected an integer",
    ),
    (
        "wrong-type-bool",
        "dev",
        "redis",
        "highAvailability",
        "yes",
        "redis.highAvailability",
        "expected true or false",
    ),
    ("wrong-type-top", "dev", "nameGeneration", None, "two", "nameGeneration", "expected an integer"),
    (
        "unknown-nested-typo",
        "dev",
        "aks",
        "kubernetesVerison",
        "1.33",
        "aks.kubernetesVerison",
        "did you mean 'kubernetesVersion'",
    ),
    ("bad-region", "dev", "region", None, "marsnorth", "region", "unsupported region 'marsnorth'"),
    ("bad-cidr", "dev", "network", "subnets.aks", "10.0.0.1/22", "network.subnets.aks", "not a valid CIDR"),
    (
        "bad-cidr-text",
        "dev",
        "network",
        "addressSpace",
        "ten-dot-zero",
        "network.addressSpace",
        "not a valid CIDR",
    ),
    (
        "subnet-outside-vnet",
        "dev",
        "network",
        "subnets.ingress",
        "10.9.6.0/24",
        "network.subnets.ingress",
        "outside the VNet address space 10.0.0.0/16",
    ),
    (
        "overlapping-subnets",
        "dev",
        "network",
        "subnets.ingress",
        "10.0.4.0/25",
        "network.subnets.ingress",
        "overlaps network.subnets.postgres",
    ),
    (
        "aks-pool-name-too-long",
        "dev",
        "aks",
        "pools.0.name",
        "chainworkers01",
        "aks.pools[0].name",
        "14 characters; a aks pool name must be 1 to 12",
    ),
    (
        "aks-pool-name-bad-chars",
        "dev",
        "aks",
        "pools.0.name",
        "chain-pool",
        "aks.pools[0].name",
        "lowercase letters and digits",
    ),
    (
        "negative-count",
        "dev",
        "aks",
        "systemPool.minCount",
        -1,
        "aks.systemPool.minCount",
        "must be greater than zero, got -1",
    ),
    (
        "zero-count",
        "dev",
        "serviceBus",
        "capacity",
        0,
        "serviceBus.capacity",
        "must be greater than zero, got 0",
    ),
    (
        "zero-openai-capacity",
        "dev",
        "openai",
        "deployments.0.capacity",
        0,
        "openai.deployments[0].capacity",
        "greater than zero",
    ),
    ("zero-name-generation", "dev", "nameGeneration", None, "0", "nameGeneration", "greater than zero"),
    ("unknown-environment", "dev", "environment", None, "qa", "environment", "unknown environment 'qa'"),
    (
        "environment-not-stack",
        "dev",
        "environment",
        None,
        "prod",
        "environment",
        "is 'prod' but the stack is 'dev'",
    ),
    (
        "unsupported-k8s-version",
        "prod",
        "aks",
        "kubernetesVersion",
        "1.28",
        "aks.kubernetesVersion",
        "Kubernetes 1.28 was retired on 2025-01-31",
    ),
    (
        "key-of-other-tier",
        "shared",
        "postgres",
        None,
        _raw("dev")["postgres"],
        "postgres",
        "not used by the shared stack",
    ),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_names_file_key_and_reason(case):
    _, stack, key, path, value, want_key, want_reason = case
    err = _error(stack, _with(stack, key, path, value))
    assert err.file == f"Pulumi.{stack}.yaml"
    assert err.key == want_key
    assert want_reason in err.reason


def test_unknown_top_level_key_and_a_typo_of_a_known_one():
    raw = _raw("dev")
    raw["postgress"] = raw.pop("postgres")
    err = _error("dev", raw)
    assert (err.key, err.reason) == ("postgress", "unknown key; did you mean 'postgres'?")
    raw = _raw("dev")
    raw["zzz"] = "1"
    err = _error("dev", raw)
    assert err.key == "zzz" and err.reason.startswith("unknown key; known keys: ")


def test_missing_environment():
    raw = _raw("dev")
    del raw["environment"]
    assert _error("dev", raw).reason.startswith("missing required key")


def test_secret_must_be_a_secure_value():
    raw = {**_raw("dev"), "alertWebhookUrl": "https://hooks.example/abc?token=plaintext"}
    err = _error("dev", raw, secret_keys=frozenset())
    assert err.key == "alertWebhookUrl" and "`secure:` value" in err.reason
    s = parse_settings("dev", raw, secret_keys={"alertWebhookUrl"})
    assert s.alert_webhook_url is not None  # accepted, kept out of any printout of the settings
    assert "plaintext" not in repr(s) and "[secret]" in repr(s)


def test_full_path_fails_before_any_resource_is_registered():
    result = build_stack(
        "dev",
        overrides={
            "network": {
                "addressSpace": "10.0.0.0/16",
                "subnets": {
                    "aks": "10.0.0.0/22",
                    "postgres": "10.0.4.0/24",
                    "privateEndpoints": "10.0.5.0/24",
                    "ingress": "10.7.0.0/24",
                },
            }
        },
    )
    assert result.error == (
        "Pulumi.dev.yaml: network.subnets.ingress: 10.7.0.0/24 is outside the VNet address space 10.0.0.0/16"
    )
    assert [r.type for r in result.records] == ["pulumi:pulumi:Stack"]


@pytest.mark.parametrize(
    "overrides, want",
    [
        ({"region": "atlantis"}, "Pulumi.dev.yaml: region: unsupported region 'atlantis'"),
        (
            {
                "aks": {
                    **yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]["mystira-infra:aks"],
                    "systemPool": {
                        "name": "systempoolnumber1",
                        "vmSize": "Standard_D2ds_v5",
                        "minCount": 1,
                        "maxCount": 3,
                    },
                }
            },
            "Pulumi.dev.yaml: aks.systemPool.name: 'systempoolnumber1' is 17 characters",
        ),
        ({"environment": "staging"}, "Pulumi.dev.yaml: environment: is 'staging' but the stack is 'dev'"),
    ],
)
def test_full_path_other_bad_inputs(overrides, want):
    result = build_stack("dev", overrides=overrides)
    assert result.error is not None and result.error.startswith(want)
    assert len(result.records) == 1


def _broken_copy(tmp_path: Path, mutate) -> Path:
    project = tmp_path / "project"
    shutil.copytree(
        ROOT,
        project,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "tests", "__pycache__", "benchmarks", "docs", "*.egg-info"
        ),
    )
    path = project / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    mutate(doc["config"])
    path.write_text(yaml.safe_dump(doc))
    return project


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mystira_infra.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_prints_one_line_and_exits_1_on_bad_settings(tmp_path):
    def mutate(config):
        config["mystira-infra:postgres"]["storageSizeGb"] = -5

    project = _broken_copy(tmp_path, mutate)
    proc = _cli("preview", "--stack", "dev", "--cwd", str(project))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert errors == ["error: Pulumi.dev.yaml: postgres.storageSizeGb: must be greater than zero, got -5"]


def test_cli_rejects_a_type_the_schema_declares(tmp_path):
    def mutate(config):
        config["mystira-infra:nameGeneration"] = "second"

    project = _broken_copy(tmp_path, mutate)
    proc = _cli("preview", "--stack", "dev", "--cwd", str(project))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "Pulumi.dev.yaml: mystira-infra:nameGeneration: Pulumi.yaml declares type integer" in proc.stderr


# ---- Pulumi.yaml's schema and settings.KEYS stay one list -------------------------------------

_SCHEMA_TYPES = {str: "string", int: "integer", bool: "boolean", float: "number"}


def test_pulumi_yaml_declares_exactly_the_settings_keys():
    schema = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    declared = {k.removeprefix(PREFIX): v for k, v in schema.items()}
    assert set(declared) == set(KEYS)
    for key, spec in KEYS.items():
        entry = declared[key]
        assert entry.get("description"), f"{key}: no description in Pulumi.yaml"
        want = "object" if dataclasses.is_dataclass(spec.type) else _SCHEMA_TYPES.get(spec.type, "array")
        assert entry.get("type") == want, f"{key}: Pulumi.yaml type {entry.get('type')}, settings {want}"


def test_pulumi_yaml_defaults_equal_the_dataclass_defaults():
    schema = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    fields = {f.name: f for f in dataclasses.fields(settings.Settings)}
    checked = 0
    for key, spec in KEYS.items():
        entry = schema[PREFIX + key]
        field = fields[spec.field]
        if "default" not in entry or field.default is dataclasses.MISSING or entry["default"] in ("", {}, []):
            continue  # empty defaults mean "not set" (a key of the other tier)
        assert entry["default"] == field.default, (
            f"{key}: Pulumi.yaml {entry['default']!r} != {field.default!r}"
        )
        checked += 1
    assert checked >= 3  # region, costCenter, nameGeneration at least


def test_settings_are_frozen():
    s = parse_settings("dev", _raw("dev"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.region = "westeurope"  # type: ignore[misc]
    assert typing.get_type_hints(settings.Settings)["region"] is str
    assert copy.copy(s) == s


def test_a_region_whose_names_break_azure_limits_is_refused_up_front():
    # Found by the property test in test_naming.py: eastus2's 4-letter code makes the publisher's
    # Key Vault name 25 characters, which crashed the program mid-run instead of failing settings.
    err = _error("dev", {**_raw("dev"), "region": "eastus2"})
    assert err.key == "region"
    assert "key vault name for 'publisher' breaks an Azure limit in eastus2" in err.reason
    assert "is 25 characters; a key vault name must be 3 to 24" in err.reason


def test_workload_port_must_be_a_tcp_port():
    err = _error("dev", _with("dev", "kubernetes", "storyGenerator.port", 70000))
    assert (err.key, err.reason) == ("kubernetes.storyGenerator.port", "a TCP port is 1 to 65535, got 70000")
