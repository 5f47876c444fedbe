"""Run a Pulumi Python program's stack under the SDK's mock runtime and record what it declares.

The same function serves the `mystira-infra` command and the test harness. Each run resets the
Pulumi runtime, uses a fresh event loop, and restores `sys.path`, the working directory and the
loaded program modules afterwards, so runs don't leak into each other.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import runpy
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from mystira_infra.dryrun.mocks import AzureMocks, Record, RecordingMonitor, Secret, unwrap
from mystira_infra.dryrun.project import (
    DryRunError,
    Project,
    StackConfig,
    load_project,
    load_stack_config,
    to_cli_string,
)

DEFAULT_REGION = "southafricanorth"


@dataclass
class Diagnostic:
    severity: str  # info, warning, error
    message: str
    urn: str = ""


@dataclass
class RunResult:
    project: Project
    stack: str
    config: StackConfig
    preview: bool
    records: list[Record] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: str | None = None  # a program error: the run is incomplete
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def resources(self, type_: str | None = None) -> list[Record]:
        return [r for r in self.records if r.custom and (type_ is None or r.type == type_)]

    def by_type(self, type_: str) -> list[Record]:
        return [r for r in self.records if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Record:
        found = [r for r in self.by_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_} named {name!r}, found {[r.name for r in found]}")
        return found[0]

    def get(self, urn: str) -> Record:
        for r in self.records:
            if r.urn == urn:
                return r
        raise LookupError(urn)


class _Collector(logging.Handler):
    def __init__(self, sink: list[Diagnostic]) -> None:
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        level = {logging.ERROR: "error", logging.WARNING: "warning"}.get(record.levelno, "info")
        self.sink.append(Diagnostic(level, record.getMessage()))


def _clear_aliases(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    # Aliases only match a resource against earlier state, which a dry run doesn't have; computing
    # azure-native's ~20 type aliases per resource is ~90 % of registration time (DESIGN.md
    # section 7). Never do this in a real preview/up, where aliases protect existing resources.
    if args.opts and args.opts.aliases:
        return pulumi.ResourceTransformationResult(args.props, _without_aliases(args.opts))
    return None


def _without_aliases(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    copy = pulumi.ResourceOptions.merge(opts, None)
    copy.aliases = []
    return copy


def run_stack(
    directory: str | Path,
    stack: str,
    *,
    preview: bool = True,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
    overrides: dict[str, Any] | None = None,
    clear_aliases: bool = True,
    _depth: int = 0,
) -> RunResult:
    """Run `stack` of the program in `directory`. Stack references to another stack of the same
    project are answered from that stack's own dry run (run first, once), so the two can't drift.

    `overrides` (tests) replaces config keys after the stack file is read: `{"region": "x"}` for
    the project's namespace, a full `ns:key` otherwise; the value None removes the key.
    `clear_aliases=False` keeps azure-native's type aliases (slower; the benchmark compares both)."""
    project = load_project(directory)
    config = load_stack_config(project, stack)
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{project.name}:{key}"
        if value is None:
            config.values.pop(full, None)
        else:
            config.values[full] = to_cli_string(value)
    known = dict(stack_outputs or {})

    def answer(refs: list[str]) -> None:
        for ref in refs:
            ref_stack = ref.split("/")[-1]
            if ref in known or ref_stack == stack or _depth >= 2:
                continue
            if (project.directory / f"Pulumi.{ref_stack}.yaml").exists():
                sub = run_stack(project.directory, ref_stack, preview=False, stack_outputs=known,
                                clear_aliases=clear_aliases, _depth=_depth + 1)
                if not sub.ok:
                    raise DryRunError(f"stack reference {ref}: its dry run failed: {sub.error}")
                known[ref] = sub.outputs

    # Saves a second run in the common case: a config value naming `<org>/<project>/<stack>` of a
    # stack file here is most likely the StackReference the program will make. Anything this
    # misses is caught below: the run records the references it couldn't answer and is repeated.
    answer([v for v in config.values.values() if re.fullmatch(r"[\w.-]+/[\w.-]+/[\w.-]+", v)])
    result = _run_once(project, config, stack, preview, known, clear_aliases)
    if result.missing_refs and _depth < 2:
        answer(result.missing_refs)
        result = _run_once(project, config, stack, preview, known, clear_aliases)
    for ref in result.missing_refs:
        result.diagnostics.append(
            Diagnostic("warning", f"stack reference {ref}: no such stack here; outputs empty")
        )
    return result


class _Result(RunResult):
    missing_refs: list[str]


def _run_once(project: Project, config: StackConfig, stack: str, preview: bool,
              known: dict[str, dict[str, Any]], clear_aliases: bool = True) -> _Result:
    started = time.perf_counter()
    result = _Result(project=project, stack=stack, config=config, preview=preview)
    logger = logging.getLogger(f"mystira-infra.dryrun.{id(result)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(_Collector(result.diagnostics))

    region = (
        config.values.get(f"{project.name}:region")
        or config.values.get("azure-native:location")
        or DEFAULT_REGION
    )
    mocks = AzureMocks(preview=preview, region=region, stack_outputs=lambda ref: known.get(ref))
    monitor = RecordingMonitor(mocks)

    saved_path, saved_cwd = list(sys.path), os.getcwd()
    saved_modules = set(sys.modules)
    loop = asyncio.new_event_loop()
    # The program's error is result.error; the SDK's orphaned futures would repeat it on stderr
    # with a traceback ("Future exception was never retrieved") when garbage-collected.
    loop.set_exception_handler(lambda _loop, _context: None)
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.reset_options(project=project.name, stack=stack, preview=preview)
        pulumi.runtime.set_mocks(mocks, project=project.name, stack=stack, preview=preview, logger=logger,
                                 monitor=monitor)
        pulumi.runtime.set_all_config(config.values, secret_keys=config.secret_keys)
        if clear_aliases:
            pulumi.runtime.register_stack_transformation(_clear_aliases)
        runtime_settings.SETTINGS.rpc_manager.clear()
        runtime_settings.SETTINGS.outputs.clear()
        sys.path.insert(0, str(project.directory))
        os.chdir(project.directory)
        try:
            # cast: run_pulumi_func awaits an awaitable result and ignores any other (the module globals).
            program = cast(Callable[[], None], lambda: runpy.run_path(str(project.main), run_name="__main__"))
            _sync_await(run_pulumi_func(program))
            result.outputs = _sync_await(_resolve_outputs())
        except pulumi.RunError as e:  # includes SettingsError: a clean message, no traceback
            result.error = str(e)
        except SystemExit as e:
            result.error = f"program exited with status {e.code}"
        except Exception as e:  # a program bug: keep the traceback, it is the useful part
            result.error = f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        # Program modules (components, stacks, ...) are re-imported on the next run, so a run of
        # another program directory never sees this one's modules.
        for name in set(sys.modules) - saved_modules:
            module = sys.modules.get(name)
            file = str(getattr(module, "__file__", None) or "")
            if file.startswith(str(project.directory)) and "site-packages" not in file:
                del sys.modules[name]
                # A package imported before the run keeps its submodule as an attribute; drop it too,
                # or the next run's `from package import submodule` gets the stale module.
                parent, _, child = name.rpartition(".")
                if parent in sys.modules and getattr(sys.modules[parent], child, None) is module:
                    delattr(sys.modules[parent], child)
        pulumi.runtime.reset_options()
        _cancel_pending(loop)
        loop.close()
        asyncio.set_event_loop(None)

    result.records = [monitor.records[u] for u in monitor.order]
    result.missing_refs = list(dict.fromkeys(mocks.missing_stack_refs))
    result.duration_s = time.perf_counter() - started
    if any(d.severity == "error" for d in result.diagnostics) and result.error is None:
        result.error = next(d.message for d in result.diagnostics if d.severity == "error")
    return result


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    # After a program error the SDK leaves registrations pending; closing the loop with them would
    # print thousands of "Task was destroyed but it is pending!" lines over the one-line error.
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


async def _resolve_outputs() -> dict[str, Any]:
    root = runtime_settings.get_root_resource()
    if root is None:
        return {}
    out: dict[str, Any] = {}
    for key, value in getattr(root, "outputs", {}).items():
        output = pulumi.Output.from_input(value)
        resolved = unwrap(await output.future(with_unknowns=True))
        if await output.is_secret():
            resolved = Secret(resolved)
        out[key] = resolved
    return out
