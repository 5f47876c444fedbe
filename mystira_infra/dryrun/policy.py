"""Run CrossGuard policy packs over a dry run's records (placeholder until the policy issue lands)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mystira_infra.dryrun.project import DryRunError
from mystira_infra.dryrun.runner import RunResult


@dataclass
class PolicyResult:
    pack: str
    policy: str
    enforcement: str  # mandatory | advisory
    message: str
    urn: str = ""

    @property
    def mandatory(self) -> bool:
        return self.enforcement == "mandatory"


def run_packs(result: RunResult, packs: list[Path], configs: list[Path]) -> list[PolicyResult]:
    if packs:
        raise DryRunError("--policy-pack: policy packs are not supported by the dry run yet")
    return []


def format_text(results: list[PolicyResult]) -> str:
    return ""


def as_diagnostics(results: list[PolicyResult]) -> list[dict]:
    return []
