"""What Azure retires, and when: one dated table with a source for every row.

Settings check every pinned version against the date of the run (`check(pins, region, today)`):
an error once a version is retired (the file, the key, the date and what to pin instead), a warning
within `WARN_DAYS` of it. The functions here are pure (the date is an argument), so tests pass the
date in; the scheduled workflow `.github/workflows/lifecycle.yml` runs `mystira-infra lifecycle`
weekly so a retirement fails CI before it fails a deploy. The rows, their sources and the choice of
the committed pins are in `docs/lifecycle.md`.

Meaning of a date: the first day Azure no longer offers the version (a retired Azure OpenAI model
version answers every request with an error and can't be deployed; an AKS minor past end of life
gets no new clusters and no support; a PostgreSQL major past Azure standard support is moved to
paid extended support). When a source gives a month ("Mar 2027"), the row uses its last day, as the
AKS page says to read it.

Update a row when its source changes; add a row before pinning a version the table doesn't know
(an unknown pin is an error: its date can't be checked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

WARN_DAYS = 90

# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------

# Azure OpenAI model retirement schedule (page https://learn.microsoft.com/azure/ai-foundry/openai/
# concepts/model-retirements; table as of its include dated 2026-07-07). The table gives ONE date per
# model version, for every deployment type (Standard, GlobalStandard, DataZone): rows here apply to
# all deployment types unless `deployment_types` narrows them.
SRC_OPENAI = (
    "https://github.com/MicrosoftDocs/azure-ai-docs/blob/main/articles/foundry/openai/includes/"
    "concepts-model-retirement-schedule-content.md"
)
# Which model versions each deployment type offers in the Middle East & Africa regions (include
# dated 2026-04-30): southafricanorth has Global Standard (and Global Provisioned / Batch), Data Zone
# "Not available", and Standard only for embeddings.
SRC_OPENAI_REGIONS = (
    "https://github.com/MicrosoftDocs/azure-ai-docs/blob/main/articles/foundry/openai/includes/"
    "model-matrix/region-middle-east-africa.md"
)
# AKS Kubernetes release calendar and LTS table (page dated 2026-08-05).
SRC_AKS = "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions#aks-kubernetes-release-calendar"
# Azure Database for PostgreSQL major version policy: Azure standard support end dates.
SRC_POSTGRES = "https://learn.microsoft.com/azure/postgresql/configure-maintain/concepts-version-policy"


@dataclass(frozen=True)
class Row:
    kind: str  # "openai", "kubernetes", "postgres"
    name: str  # model name; "kubernetes"; "postgresql"
    version: str
    retires: date  # first day it is no longer offered
    source: str
    deployment_types: tuple[str, ...] = ()  # OpenAI: the types this date applies to; () = all
    replacement: str = ""  # the source's named replacement, if any
    available_from: date | None = None  # AKS: GA month (a preview minor is refused)
    extended_until: date | None = None  # AKS LTS end / PostgreSQL paid extended support end
    note: str = ""

    @property
    def label(self) -> str:
        return {"kubernetes": f"Kubernetes {self.version}", "postgres": f"PostgreSQL {self.version}"}.get(
            self.kind, f"{self.name} {self.version}"
        )


def _openai(name: str, version: str, retires: str, replacement: str = "") -> Row:
    return Row("openai", name, version, date.fromisoformat(retires), SRC_OPENAI, replacement=replacement)


def _aks(minor: str, ga: str, eol: str, lts: str) -> Row:
    return Row("kubernetes", "kubernetes", minor, date.fromisoformat(eol), SRC_AKS,
               available_from=date.fromisoformat(ga), extended_until=date.fromisoformat(lts),
               note="LTS only on the Premium tier with support plan AKSLongTermSupport")


def _pg(major: str, ends: str, extended: str | None = None) -> Row:
    return Row("postgres", "postgresql", major, date.fromisoformat(ends), SRC_POSTGRES,
               extended_until=date.fromisoformat(extended) if extended else None,
               note="then paid extended support" if extended else "")


ROWS: tuple[Row, ...] = (
    # Azure OpenAI: general-purpose text models (codex, audio and image models are not used here).
    _openai("gpt-4o", "2024-05-13", "2026-10-01", "gpt-5.1"),
    _openai("gpt-4o", "2024-08-06", "2026-10-01", "gpt-5.1"),
    _openai("gpt-4o", "2024-11-20", "2026-10-01", "gpt-5.1"),
    _openai("gpt-4o-mini", "2024-07-18", "2026-10-01", "gpt-4.1-mini"),
    _openai("gpt-4.1", "2025-04-14", "2026-10-14"),
    _openai("gpt-4.1-mini", "2025-04-14", "2026-10-14"),
    _openai("gpt-4.1-nano", "2025-04-14", "2026-10-14"),
    _openai("o3-mini", "2025-01-31", "2026-10-01", "o4-mini"),
    _openai("o4-mini", "2025-04-16", "2026-10-16"),
    _openai("gpt-5", "2025-08-07", "2027-02-06"),
    _openai("gpt-5-mini", "2025-08-07", "2027-02-06"),
    _openai("gpt-5-nano", "2025-08-07", "2027-02-06"),
    _openai("gpt-5.1", "2025-11-13", "2027-05-15"),
    _openai("gpt-5.2", "2025-12-11", "2026-12-12"),
    _openai("gpt-5.4", "2026-03-05", "2027-03-05"),
    _openai("gpt-5.4-mini", "2026-03-17", "2027-03-18"),
    _openai("gpt-5.4-nano", "2026-03-17", "2027-03-18"),
    _openai("gpt-5.5", "2026-04-24", "2027-04-23"),
    # AKS minors: GA month, end of life (community support), LTS end of life.
    _aks("1.28", "2023-11-01", "2025-01-31", "2026-01-31"),
    _aks("1.29", "2024-03-01", "2025-03-31", "2026-04-30"),
    _aks("1.30", "2024-07-01", "2025-08-22", "2026-07-31"),
    _aks("1.31", "2024-11-01", "2025-11-01", "2026-11-30"),
    _aks("1.32", "2025-04-01", "2026-03-31", "2027-03-31"),
    _aks("1.33", "2025-06-01", "2026-07-31", "2027-07-31"),
    _aks("1.34", "2025-11-01", "2026-11-30", "2027-11-30"),
    _aks("1.35", "2026-03-01", "2027-03-31", "2028-03-31"),
    _aks("1.36", "2026-06-01", "2027-06-30", "2028-06-30"),
    _aks("1.37", "2026-10-01", "2027-10-31", "2028-10-31"),
    # PostgreSQL Flexible Server majors: Azure standard support end (extended support end).
    _pg("11", "2026-07-31", "2027-03-31"),
    _pg("12", "2026-07-31", "2027-11-13"),
    _pg("13", "2026-07-31", "2028-11-12"),
    _pg("14", "2026-12-11", "2029-11-11"),
    _pg("15", "2027-11-11"),
    _pg("16", "2028-11-09"),
    _pg("17", "2029-11-08"),
    _pg("18", "2030-11-14"),
)

# Model versions each deployment type offers per region (SRC_OPENAI_REGIONS). A region or type
# not listed here is not checked for availability (only for retirement).
_SAN_GLOBAL_STANDARD = frozenset({
    ("gpt-5.4-mini", "2026-03-17"), ("gpt-5.4-nano", "2026-03-17"), ("gpt-5.4", "2026-03-05"),
    ("gpt-5.2", "2025-12-11"), ("gpt-5.1", "2025-11-13"), ("gpt-5", "2025-08-07"),
    ("gpt-5-mini", "2025-08-07"), ("gpt-5-nano", "2025-08-07"), ("o3", "2025-04-16"),
    ("o4-mini", "2025-04-16"), ("gpt-4.1", "2025-04-14"), ("gpt-4.1-mini", "2025-04-14"),
    ("gpt-4.1-nano", "2025-04-14"), ("o3-mini", "2025-01-31"), ("gpt-4o", "2024-11-20"),
    ("gpt-4o", "2024-08-06"), ("gpt-4o", "2024-05-13"), ("gpt-4o-mini", "2024-07-18"),
})
AVAILABILITY: dict[tuple[str, str], frozenset[tuple[str, str]]] = {
    ("southafricanorth", "GlobalStandard"): _SAN_GLOBAL_STANDARD,
    ("southafricanorth", "DataZoneStandard"): frozenset(),  # "Not available"
    ("southafricanorth", "Standard"): frozenset(),  # embeddings only: no text model
}


# --------------------------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    """One pinned version in a stack file: `key` is its settings path (openai.deployments[0].version)."""

    key: str
    kind: str
    name: str
    version: str
    deployment_type: str = ""


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    key: str
    message: str
    retires: date | None = None


def find(kind: str, name: str, version: str, deployment_type: str = "") -> Row | None:
    for row in ROWS:
        if (row.kind, row.name, row.version) == (kind, name, version) and (
            not row.deployment_types or not deployment_type or deployment_type in row.deployment_types
        ):
            return row
    return None


def offered(region: str, deployment_type: str, name: str, version: str) -> bool | None:
    """Whether the region offers the model version for the deployment type; None if not recorded."""
    listed = AVAILABILITY.get((region, deployment_type))
    return None if listed is None else (name, version) in listed


def _size(name: str) -> str:
    m = re.search(r"-(mini|nano)$", name)
    return m.group(1) if m else ""


def replacements(pin: Pin, region: str, today: date, warn_days: int = WARN_DAYS) -> list[Row]:
    """What to pin instead: rows of the same kind (OpenAI: same size, mini/nano/full) that the
    region offers for the deployment type and that don't retire within `warn_days`; the source's
    named replacement first, then the longest-lived."""
    horizon = today.toordinal() + warn_days
    out = [
        r for r in ROWS
        if r.kind == pin.kind and r.retires.toordinal() > horizon
        and (r.available_from is None or r.available_from <= today)
        and (pin.kind != "openai" or (
            _size(r.name) == _size(pin.name)
            and offered(region, pin.deployment_type, r.name, r.version) is not False))
    ]
    row = find(pin.kind, pin.name, pin.version, pin.deployment_type)
    named = row.replacement if row else ""
    return sorted(out, key=lambda r: (r.name != named, -r.retires.toordinal(), r.version))


def _instead(pin: Pin, region: str, today: date, warn_days: int) -> str:
    options = replacements(pin, region, today, warn_days)[:2]
    if not options:
        return "no row of the lifecycle table fits: add one with its source"
    return "pin instead " + " or ".join(f"{r.label} (until {r.retires})" for r in options)


def check(pins: list[Pin], region: str, today: date, warn_days: int = WARN_DAYS) -> list[Finding]:
    """Every pin against the table on `today`: errors for retired, unknown, not-yet-GA or
    not-offered versions; warnings for retirements within `warn_days`."""
    findings: list[Finding] = []
    for pin in pins:
        what = pin.version if pin.kind != "openai" else f"{pin.name} {pin.version}"
        where = f" ({pin.deployment_type})" if pin.deployment_type else ""
        if pin.kind == "kubernetes" and not re.fullmatch(r"\d+\.\d+", pin.version):
            findings.append(
                Finding("error", pin.key, f"pin the minor only (e.g. '1.36'), got '{pin.version}'"))
            continue
        row = find(pin.kind, pin.name, pin.version, pin.deployment_type)
        if row is None:
            known = ", ".join(r.version if pin.kind != "openai" else f"{r.name} {r.version}"
                              for r in ROWS if r.kind == pin.kind
                              and (pin.kind != "openai" or r.name == pin.name))
            findings.append(Finding(
                "error", pin.key,
                f"{what}{where} is not in the lifecycle table (mystira_infra/lifecycle.py), so its "
                f"retirement can't be checked; known: {known or 'none'}; add a row with its source"))
            continue
        instead = _instead(pin, region, today, warn_days)
        if pin.kind == "openai" and offered(region, pin.deployment_type, pin.name, pin.version) is False:
            findings.append(Finding(
                "error", pin.key,
                f"{row.label} is not offered in {region} for {pin.deployment_type} ({SRC_OPENAI_REGIONS}); "
                f"{instead}", row.retires))
        elif row.available_from and today < row.available_from:
            findings.append(Finding(
                "error", pin.key, f"{row.label} is not GA on AKS before {row.available_from} ({row.source}); "
                f"{instead}", row.retires))
        elif today >= row.retires:
            findings.append(Finding(
                "error", pin.key,
                f"{row.label}{where} was retired on {row.retires} ({row.source}); {instead}", row.retires))
        elif (row.retires - today).days <= warn_days:
            findings.append(Finding(
                "warning", pin.key,
                f"{row.label}{where} retires on {row.retires}, in {(row.retires - today).days} days "
                f"({row.source}); {instead}", row.retires))
    return findings


def supported(kind: str, today: date, warn_days: int = 0) -> tuple[str, ...]:
    """Versions of `kind` offered on `today` and not retiring within `warn_days`, oldest first."""
    rows = [r for r in ROWS if r.kind == kind and (r.retires - today).days > warn_days
            and (r.available_from is None or r.available_from <= today)]
    return tuple(r.version for r in sorted(rows, key=lambda r: tuple(int(p) for p in r.version.split(".")))
                 ) if kind != "openai" else tuple(f"{r.name} {r.version}" for r in rows)


def report(
    directory: str, stacks: list[str], today: date, warn_days: int = WARN_DAYS
) -> tuple[list[str], int]:
    """`mystira-infra lifecycle`: every pin of every stack file (all `Pulumi.<stack>.yaml` when
    `stacks` is empty) checked on `today`. Lines to print, and 1 if anything was found (a retired pin
    or one retiring within `warn_days`: the scheduled workflow fails ahead of the retirement)."""
    from pathlib import Path

    from mystira_infra import settings
    from mystira_infra.dryrun.project import load_project, load_stack_config

    project = load_project(directory)
    files = Path(project.directory).glob("Pulumi.*.yaml")
    names = stacks or sorted(p.name[len("Pulumi."):-len(".yaml")] for p in files)
    lines: list[str] = []
    rc = 0
    prefix = f"{project.name}:"
    for stack in names:
        config = load_stack_config(project, stack)
        raw = {k[len(prefix):]: v for k, v in config.values.items() if k.startswith(prefix)}
        secret = {k[len(prefix):] for k in config.secret_keys if k.startswith(prefix)}
        try:
            s = settings.parse_settings(stack, raw, secret, today=today, check_lifecycle=False)
        except settings.SettingsError as e:
            lines.append(f"error: {e}")
            rc = 1
            continue
        pins = settings.lifecycle_pins(s)
        findings = check(pins, s.region, today, warn_days)
        lines += [f"{f.severity}: {s.file}: {f.key}: {f.message}" for f in findings]
        lines.append(f"{stack}: {len(pins)} pins checked on {today} (warning window {warn_days} days): "
                     + (f"{len(findings)} finding(s)" if findings else "ok"))
        rc = 1 if findings else rc
    return lines, rc
