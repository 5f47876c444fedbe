"""Run CrossGuard policy packs over a dry run's records, as the Pulumi CLI's analyzer would.

Any Python CrossGuard pack directory works (`PulumiPolicy.yaml` + its main program), not only
ours: the pack's program runs with `pulumi_policy.PolicyPack` replaced by a stand-in that keeps
the name, policies, enforcement level and initial config instead of starting the analyzer's
gRPC server. Then each custom resource's recorded inputs go to every resource policy the way the
analyzer passes them (`unknown_checking_proxy(deserialize_properties(...))`: camelCase wire
names, numbers as floats, secrets unwrapped, unknowns as the engine's sentinels), and every
recorded resource goes to the stack policies as linked `PolicyResource`s.

Like the CLI:
- a policy that touches an unknown value gets an advisory "can't run policy ... during preview";
- `--policy-pack-config FILE` is the CLI's JSON (`{"all": "mandatory", "<policy>": "advisory" |
  {"enforcementLevel": ..., <properties>}}`), in the same position as its pack;
- `pulumi.get_stack()` / `get_project()` / `is_dry_run()` work inside policies (the CLI sets
  PULUMI_STACK, PULUMI_PROJECT and PULUMI_DRY_RUN for the analyzer).
Unlike the CLI, a pack without `--policy-pack-config` uses `<pack>/config/<stack>.json` when it
exists, and says so.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_policy
import yaml
from pulumi.runtime import settings as runtime_settings
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import policy as policy_module
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from mystira_infra.dryrun.mocks import Record, plain
from mystira_infra.dryrun.project import DryRunError
from mystira_infra.dryrun.runner import RunResult

LEVELS = {"advisory", "mandatory", "remediate", "disabled"}


@dataclass
class PolicyResult:
    pack: str
    policy: str
    enforcement: str  # mandatory | advisory
    message: str
    urn: str = ""
    version: str = ""
    description: str = ""
    severity: str = ""
    kind: str = "violation"  # violation | note (a policy that couldn't run during preview)

    @property
    def mandatory(self) -> bool:
        return self.enforcement == "mandatory" and self.kind == "violation"


@dataclass
class LoadedPack:
    name: str
    version: str
    directory: Path
    policies: list[Any]
    enforcement_level: str  # the pack's default
    initial_config: dict[str, Any] = field(default_factory=dict)


@dataclass
class PackRun:
    pack: LoadedPack
    config_source: str  # a file path, "<pack>/config/<stack>.json (default)", or "none"
    results: list[PolicyResult]


class _CapturedPack:
    """Stands in for `pulumi_policy.PolicyPack` while a pack's program runs: keeps the arguments."""

    captured: list[dict[str, Any]] = []

    def __init__(self, name, policies, enforcement_level=None, initial_config=None, **_kwargs) -> None:
        _CapturedPack.captured.append(
            {
                "name": name,
                "policies": list(policies),
                "enforcement_level": enforcement_level,
                "initial_config": dict(initial_config or {}),
            }
        )


def _level(value: Any, where: str) -> str:
    text = value.value if isinstance(value, EnforcementLevel) else str(value)
    if text not in LEVELS:
        raise DryRunError(f"{where}: enforcement level {text!r} is not one of {', '.join(sorted(LEVELS))}")
    return text


def load_pack(directory: Path) -> LoadedPack:
    """Run a Python CrossGuard pack's program with a capturing PolicyPack and return what it built."""
    directory = Path(directory).resolve()
    meta_file = directory / "PulumiPolicy.yaml"
    if not meta_file.exists():
        raise DryRunError(f"--policy-pack {directory}: no PulumiPolicy.yaml (not a policy pack directory)")
    meta = yaml.safe_load(meta_file.read_text()) or {}
    runtime = meta.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise DryRunError(
            f"--policy-pack {directory}: runtime {runtime_name!r}; the dry run runs Python packs only"
        )
    main = directory / str(meta.get("main") or "")
    if main.is_dir() or not str(meta.get("main") or ""):
        main = main / "__main__.py"
    if not main.exists():
        raise DryRunError(f"--policy-pack {directory}: {main} not found")

    saved_path, saved_modules = list(sys.path), set(sys.modules)
    saved_pack = (pulumi_policy.PolicyPack, policy_module.PolicyPack)
    _CapturedPack.captured = []
    pulumi_policy.PolicyPack = policy_module.PolicyPack = _CapturedPack  # type: ignore[misc,assignment]
    sys.path.insert(0, str(main.parent))
    try:
        runpy.run_path(str(main), run_name="__main__")
    except DryRunError:
        raise
    except Exception as e:
        raise DryRunError(f"--policy-pack {directory}: its program failed: {type(e).__name__}: {e}") from e
    finally:
        pulumi_policy.PolicyPack, policy_module.PolicyPack = saved_pack  # type: ignore[misc]
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:  # the next load re-imports the pack's modules
            file = str(getattr(sys.modules.get(name), "__file__", None) or "")
            if file.startswith(str(directory)):
                del sys.modules[name]
    if len(_CapturedPack.captured) != 1:
        raise DryRunError(
            f"--policy-pack {directory}: expected its program to build one PolicyPack, "
            f"it built {len(_CapturedPack.captured)}"
        )
    got = _CapturedPack.captured[0]
    level = (
        _level(got["enforcement_level"], f"pack {got['name']}") if got["enforcement_level"] else "advisory"
    )
    return LoadedPack(
        name=got["name"],
        version=str(meta.get("version") or "0.0.1"),
        directory=directory,
        policies=got["policies"],
        enforcement_level=level,
        initial_config=got["initial_config"],
    )


def _normalize(config: dict[str, Any], where: str) -> dict[str, tuple[str | None, dict[str, Any]]]:
    out: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for key, value in config.items():
        if isinstance(value, (str, EnforcementLevel)):
            out[key] = (_level(value, f"{where}: {key}"), {})
        elif isinstance(value, dict):
            level = value.get("enforcementLevel")
            props = {k: v for k, v in value.items() if k != "enforcementLevel"}
            out[key] = (_level(level, f"{where}: {key}") if level is not None else None, props)
        else:
            raise DryRunError(f"{where}: {key}: expected an enforcement level or an object, got {value!r}")
    return out


def read_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise DryRunError(f"--policy-pack-config {path}: {e}") from e
    if not isinstance(data, dict):
        raise DryRunError(f"--policy-pack-config {path}: expected a JSON object")
    return data


@dataclass
class _Effective:
    level: str
    config: dict[str, Any]


def effective_config(
    pack: LoadedPack, file_config: dict[str, Any] | None, where: str = "config"
) -> dict[str, _Effective]:
    """Per policy: enforcement level and config properties, resolved as the CLI does
    (file > pack initial config; a policy's own entry > "all"; then the policy's and the pack's
    defaults), with schema defaults filled in."""
    initial = _normalize(pack.initial_config, f"pack {pack.name} initial_config")
    given = _normalize(file_config or {}, where)
    names = {p.name for p in pack.policies}
    for key in given:
        if key != "all" and key not in names:
            raise DryRunError(f"{where}: {key!r} is not a policy of pack {pack.name}")
    out: dict[str, _Effective] = {}
    for p in pack.policies:
        level = None
        for source in (given.get(p.name), given.get("all"), initial.get(p.name), initial.get("all")):
            if source and source[0]:
                level = source[0]
                break
        if level is None:
            level = _level(p.enforcement_level, p.name) if p.enforcement_level else pack.enforcement_level
        props: dict[str, Any] = {}
        schema = getattr(p, "config_schema", None)
        for key, spec in (schema.properties or {}).items() if schema else []:
            if isinstance(spec, dict) and "default" in spec:
                props[key] = spec["default"]
        for source in (initial.get(p.name), given.get(p.name)):
            if source:
                props.update(source[1])
        out[p.name] = _Effective(level, props)
    return out


# ------------------------------------------------------------------------ analyzer-shaped arguments


def analyzer_props(inputs: dict[str, Any]) -> Any:
    """What a policy's `args.props` is under the CLI: secrets unwrapped, unknowns as sentinels,
    wrapped in the proxy that raises UnknownValueError when an unknown value is touched."""
    return unknown_checking_proxy(deserialize_properties(plain(inputs)))


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")


def _seconds(text: str | None) -> float:
    if not text:
        return 0.0
    factor = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * factor[u] for n, u in _DURATION.findall(text))


def policy_options(rec: Record) -> PolicyResourceOptions:
    t = rec.custom_timeouts or {}
    return PolicyResourceOptions(
        protect=bool(rec.protect),
        ignore_changes=list(rec.ignore_changes),
        delete_before_replace=rec.delete_before_replace or None,
        aliases=[],  # the dry run clears aliases (they only match earlier state)
        custom_timeouts=PolicyCustomTimeouts(
            _seconds(t.get("create")), _seconds(t.get("update")), _seconds(t.get("delete"))
        ),
        additional_secret_outputs=list(rec.additional_secret_outputs),
        parent=rec.parent or None,
    )


def resource_args(
    resource_type: str,
    inputs: dict[str, Any],
    *,
    urn: str = "",
    name: str = "",
    opts: PolicyResourceOptions | None = None,
    provider: PolicyProviderResource | None = None,
    config: dict[str, Any] | None = None,
) -> ResourceValidationArgs:
    """The ResourceValidationArgs the analyzer builds for one resource (tests use it directly)."""
    name = name or "res"
    urn = urn or f"urn:pulumi:stack::project::{resource_type}::{name}"
    if opts is None:
        opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    return ResourceValidationArgs(
        resource_type, analyzer_props(inputs), urn, name, opts, provider, dict(config) if config else None, {}
    )


def _provider_for(rec: Record, by_urn: dict[str, Record]) -> PolicyProviderResource | None:
    if not rec.provider:
        return None
    urn = rec.provider.rsplit("::", 1)[0]
    prov = by_urn.get(urn)
    if prov is None:
        return None
    return PolicyProviderResource(prov.type, analyzer_props(prov.inputs), prov.urn, prov.name)


def stack_resources(records: list[Record]) -> list[PolicyResource]:
    """PolicyResources for AnalyzeStack: props are the (recorded) outputs, falling back to the
    inputs; parent, dependencies and property dependencies linked to the resource objects."""
    by_urn: dict[str, Record] = {r.urn: r for r in records}
    out: dict[str, PolicyResource] = {}
    for r in records:
        props = r.outputs if r.outputs else r.inputs
        out[r.urn] = PolicyResource(
            r.type,
            analyzer_props(props),
            r.urn,
            r.name,
            policy_options(r),
            _provider_for(r, by_urn),
            None,
            [],
            {},
        )
    for r in records:
        res = out[r.urn]
        res.parent = out.get(r.parent)
        res.dependencies = [out[d] for d in r.dependencies if d in out]
        res.property_dependencies = {
            k: [out[d] for d in v if d in out] for k, v in r.property_dependencies.items()
        }
    return list(out.values())


# ------------------------------------------------------------------------------------------ run


class _Reporter:
    def __init__(self, pack: LoadedPack, policy: Any, level: str, default_urn: str, sink: list[PolicyResult]):
        self.pack, self.policy, self.level, self.default_urn, self.sink = (
            pack,
            policy,
            level,
            default_urn,
            sink,
        )

    def __call__(self, message: str, urn: str | None = None) -> None:
        severity = getattr(self.policy, "severity", None)
        self.sink.append(
            PolicyResult(
                pack=self.pack.name,
                version=self.pack.version,
                policy=self.policy.name,
                enforcement=self.level,
                message=message or "",
                urn=urn or self.default_urn,
                description=self.policy.description,
                severity=severity.value if severity is not None else "",
            )
        )


def _call(
    policy: Any, args: Any, report: _Reporter, pack: LoadedPack, urn: str, sink: list[PolicyResult]
) -> None:
    try:
        result = policy.validate(args, report)
        if inspect.isawaitable(result):
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(result)
            finally:
                loop.close()
    except UnknownValueError as e:
        sink.append(
            PolicyResult(
                pack=pack.name,
                version=pack.version,
                policy=policy.name,
                enforcement="advisory",
                urn=urn,
                kind="note",
                description=policy.description,
                message=(
                    f"can't run policy '{policy.name}' from policy pack '{pack.name}@v{pack.version}' "
                    f"during preview: {e.message}"
                ),
            )
        )
    except policy_module._NotApplicableError:
        pass
    except Exception as e:  # the CLI fails the preview when a policy crashes; so do we
        raise DryRunError(
            f"policy {policy.name} (pack {pack.name}) failed on {urn or 'the stack'}: {type(e).__name__}: {e}"
        ) from e


def run_pack(
    result: RunResult, pack: LoadedPack, file_config: dict[str, Any] | None, where: str = "config"
) -> list[PolicyResult]:
    effective = effective_config(pack, file_config, where)
    sink: list[PolicyResult] = []
    by_urn = {r.urn: r for r in result.records}
    saved = runtime_settings.SETTINGS
    # As the analyzer does from PULUMI_PROJECT/PULUMI_STACK/PULUMI_DRY_RUN: get_stack() works in policies.
    pulumi.runtime.configure(
        pulumi.runtime.Settings(
            project=result.project.name,
            stack=result.stack,
            dry_run=result.preview,
            organization="organization",
        )
    )
    try:
        resource_policies = [
            p
            for p in pack.policies
            if isinstance(p, ResourceValidationPolicy) and effective[p.name].level != "disabled"
        ]
        for rec in result.records:
            if not rec.custom or rec.type.startswith("pulumi:providers:") and rec.name.startswith("default"):
                continue
            provider = _provider_for(rec, by_urn)
            # Deserialized once; each policy gets its own proxy (a fresh copy, as the analyzer
            # deserializes per policy), so one policy's writes never reach the next.
            base = deserialize_properties(plain(rec.inputs))
            for p in resource_policies:
                eff = effective[p.name]
                level = "mandatory" if eff.level == "remediate" else eff.level
                args = ResourceValidationArgs(
                    rec.type,
                    unknown_checking_proxy(base),
                    rec.urn,
                    rec.name,
                    policy_options(rec),
                    provider,
                    dict(eff.config) or None,
                    {},
                )
                _call(p, args, _Reporter(pack, p, level, rec.urn, sink), pack, rec.urn, sink)
        stack_policies = [
            p
            for p in pack.policies
            if isinstance(p, StackValidationPolicy) and effective[p.name].level != "disabled"
        ]
        if stack_policies:
            resources = stack_resources(result.records)
            for sp in stack_policies:
                eff = effective[sp.name]
                level = "mandatory" if eff.level == "remediate" else eff.level
                stack_args = StackValidationArgs(resources, dict(eff.config) or None, {})
                _call(sp, stack_args, _Reporter(pack, sp, level, "", sink), pack, "", sink)
    finally:
        pulumi.runtime.configure(saved)
    return sink


_last_runs: list[PackRun] = []


def run_packs(result: RunResult, pack_dirs: list[Path], config_files: list[Path]) -> list[PolicyResult]:
    """Run each pack (with the config file in the same position, if any) over the dry run."""
    if len(config_files) > len(pack_dirs):
        raise DryRunError("--policy-pack-config: more config files than --policy-pack directories")
    runs: list[PackRun] = []
    for i, directory in enumerate(pack_dirs):
        pack = load_pack(Path(directory))
        if i < len(config_files):
            source, file_config = str(config_files[i]), read_config(config_files[i])
        else:
            default = pack.directory / "config" / f"{result.stack}.json"
            if default.exists():
                source, file_config = f"{default} (default for stack {result.stack})", read_config(default)
            else:
                source, file_config = "none", None
        runs.append(PackRun(pack, source, run_pack(result, pack, file_config, source)))
    _last_runs[:] = runs
    return [r for run in runs for r in run.results]


def _location(urn: str) -> str:
    if not urn:
        return "stack"
    parts = urn.split("::")
    return f"{parts[-2].split('$')[-1]}: {parts[-1]}" if len(parts) >= 4 else urn


def format_text(results: list[PolicyResult]) -> str:
    """The CLI's policy section: packs with their config, then each violation and note."""
    if not _last_runs and not results:
        return ""
    lines = ["Policy Violations:" if any(r.kind == "violation" for r in results) else "Policies:"]
    runs = _last_runs or []
    packs = [(run.pack.name, run.pack.version, str(run.pack.directory), run.config_source) for run in runs]
    if not packs:
        packs = sorted({(r.pack, r.version, "", "") for r in results})
    for name, version, directory, source in packs:
        mine = [r for r in results if r.pack == name]
        violations = [r for r in mine if r.kind == "violation"]
        mark = "❌" if any(r.mandatory for r in violations) else ("⚠️" if violations else "✅")
        where = f" (local: {directory})" if directory else ""
        lines.append(f"    {mark} {name}@v{version}{where}")
        if source:
            lines.append(f"        config: {source}")
        counts = {
            lvl: sum(1 for r in violations if r.enforcement == lvl) for lvl in ("mandatory", "advisory")
        }
        lines.append(
            f"        {counts['mandatory']} mandatory, {counts['advisory']} advisory violation(s), "
            f"{sum(1 for r in mine if r.kind == 'note')} note(s)"
        )
        for r in sorted(
            mine, key=lambda r: (r.kind != "violation", r.enforcement != "mandatory", r.policy, r.urn)
        ):
            label = "[note]" if r.kind == "note" else f"[{r.enforcement}]"
            lines.append(f"        - {label}  {r.policy}  ({_location(r.urn)})")
            if r.kind == "violation" and r.description:
                lines.append(f"          {r.description}")
            lines.append(f"          {r.message}")
    return "\n".join(lines)


def as_diagnostics(results: list[PolicyResult]) -> list[dict]:
    """Diagnostics for the JSON digest. `pulumi preview --json` leaves policy events out of its
    digest; their engine-event form (apitype.PolicyEvent) carries policyName, policyPackName,
    policyPackVersion and enforcementLevel, which each entry keeps beside urn/message/severity."""
    out = []
    for r in results:
        severity = "error" if r.mandatory else "warning"
        out.append(
            {
                "urn": r.urn or None,
                "message": f"[{r.enforcement}] {r.pack} v{r.version}: {r.policy}: {r.message}",
                "severity": severity,
                "policyName": r.policy,
                "policyPackName": r.pack,
                "policyPackVersion": r.version,
                "enforcementLevel": r.enforcement,
            }
        )
    return out
