"""Queries over recorded resources, for tests."""

from __future__ import annotations

from typing import Any

from mystira_infra.dryrun.mocks import UNKNOWN, Record, plain
from mystira_infra.dryrun.runner import RunResult


def of_type(result: RunResult, type_: str) -> list[Record]:
    return [r for r in result.records if r.type == type_]


def named(result: RunResult, type_: str, name: str) -> Record:
    return result.one(type_, name)


def inputs(record: Record) -> dict[str, Any]:
    """Inputs with secrets unwrapped (use record.inputs to check secretness)."""
    return plain(record.inputs)


def children(result: RunResult, parent: Record) -> list[Record]:
    return [r for r in result.records if r.parent == parent.urn]


def depends_on(record: Record, other: Record) -> bool:
    return other.urn in record.dependencies


def is_unknown(value: Any) -> bool:
    return value == UNKNOWN
