"""Test harness: build any stack under the Pulumi SDK's mock runtime, isolated per run.

Every run goes through `mystira_infra.dryrun.runner.run_stack`, which resets the runtime, uses a
fresh event loop, sets the stack's config as the CLI would and records every resource. Runs of the
committed stack files are cached per (stack, mode) for the session: they are deterministic and
tests only read them. Tests that change config use `build_stack(..., overrides=...)`.

Modes: "update" (ids, principal ids and endpoints known, as after `pulumi up`) and "preview"
(computed values unknown, as a real `pulumi preview` of a new stack sees them).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pulumi
import pytest

from mystira_infra.dryrun.runner import RunResult, run_stack

ROOT = Path(__file__).resolve().parent.parent
ENV_STACKS = ("dev", "staging", "prod")
ALL_STACKS = ("shared", *ENV_STACKS)
MODES = ("update", "preview")

_cache: dict[tuple[str, str], RunResult] = {}


def build_stack(stack: str, mode: str = "update", *, overrides: dict[str, Any] | None = None,
                directory: Path = ROOT) -> RunResult:
    assert mode in MODES
    return run_stack(directory, stack, preview=mode == "preview", overrides=overrides)


def stack_run(stack: str, mode: str = "update") -> RunResult:
    """The (cached) run of a committed stack file; fails the test if the program errored."""
    key = (stack, mode)
    if key not in _cache:
        result = build_stack(stack, mode)
        if not result.ok:
            pytest.fail(f"dry run of {stack} ({mode}) failed: {result.error}")
        _cache[key] = result
    return _cache[key]


@pytest.fixture(autouse=True)
def _isolated_runtime():
    """A fresh event loop and a reset Pulumi runtime around every test."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.reset_options()
    yield
    pulumi.runtime.reset_options()
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture(params=ENV_STACKS)
def env_stack(request) -> str:
    return request.param


@pytest.fixture(params=MODES)
def mode(request) -> str:
    return request.param
