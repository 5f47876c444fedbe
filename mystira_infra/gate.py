"""The promotion gate: refuse a prod `pulumi up` whose preview destroys state we can't get back.

The rule is plain logic over a `pulumi preview --json` document (a `PreviewDigest`: `{steps: [{op,
urn, oldState, newState, ...}], ...}`), so it is tested on sample previews without the CLI:

- a step that deletes or replaces (`delete`, `replace`, `create-replacement`, `delete-replaced`,
  `import-replacement`) a resource that is protected, or whose type is in `STATEFUL_TYPES`, is a
  finding; any finding refuses the run;
- an op the gate does not know refuses the run too (fail closed: a new engine op must be read
  before it is allowed through);
- the approver may override with an explicit flag AND a written reason; the reason is logged.

Entry points:
    python -m mystira_infra.gate --preview preview.json [--allow-destructive --reason "..."]
    python -m mystira_infra.gate --stack prod [--policy-pack policy ...]   # Automation API (CI only)

Exit codes: 0 allowed, 1 refused, 2 unreadable input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Resource types whose deletion or replacement loses data, identity or everything inside them.
# The ONE list: the gate, its tests and docs/delivery.md read it from here.
STATEFUL_TYPES: frozenset[str] = frozenset({
    # data
    "azure-native:dbforpostgresql:Server",
    "azure-native:dbforpostgresql:Database",
    "azure-native:redisenterprise:RedisEnterprise",
    "azure-native:redisenterprise:Database",
    "azure-native:servicebus:Namespace",
    "azure-native:servicebus:Queue",  # in-flight messages
    "azure-native:storage:StorageAccount",  # holds Pulumi state in the shared stack
    "azure-native:containerregistry:Registry",
    "azure-native:operationalinsights:Workspace",  # retained logs
    "azure-native:applicationinsights:Component",  # telemetry; connection strings change
    # secrets and keys (soft-deleted: a recreated name collides)
    "azure-native:keyvault:Vault",
    "azure-native:keyvault:Key",
    "azure-native:cognitiveservices:Account",
    # containers of everything else
    "azure-native:resources:ResourceGroup",
    "azure-native:network:VirtualNetwork",
    "azure-native:containerservice:ManagedCluster",
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:PersistentVolumeClaim",
    # identities other systems are configured with (client ids, principal ids change)
    "azure-native:managedidentity:UserAssignedIdentity",
    "azuread:index/application:Application",
    "azure-native:communication:CommunicationService",
    "azure-native:communication:EmailService",
})

DESTRUCTIVE_OPS: frozenset[str] = frozenset({
    "delete", "replace", "create-replacement", "delete-replaced", "import-replacement",
})
# Ops that leave the cloud resource in place (state bookkeeping, reads, in-place changes).
SAFE_OPS: frozenset[str] = frozenset({
    "same", "create", "update", "read", "refresh", "import", "read-replacement",
    "discard", "discard-replaced", "remove-pending-replace",
})


class GateInputError(ValueError):
    """The preview document is not one the gate can judge (refuse rather than guess)."""


@dataclass(frozen=True)
class Finding:
    urn: str
    type: str
    ops: tuple[str, ...]
    why: str  # "protected", "stateful" or "unknown op"

    def line(self) -> str:
        return f"{'/'.join(self.ops)} {self.type} {self.urn.rsplit('::', 1)[-1]} ({self.why}): {self.urn}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    findings: tuple[Finding, ...] = ()
    overridden: bool = False
    reason: str = ""
    messages: tuple[str, ...] = field(default_factory=tuple)

    def report(self) -> str:
        head = ("ALLOWED (override)" if self.overridden else "ALLOWED") if self.allowed else "REFUSED"
        lines = [f"promotion gate: {head}"]
        lines += [f"  - {f.line()}" for f in self.findings]
        lines += [f"  {m}" for m in self.messages]
        return "\n".join(lines)


def type_of(step: Mapping[str, Any]) -> str:
    """The step's resource type: from its states, else from the URN (`...::parent$type::name`)."""
    for key in ("newState", "oldState"):
        state = step.get(key) or {}
        if state.get("type"):
            return str(state["type"])
    urn = str(step.get("urn", ""))
    parts = urn.split("::")
    if len(parts) >= 4:
        return parts[-2].rsplit("$", 1)[-1]
    return ""


def _protected(step: Mapping[str, Any]) -> bool:
    return any(bool((step.get(k) or {}).get("protect")) for k in ("oldState", "newState"))


def findings(preview: Mapping[str, Any]) -> list[Finding]:
    """Every resource the preview would delete or replace that is protected or stateful, plus
    every step whose op the gate does not know. One finding per URN, ops merged in order."""
    steps = preview.get("steps")
    if not isinstance(steps, list):
        raise GateInputError("the preview has no `steps` list: is it `pulumi preview --json` output?")
    by_urn: dict[str, Finding] = {}
    for step in steps:
        if not isinstance(step, Mapping):
            raise GateInputError(f"a step is not an object: {step!r}")
        op = str(step.get("op", ""))
        urn = str(step.get("urn", ""))
        typ = type_of(step)
        if op in SAFE_OPS:
            continue
        if op not in DESTRUCTIVE_OPS:
            why = "unknown op"
        elif _protected(step):
            why = "protected"
        elif typ in STATEFUL_TYPES:
            why = "stateful"
        else:
            continue
        prev = by_urn.get(urn)
        if prev is None:
            by_urn[urn] = Finding(urn, typ, (op,), why)
        elif op not in prev.ops:
            # "protected" outranks "stateful" outranks "unknown op" for the message
            rank = ("unknown op", "stateful", "protected")
            best = max(prev.why, why, key=rank.index)
            by_urn[urn] = Finding(urn, prev.type or typ, (*prev.ops, op), best)
    return list(by_urn.values())


def evaluate(preview: Mapping[str, Any], *, allow_destructive: bool = False, reason: str = "") -> Decision:
    """The gate's decision. An override needs both the flag and a non-empty reason."""
    found = tuple(findings(preview))
    if not found:
        return Decision(True, (), messages=("no protected or stateful resource is deleted or replaced",))
    if not allow_destructive:
        return Decision(False, found, messages=(
            "refused: re-run the promotion workflow with allow_destructive=true and a reason "
            "if this is intended (docs/delivery.md, 'Override the gate')",))
    # one line: the reason is printed into the workflow log, where a newline could start a command
    reason = " ".join(reason.split())
    if not reason:
        return Decision(False, found, messages=("refused: an override needs a written reason",))
    return Decision(True, found, overridden=True, reason=reason,
                    messages=(f"override by approver, reason: {reason}",))


def load_preview(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise GateInputError(f"cannot read preview {path}: {e}") from e
    if not isinstance(doc, dict):
        raise GateInputError(f"{path}: expected a JSON object")
    return doc


def _summary_markdown(decision: Decision) -> str:
    head = "overridden" if decision.overridden else ("passed" if decision.allowed else "refused")
    out = [f"### Promotion gate: {head}", ""]
    if decision.findings:
        out += ["| ops | type | resource | why |", "|---|---|---|---|"]
        out += [f"| {'/'.join(f.ops)} | `{f.type}` | `{f.urn.rsplit('::', 1)[-1]}` | {f.why} |"
                for f in decision.findings]
        out.append("")
    out += [m for m in decision.messages]
    return "\n".join(out) + "\n"


# --- Automation API: the same rule over a live preview (CI only; needs the Pulumi CLI) ---------

def automation_preview(stack: str, work_dir: str = ".", policy_packs: Iterable[str] = (),
                       policy_pack_configs: Iterable[str] = ()) -> dict[str, Any]:  # pragma: no cover
    """Run `pulumi preview` through the Automation API and return its steps in the
    `pulumi preview --json` shape, built from the engine's resource-pre events."""
    from pulumi import automation as auto

    steps: list[dict[str, Any]] = []

    def on_event(event: Any) -> None:
        pre = getattr(event, "resource_pre_event", None)
        if pre is None:
            return
        meta = pre.metadata
        step: dict[str, Any] = {"op": getattr(meta.op, "value", str(meta.op)), "urn": meta.urn,
                                "newState": {"type": meta.type}}
        for key, s in (("oldState", meta.old), ("newState", meta.new)):
            if s is not None:
                step[key] = {"type": s.type, "urn": s.urn, "protect": bool(s.protect)}
        steps.append(step)

    s = auto.select_stack(stack_name=stack, work_dir=work_dir)
    s.preview(policy_packs=list(policy_packs) or None, policy_pack_configs=list(policy_pack_configs) or None,
              on_event=on_event, on_output=print)
    return {"steps": steps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mystira_infra.gate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--preview", type=Path, help="a `pulumi preview --json` document")
    src.add_argument("--stack", help="run the preview through the Automation API (needs the Pulumi CLI)")
    parser.add_argument("--cwd", default=".", help="Pulumi project directory (with --stack)")
    parser.add_argument("--policy-pack", action="append", default=[], help="with --stack (repeatable)")
    parser.add_argument("--policy-pack-config", action="append", default=[], help="with --stack (repeatable)")
    parser.add_argument("--allow-destructive", action="store_true",
                        help="approver's override: let deletes/replaces of protected or stateful "
                             "resources through")
    parser.add_argument("--reason", default=os.environ.get("GATE_OVERRIDE_REASON", ""),
                        help="why the override is needed (required with --allow-destructive; logged)")
    args = parser.parse_args(argv)
    try:
        if args.preview is not None:
            doc = load_preview(args.preview)
        else:  # pragma: no cover - needs the Pulumi CLI and a backend
            doc = automation_preview(args.stack, args.cwd, args.policy_pack, args.policy_pack_config)
        decision = evaluate(doc, allow_destructive=args.allow_destructive, reason=args.reason)
    except GateInputError as e:
        print(f"promotion gate: cannot judge the preview: {e}", file=sys.stderr)
        return 2
    print(decision.report())
    if decision.overridden:
        # a workflow annotation, so the override is visible on the run page and in its log
        print(f"::warning title=Promotion gate overridden::{decision.reason}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(_summary_markdown(decision))
    return 0 if decision.allowed else 1


if __name__ == "__main__":
    sys.exit(main())
