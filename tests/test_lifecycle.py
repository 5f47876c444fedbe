"""Pinned versions against the dated lifecycle table: retired is an error naming the file, the key,
the retirement date and what to pin instead; within 90 days it is a warning the dry run shows.
The check is a pure function of the date, so these tests pass the date in."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, timedelta

import pytest

from mystira_infra import lifecycle
from mystira_infra.lifecycle import Pin
from mystira_infra.settings import SettingsError, lifecycle_pins, parse_settings, settings_warnings
from tests.conftest import ENV_STACKS, ROOT, build_stack
from tests.test_settings import _raw, _with

DAY = date(2026, 12, 2)  # the day these rows were checked against their sources
SAN = "southafricanorth"


def _gs(name: str, version: str, key: str = "openai.deployments[0].version") -> Pin:
    return Pin(key, "openai", name, version, "GlobalStandard")


def test_every_row_has_a_source_and_each_version_appears_once():
    assert len(lifecycle.ROWS) >= 30
    seen = set()
    for row in lifecycle.ROWS:
        assert row.source.startswith("https://"), row
        assert (row.kind, row.name, row.version, row.deployment_types) not in seen, row
        seen.add((row.kind, row.name, row.version, row.deployment_types))
    kinds = {r.kind for r in lifecycle.ROWS}
    assert kinds == {"openai", "kubernetes", "postgres"}


def test_seed_models_retired_on_2026_10_01_with_the_sources_replacement():
    [finding] = lifecycle.check([_gs("gpt-4o", "2024-11-20")], SAN, DAY)
    assert finding.severity == "error" and finding.key == "openai.deployments[0].version"
    assert "gpt-4o 2024-11-20 (GlobalStandard) was retired on 2026-10-01" in finding.message
    assert "pin instead gpt-5.1 2025-11-13 (until 2027-05-15)" in finding.message
    assert lifecycle.SRC_OPENAI in finding.message
    [mini] = lifecycle.check([_gs("gpt-4o-mini", "2024-07-18")], SAN, DAY)
    assert "was retired on 2026-10-01" in mini.message
    assert "pin instead gpt-5.4-mini 2026-03-17" in mini.message  # a mini for a mini


def test_the_day_before_the_window_the_day_in_it_and_the_day_of_retirement():
    pin = _gs("gpt-5-mini", "2025-08-07")
    retires = date(2027, 2, 6)
    assert lifecycle.check([pin], SAN, retires - timedelta(days=91)) == []
    [warning] = lifecycle.check([pin], SAN, retires - timedelta(days=90))
    assert warning.severity == "warning"
    assert "gpt-5-mini 2025-08-07 (GlobalStandard) retires on 2027-02-06, in 90 days" in warning.message
    [warning] = lifecycle.check([pin], SAN, DAY)
    assert "in 66 days" in warning.message and warning.retires == retires
    [error] = lifecycle.check([pin], SAN, retires)
    assert error.severity == "error" and "was retired on 2027-02-06" in error.message


def test_warning_window_is_a_parameter():
    pin = Pin("aks.kubernetesVersion", "kubernetes", "kubernetes", "1.36")
    assert lifecycle.check([pin], SAN, DAY) == []  # end of life 2027-06-30: 210 days away
    [w] = lifecycle.check([pin], SAN, DAY, warn_days=365)
    assert w.severity == "warning" and "Kubernetes 1.36 retires on 2027-06-30, in 210 days" in w.message


def test_kubernetes_past_end_of_life_names_supported_minors():
    [f] = lifecycle.check([Pin("aks.kubernetesVersion", "kubernetes", "kubernetes", "1.33")], SAN, DAY)
    assert f.severity == "error"
    assert "Kubernetes 1.33 was retired on 2026-07-31" in f.message
    assert "pin instead Kubernetes 1.37 (until 2027-10-31) or Kubernetes 1.36 (until 2027-06-30)" in f.message
    assert lifecycle.supported("kubernetes", DAY) == ("1.35", "1.36", "1.37")


def test_kubernetes_pin_must_be_a_ga_minor():
    [patch] = lifecycle.check([Pin("aks.kubernetesVersion", "kubernetes", "kubernetes", "1.36.2")], SAN, DAY)
    assert "pin the minor only" in patch.message
    [early] = lifecycle.check([Pin("k", "kubernetes", "kubernetes", "1.37")], SAN, date(2026, 9, 1))
    assert "not GA on AKS before 2026-10-01" in early.message


def test_postgres_majors_end_with_azure_standard_support():
    [f] = lifecycle.check([Pin("postgres.version", "postgres", "postgresql", "13")], SAN, DAY)
    assert f.severity == "error" and "PostgreSQL 13 was retired on 2026-07-31" in f.message
    assert "pin instead PostgreSQL 18" in f.message
    [w] = lifecycle.check([Pin("postgres.version", "postgres", "postgresql", "14")], SAN, DAY)
    assert w.severity == "warning" and "retires on 2026-12-11, in 9 days" in w.message
    assert lifecycle.check([Pin("postgres.version", "postgres", "postgresql", "16")], SAN, DAY) == []


def test_unknown_versions_and_versions_the_region_does_not_offer_are_errors():
    [unknown] = lifecycle.check([_gs("gpt-4o", "2099-01-01")], SAN, DAY)
    assert "not in the lifecycle table" in unknown.message and "gpt-4o 2024-11-20" in unknown.message
    # gpt-5.5 has a retirement date but southafricanorth doesn't list it for Global Standard.
    [absent] = lifecycle.check([_gs("gpt-5.5", "2026-04-24")], SAN, DAY)
    assert f"not offered in {SAN} for GlobalStandard" in absent.message
    assert lifecycle.check([_gs("gpt-5.5", "2026-04-24")], "westeurope", DAY) == []  # not recorded there
    dz = Pin("openai.deployments[0].version", "openai", "gpt-5.1", "2025-11-13", "DataZoneStandard")
    [f] = lifecycle.check([dz], SAN, DAY)
    assert "not offered in southafricanorth for DataZoneStandard" in f.message


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_committed_pins_are_offered_and_not_retiring_soon(stack):
    s = parse_settings(stack, _raw(stack), today=DAY)
    pins = lifecycle_pins(s)
    assert {p.key for p in pins} == {"aks.kubernetesVersion", "postgres.version",
                                     "openai.deployments[0].version", "openai.deployments[1].version"}
    assert lifecycle.check(pins, s.region, DAY) == []
    for p in pins:
        if p.kind == "openai":
            assert lifecycle.offered(SAN, "GlobalStandard", p.name, p.version) is True


def test_committed_stack_fails_on_the_day_its_first_pin_retires():
    s = parse_settings("prod", _raw("prod"), today=DAY)
    dated = [(lifecycle.find(p.kind, p.name, p.version, p.deployment_type), p) for p in lifecycle_pins(s)]
    assert len(dated) == 4 and all(row for row, _ in dated)
    row, pin = min(dated, key=lambda rp: rp[0].retires)  # type: ignore[union-attr]
    assert (row.name, row.retires) == ("gpt-5.4-mini", date(2027, 3, 18))
    with pytest.raises(SettingsError) as info:
        parse_settings("prod", _raw("prod"), today=row.retires)
    assert info.value.key == pin.key == "openai.deployments[1].version"
    assert "was retired on 2027-03-18" in info.value.reason
    warnings = settings_warnings(parse_settings("prod", _raw("prod"), today=DAY + timedelta(days=20)),
                                 DAY + timedelta(days=20))
    assert [w for w in warnings if w.startswith(
        "Pulumi.prod.yaml: openai.deployments[1].version: gpt-5.4-mini 2026-03-17 (GlobalStandard) "
        "retires on 2027-03-18, in 86 days")]


def _openai_with(model: str, version: str) -> dict:
    import json

    doc = json.loads(_raw("dev")["openai"])
    doc["deployments"][0].update(model=model, version=version)
    return doc


def test_dry_run_of_a_retired_model_fails_with_file_key_and_date():
    r = build_stack("dev", overrides={"openai": _openai_with("gpt-4o", "2024-11-20")})
    assert not r.ok
    assert r.error.startswith(
        "Pulumi.dev.yaml: openai.deployments[0].version: gpt-4o 2024-11-20 (GlobalStandard) was retired on "
        "2026-10-01")
    assert [x.type for x in r.records] == ["pulumi:pulumi:Stack"]


def test_dry_run_of_kubernetes_past_end_of_life_fails_with_file_key_and_date():
    aks = __import__("json").loads(_raw("dev")["aks"])
    aks["kubernetesVersion"] = "1.34"
    r = build_stack("dev", overrides={"aks": aks})
    assert not r.ok and r.error.startswith(
        "Pulumi.dev.yaml: aks.kubernetesVersion: Kubernetes 1.34 was retired on 2026-11-30")


def test_dry_run_shows_a_retirement_within_90_days_as_a_warning():
    today = date.today()
    soon = [r for r in lifecycle.ROWS if r.kind == "openai" and 0 < (r.retires - today).days <= 90
            and lifecycle.offered(SAN, "GlobalStandard", r.name, r.version)]
    if not soon:
        pytest.skip("no model version of the table retires within 90 days of today")
    row = soon[0]
    r = build_stack("dev", overrides={"openai": _openai_with(row.name, row.version)})
    assert r.ok, r.error
    want = (f"Pulumi.dev.yaml: openai.deployments[0].version: {row.name} {row.version} (GlobalStandard) "
            f"retires on {row.retires}")
    assert [d for d in r.diagnostics if d.severity == "warning" and d.message.startswith(want)]


def test_lifecycle_command_fails_ahead_of_a_retirement():
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mystira_infra.cli", "lifecycle", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    ok = run("--date", "2026-12-02")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"prod: 4 pins checked", ok.stdout)
    ahead = run("--stack", "prod", "--date", "2026-12-20", "--warn-days", "90")
    assert ahead.returncode == 1
    assert ("warning: Pulumi.prod.yaml: openai.deployments[1].version: gpt-5.4-mini 2026-03-17 "
            "(GlobalStandard) retires on 2027-03-18, in 88 days") in ahead.stdout
    retired = run("--stack", "dev", "--date", "2027-07-01")
    assert retired.returncode == 1
    assert "error: Pulumi.dev.yaml: aks.kubernetesVersion: Kubernetes 1.36 was retired on 2027-06-30" in (
        retired.stdout)
    assert "Traceback" not in retired.stderr


def test_bad_version_in_settings_names_the_key():
    raw = _with("dev", "postgres", "version", "12")
    with pytest.raises(SettingsError) as info:
        parse_settings("dev", raw, today=DAY)
    assert (info.value.key, info.value.file) == ("postgres.version", "Pulumi.dev.yaml")
    assert "PostgreSQL 12 was retired on 2026-07-31" in info.value.reason
