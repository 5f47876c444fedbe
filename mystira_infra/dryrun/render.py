"""Show a dry run: a tree like `pulumi preview`, or JSON in the shape of `pulumi preview --json`."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from mystira_infra.dryrun.mocks import UNKNOWN, Record, Secret
from mystira_infra.dryrun.runner import RunResult

SECRET_TEXT = "[secret]"


def jsonable(value: Any) -> Any:
    """Secrets become "[secret]"; unknowns stay the engine's sentinel, as the real CLI prints."""
    if isinstance(value, Secret):
        return SECRET_TEXT
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


UNKNOWN_TEXT = "output<string>"  # how `pulumi preview` prints a value known only after the update


def _unknowns_shown(value: Any) -> Any:
    if value == UNKNOWN:
        return UNKNOWN_TEXT
    if isinstance(value, dict):
        return {k: _unknowns_shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknowns_shown(v) for v in value]
    return value


def _children(records: list[Record]) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {}
    for r in records:
        out.setdefault(r.parent, []).append(r)
    for kids in out.values():
        kids.sort(key=lambda r: (r.type, r.name))
    return out


def tree(result: RunResult) -> str:
    mode = "preview" if result.preview else "update"
    lines = [
        f"Previewing update ({result.stack})  [dry run: Pulumi SDK mock runtime, {mode} mode, no cloud]", ""
    ]
    rows: list[tuple[str, str, str]] = []
    kids = _children(result.records)

    def walk(rec: Record, prefix: str, last: bool, depth: int) -> None:
        branch = "" if depth == 0 else prefix + ("└─ " if last else "├─ ")
        rows.append((branch + rec.type, rec.name, "create"))
        below = kids.get(rec.urn, [])
        next_prefix = "" if depth == 0 else prefix + ("   " if last else "│  ")
        for i, child in enumerate(below):
            walk(child, next_prefix, i == len(below) - 1, depth + 1)

    for root in kids.get("", []):
        walk(root, "", True, 0)
    width = max((len(r[0]) for r in rows), default=10) + 2
    name_width = max((len(r[1]) for r in rows), default=10) + 2
    lines.append(f"     {'Type':<{width}}{'Name':<{name_width}}Plan")
    lines += [f" +   {t:<{width}}{n:<{name_width}}{p}" for t, n, p in rows]
    if result.outputs:
        lines += ["", "Outputs:"]
        for key, value in result.outputs.items():
            shown = _unknowns_shown(jsonable(value))
            text = shown if shown == UNKNOWN_TEXT else json.dumps(shown)
            lines.append(f"    {key}: {text}")
    lines += ["", "Resources:", f"    + {len(result.records)} to create", "", "Resources by type:"]
    for typ, count in sorted(Counter(r.type for r in result.records).items()):
        lines.append(f"    {count:>4}  {typ}")
    if result.diagnostics:
        lines += ["", "Diagnostics:"]
        lines += [
            f"    {d.severity}: {d.message}" + (f" ({d.urn})" if d.urn else "") for d in result.diagnostics
        ]
    return "\n".join(lines)


def _state(rec: Record) -> dict[str, Any]:
    state: dict[str, Any] = {
        "urn": rec.urn,
        "custom": rec.custom,
        "type": rec.type,
        "inputs": jsonable(rec.inputs),
        "outputs": jsonable(rec.outputs) if rec.custom else {},
        "parent": rec.parent,
        "dependencies": rec.dependencies,
        "propertyDependencies": rec.property_dependencies,
        "protect": bool(rec.protect),
        "retainOnDelete": rec.retain_on_delete,
        "deleteBeforeReplace": rec.delete_before_replace,
        "ignoreChanges": rec.ignore_changes,
        "customTimeouts": rec.custom_timeouts,
        "additionalSecretOutputs": rec.additional_secret_outputs,
    }
    if rec.provider:
        state["provider"] = rec.provider
    if rec.id:
        state["id"] = rec.id
    return state


def preview_json(result: RunResult, extra_diagnostics: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A `PreviewDigest`: config, steps (op, urn, provider, newState), diagnostics, changeSummary."""
    secret_keys = set(result.config.secret_keys)
    config = {k: (SECRET_TEXT if k in secret_keys else v) for k, v in result.config.values.items()}
    steps = []
    for rec in result.records:
        state = _state(rec)
        if rec.type == "pulumi:pulumi:Stack":
            state["outputs"] = jsonable(result.outputs)
        step = {"op": "create", "urn": rec.urn, "newState": state}
        if rec.provider:
            step["provider"] = rec.provider
        steps.append(step)
    diagnostics = [
        {"urn": d.urn or None, "message": d.message, "severity": d.severity} for d in result.diagnostics
    ] + list(extra_diagnostics or [])
    if result.error:
        diagnostics.append({"urn": None, "message": result.error, "severity": "error"})
    return {
        "config": config,
        "steps": steps,
        "diagnostics": diagnostics,
        "duration": int(result.duration_s * 1e9),  # nanoseconds, as the CLI's Go duration
        "changeSummary": {"create": len(result.records)},
    }
