"""Benchmark of the dry run: all four stacks, and the alias-clearing speedup (DESIGN.md section 7).

    .venv/bin/python benchmarks/bench_dryrun.py [--runs N] [--stacks dev,prod] [--json]
    make bench ARGS="--runs 5"

1. Times `run_stack` of each stack (preview mode, the `mystira-infra preview` default) N times and
   prints the median, min and max, plus the resource count.
2. Times each stack with and without the `_clear_aliases` stack transformation
   (`run_stack(..., clear_aliases=False)`), checks that the recorded inputs, parents and
   dependencies are identical both ways (aliases only match earlier state, so clearing them must
   change nothing a dry run records), and prints both medians and the ratio.

Each run is in-process, after a warm-up run that pays the one-off import of the provider SDKs
(several seconds for azure-native), as the test suite does once per session. Wall-clock time
(`time.perf_counter`); on a busy machine use more runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mystira_infra.dryrun.render import jsonable  # noqa: E402
from mystira_infra.dryrun.runner import RunResult, run_stack  # noqa: E402

STACKS = ("shared", "dev", "staging", "prod")


CPU: list[float] = []  # CPU seconds of each timed run, in order (less sensitive to a busy machine)


def _timed(stack: str, clear_aliases: bool) -> tuple[float, RunResult]:
    started, cpu = time.perf_counter(), time.process_time()
    result = run_stack(ROOT, stack, preview=True, clear_aliases=clear_aliases)
    elapsed = time.perf_counter() - started
    CPU.append(time.process_time() - cpu)
    if not result.ok:
        raise SystemExit(f"dry run of {stack} failed: {result.error}")
    return elapsed, result


def _fingerprint(result: RunResult) -> str:
    # Sorted by URN: registration order varies from run to run (the SDK's tasks interleave).
    return json.dumps(
        sorted((r.urn, r.type, r.parent, jsonable(r.inputs), sorted(r.dependencies)) for r in result.records),
        sort_keys=True,
        default=str,
    )


def _summary(times: list[float]) -> dict[str, float]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per stack and variant (median reported)")
    parser.add_argument("--stacks", default=",".join(STACKS), help="comma-separated stacks")
    parser.add_argument("--alias-runs", type=int, default=None, help="runs for the alias comparison")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)
    stacks = [s for s in args.stacks.split(",") if s]
    alias_runs = args.alias_runs or max(1, min(args.runs, 3))

    _timed(stacks[0], True)  # warm-up: imports of pulumi, azure-native, azuread, kubernetes

    report: dict[str, dict] = {"stacks": {}, "aliases": {}}
    for stack in stacks:
        times, result = [], None
        CPU.clear()
        for _ in range(args.runs):
            t, result = _timed(stack, True)
            times.append(t)
        assert result is not None
        report["stacks"][stack] = {
            **_summary(times),
            "cpu_median": statistics.median(CPU),
            "resources": len(result.records),
            "runs": args.runs,
        }

    for stack in stacks:
        with_clear, without, cpu_on, cpu_off = [], [], [], []
        prints = set()
        for _ in range(alias_runs):
            t, r = _timed(stack, True)
            with_clear.append(t)
            cpu_on.append(CPU[-1])
            prints.add(_fingerprint(r))
            t, r = _timed(stack, False)
            without.append(t)
            cpu_off.append(CPU[-1])
            prints.add(_fingerprint(r))
        if len(prints) != 1:
            raise SystemExit(f"{stack}: recorded resources differ with and without clearing aliases")
        on, off = statistics.median(with_clear), statistics.median(without)
        report["aliases"][stack] = {
            "cleared_median": on,
            "kept_median": off,
            "speedup": off / on,
            "cleared_cpu_median": statistics.median(cpu_on),
            "kept_cpu_median": statistics.median(cpu_off),
            "identical_records": True,
            "runs": alias_runs,
        }

    total_on = sum(v["cleared_median"] for v in report["aliases"].values())
    total_off = sum(v["kept_median"] for v in report["aliases"].values())
    report["machine"] = {
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0

    print(f"Dry run (preview mode), {args.runs} runs per stack, after one warm-up run")
    print(f"  {'stack':<8} {'resources':>9} {'median':>8} {'min':>8} {'max':>8} {'cpu':>8}")
    for stack, v in report["stacks"].items():
        print(
            f"  {stack:<8} {v['resources']:>9} {v['median']:>7.2f}s {v['min']:>7.2f}s {v['max']:>7.2f}s"
            f" {v['cpu_median']:>7.2f}s"
        )
    all_median = sum(v["median"] for v in report["stacks"].values())
    print(f"  all stacks, sum of medians: {all_median:.2f}s (an environment stack's run includes the")
    print("  shared stack's, which answers its StackReference)")
    print()
    print(f"Alias clearing (DESIGN.md section 7), {alias_runs} runs each; records identical both ways")
    print(f"  {'stack':<8} {'cleared':>8} {'kept':>8} {'speedup':>8} {'cpu ratio':>10}")
    for stack, v in report["aliases"].items():
        cpu_ratio = v["kept_cpu_median"] / v["cleared_cpu_median"]
        print(
            f"  {stack:<8} {v['cleared_median']:>7.2f}s {v['kept_median']:>7.2f}s {v['speedup']:>7.1f}x"
            f" {cpu_ratio:>9.1f}x"
        )
    print(f"  {'total':<8} {total_on:>7.2f}s {total_off:>7.2f}s {total_off / total_on:>7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
