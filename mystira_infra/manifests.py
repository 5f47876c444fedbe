"""Write the Kubernetes objects a dry run records as YAML manifests, for scanners.

checkov (`--framework kubernetes`) and `kubernetes-validate` read manifests, not Pulumi programs.
The dry run records every `kubernetes:<group>/<version>:<Kind>` resource with the object it would
send to the API server as its inputs; this module turns those records into one manifest file per
object. Values a manifest can't carry are made plain: secrets become a placeholder (a manifest
written for scanning must never hold a secret), unknowns (preview mode) become the string
"unknown", and integral floats (numbers cross the wire as floats) become ints.

    python -m mystira_infra.manifests --stack dev [--out out/manifests] [--cwd .] [--validate]

`--validate` also checks every object with `kubernetes-validate --strict` against the stack's AKS
Kubernetes version (unexpected fields are errors, as a typo in a field name would be).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from mystira_infra.dryrun.mocks import UNKNOWN, Record, Secret
from mystira_infra.dryrun.runner import RunResult, run_stack
from mystira_infra.settings import PROJECT, parse_settings

SECRET_PLACEHOLDER = "redacted-for-scan"
UNKNOWN_PLACEHOLDER = "unknown"
# Pulumi-only fields the SDK may leave in inputs; not part of any Kubernetes schema.
# Pulumi-side Kubernetes resources that are not API objects (Helm releases, YAML/kustomize groups).
_NOT_OBJECTS = frozenset({"helm.sh", "yaml", "kustomize"})
_PULUMI_ONLY = ("__pulumi_kubernetes_raw", "__inputs", "__initialApiVersion")


def api_version_and_kind(type_token: str) -> tuple[str, str] | None:
    """`kubernetes:apps/v1:Deployment` -> ("apps/v1", "Deployment"); core -> "v1". None when the
    token is not a plain Kubernetes object (providers, Helm releases, YAML/kustomize components,
    `...List` and `...Patch` types)."""
    m = re.fullmatch(r"kubernetes:([\w.-]+)/(v\w+):(\w+)", type_token)
    if not m:
        return None
    group, version, kind = m.groups()
    if group in _NOT_OBJECTS or kind.endswith(("List", "Patch")):
        return None
    return (version if group == "core" else f"{group}/{version}"), kind


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return SECRET_PLACEHOLDER
    if value == UNKNOWN:
        return UNKNOWN_PLACEHOLDER
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in _PULUMI_ONLY}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def manifest(record: Record) -> dict[str, Any] | None:
    """The Kubernetes object of one record, or None if the record is not a Kubernetes object."""
    if not record.custom:
        return None
    ak = api_version_and_kind(record.type)
    if ak is None:
        return None
    obj = _plain(record.inputs)
    if not isinstance(obj, dict):  # a whole-object secret: keep the shape, not the content
        obj = {}
    obj["apiVersion"], obj["kind"] = ak
    metadata = obj.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        metadata = obj["metadata"] = {}
    if not metadata.get("name"):
        # auto-named by the provider: use the name it reported, else the Pulumi name
        out_meta = _plain(record.outputs.get("metadata") or {})
        metadata["name"] = (out_meta.get("name") if isinstance(out_meta, dict) else None) or record.name
    return {"apiVersion": obj.pop("apiVersion"), "kind": obj.pop("kind"), **obj}


def manifests(records: Iterable[Record]) -> list[dict[str, Any]]:
    return [m for m in (manifest(r) for r in records) if m is not None]


def _file_name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    parts = [obj["kind"], meta.get("namespace", ""), meta.get("name", "")]
    return re.sub(r"[^a-z0-9.-]+", "-", "-".join(p for p in parts if p).lower()).strip("-") + ".yaml"


def write(records: Iterable[Record], out_dir: Path) -> list[Path]:
    """Write one manifest file per Kubernetes object into `out_dir` (created; old *.yaml removed,
    so a deleted object leaves no stale file behind). Returns the files written, sorted."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.yaml"):
        old.unlink()
    written: list[Path] = []
    for obj in manifests(records):
        path = out_dir / _file_name(obj)
        n = 2
        while path in written:  # same kind/namespace/name twice (two providers): keep both
            path = out_dir / _file_name(obj).replace(".yaml", f"-{n}.yaml")
            n += 1
        path.write_text(yaml.safe_dump(obj, sort_keys=False, default_flow_style=False))
        written.append(path)
    return sorted(written)


def kubernetes_version(result: RunResult) -> str:
    """The stack's AKS version as `kubernetes-validate` wants it ("1.33" -> "1.33.0")."""
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix):]: v for k, v in result.config.values.items() if k.startswith(prefix)}
    secret = {k[len(prefix):] for k in result.config.secret_keys if k.startswith(prefix)}
    aks = parse_settings(result.stack, raw, secret).aks
    if aks is None:
        raise ValueError(f"stack {result.stack} has no AKS settings")
    version = aks.kubernetes_version
    return version if version.count(".") == 2 else f"{version}.0"


def validate(objects: Iterable[dict[str, Any]], version: str) -> list[str]:
    """`kubernetes-validate --strict` over objects; one message per invalid object."""
    import kubernetes_validate

    errors = []
    for obj in objects:
        where = f"{obj['kind']}/{obj.get('metadata', {}).get('namespace', '-')}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{where}: {e.message} at {'.'.join(str(p) for p in e.path)}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as e:
            errors.append(f"{where}: {e}")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mystira_infra.manifests", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", action="append", required=True, help="stack to dry-run (repeatable)")
    parser.add_argument("--out", type=Path, default=Path("out/manifests"), help="one sub-directory per stack")
    parser.add_argument("--cwd", default=".", help="Pulumi project directory")
    parser.add_argument("--validate", action="store_true", help="kubernetes-validate --strict every object")
    args = parser.parse_args(argv)

    status = 0
    for stack in args.stack:
        result = run_stack(args.cwd, stack, preview=False)  # update mode: ids and endpoints known
        if not result.ok:
            print(f"error: dry run of {stack} failed: {result.error}", file=sys.stderr)
            status = 1
            continue
        files = write(result.records, args.out / stack)
        print(f"{stack}: {len(files)} manifests in {args.out / stack}")
        if args.validate and files:
            version = kubernetes_version(result)
            errors = validate(manifests(result.records), version)
            for err in errors:
                print(f"error: {stack}: {err}", file=sys.stderr)
            print(f"{stack}: kubernetes-validate --strict ({version}): {len(files) - len(errors)} valid, "
                  f"{len(errors)} invalid")
            status = status or (1 if errors else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
