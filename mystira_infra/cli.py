"""`mystira-infra`: the dry run and its insights, for a machine with no cloud and no Pulumi CLI.

    mystira-infra preview --stack STACK [--cwd DIR] [--policy-pack DIR ...] [--json]
    mystira-infra graph --stack STACK [--format mermaid|dot]
    mystira-infra diff --stack A --stack B
    mystira-infra estimate --stack STACK
    mystira-infra lifecycle [--stack STACK ...] [--warn-days 90] [--date YYYY-MM-DD]
    mystira-infra paths (--stack STACK | --plan FILE) [--format text|mermaid]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mystira_infra.dryrun import policy, render
from mystira_infra.dryrun.project import DryRunError
from mystira_infra.dryrun.runner import RunResult, run_stack


def _preview(args: argparse.Namespace) -> int:
    result = run_stack(args.cwd, args.stack, preview=args.mode == "preview")
    results = policy.run_packs(result, [Path(p) for p in args.policy_pack],
                               [Path(c) for c in args.policy_pack_config]) if result.ok else []
    if args.json:
        doc = render.preview_json(result, policy.as_diagnostics(results))
        print(json.dumps(doc, indent=2))
    else:
        if result.ok or len(result.records) > 1:  # a settings error registers nothing: no tree
            print(render.tree(result))
        text = policy.format_text(results)
        if text:
            print("\n" + text)
        if result.error:
            print(f"error: {result.error}", file=sys.stderr)
    if not result.ok:
        return 1
    return 2 if any(r.mandatory for r in results) else 0


def _run_ok(cwd: str, stack: str) -> RunResult:
    """A dry run in update mode (ids and names known), or DryRunError naming what went wrong."""
    result = run_stack(cwd, stack, preview=False)
    if not result.ok:
        raise DryRunError(f"dry run of {stack} failed: {result.error}")
    return result


def _graph(args: argparse.Namespace) -> int:
    from mystira_infra.insights import graph

    g = graph.build_graph(_run_ok(args.cwd, args.stack).records, reduce=not args.all_edges)
    title = f"{args.stack}: resources by resource group and component"
    print(graph.to_dot(g, title) if args.format == "dot" else graph.to_mermaid(g, title))
    return 0


def _diff(args: argparse.Namespace) -> int:
    from mystira_infra.insights import diff

    if len(args.stack) != 2:
        raise DryRunError("diff: give exactly two stacks: --stack A --stack B")
    runs = [_run_ok(args.cwd, s) for s in args.stack]
    tokens = [diff.env_tokens(s, r.config.values.get(f"{r.project.name}:environment", s),
                              int(r.config.values.get(f"{r.project.name}:nameGeneration", "1") or 1),
                              r.project.name)
              for s, r in zip(args.stack, runs, strict=True)]
    d = diff.diff_records(runs[0].records, runs[1].records, a_name=args.stack[0], b_name=args.stack[1],
                          a_tokens=tokens[0], b_tokens=tokens[1])
    print(diff.render(d))
    return 0


def _estimate(args: argparse.Namespace) -> int:
    from mystira_infra.insights import estimate

    print(estimate.render(estimate.estimate_records(_run_ok(args.cwd, args.stack).records), args.stack))
    return 0


def _lifecycle(args: argparse.Namespace) -> int:
    import datetime

    from mystira_infra import lifecycle

    on = datetime.date.fromisoformat(args.date) if args.date else datetime.date.today()
    lines, rc = lifecycle.report(args.cwd, args.stack, on, args.warn_days)
    print("\n".join(lines))
    return rc


def _paths(args: argparse.Namespace) -> int:
    from mystira_infra.insights import paths

    if bool(args.stack) == bool(args.plan):
        raise DryRunError("paths: give one of --stack STACK or --plan FILE")
    try:
        plan = paths.from_file(args.plan) if args.plan else paths.Plan(
            render.preview_json(_run_ok(args.cwd, args.stack)))
    except (OSError, ValueError) as e:
        raise DryRunError(f"paths: can't read plan {args.plan}: {e}") from e
    report = paths.check(plan)
    print(paths.mermaid(report, args.workload) if args.format == "mermaid" else paths.render(report))
    return 0 if report.ok else 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mystira-infra", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("preview", help="what `pulumi preview` would create, under mocks")
    p.add_argument("--stack", "-s", required=True, help="stack name (Pulumi.<stack>.yaml)")
    p.add_argument("--cwd", "-C", default=".", help="Pulumi project directory, as `pulumi -C`")
    p.add_argument("--policy-pack", action="append", default=[], metavar="DIR",
                   help="run this CrossGuard policy pack (repeatable)")
    p.add_argument("--policy-pack-config", action="append", default=[], metavar="FILE",
                   help="policy config JSON for the pack in the same position (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON shaped like `pulumi preview --json`")
    p.add_argument("--mode", choices=("preview", "update"), default="preview",
                   help="preview: computed values unknown, as a real preview of a new stack; "
                        "update: mocks fill ids and endpoints, as after `pulumi up`")
    p.set_defaults(func=_preview)

    g = sub.add_parser("graph", help="architecture diagram: resources by resource group and component")
    g.add_argument("--stack", "-s", required=True)
    g.add_argument("--cwd", "-C", default=".")
    g.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    g.add_argument("--all-edges", action="store_true", help="every dependency, not the transitive reduction")
    g.set_defaults(func=_graph)

    d = sub.add_parser("diff", help="what differs between two stacks, per logical resource")
    d.add_argument("--stack", "-s", action="append", required=True, help="give twice: --stack A --stack B")
    d.add_argument("--cwd", "-C", default=".")
    d.set_defaults(func=_diff)

    e = sub.add_parser("estimate", help="critical path of a cold `pulumi up` (per-type durations)")
    e.add_argument("--stack", "-s", required=True)
    e.add_argument("--cwd", "-C", default=".")
    e.set_defaults(func=_estimate)

    lc = sub.add_parser("lifecycle",
                        help="pinned versions against Azure's retirement dates (exit 1 on any finding)")
    lc.add_argument("--stack", "-s", action="append", default=[],
                    help="repeatable; default: every stack file")
    lc.add_argument("--cwd", "-C", default=".")
    lc.add_argument("--warn-days", type=int, default=90, help="fail this many days ahead of a retirement")
    lc.add_argument("--date", help="check as of this day (YYYY-MM-DD; default today)")
    lc.set_defaults(func=_lifecycle)

    pa = sub.add_parser("paths", help="prove each AKS workload's request, image, identity, dependency paths")
    pa.add_argument("--stack", "-s", help="dry run this stack (update mode)")
    pa.add_argument("--plan", help="a saved `pulumi preview --json` document instead")
    pa.add_argument("--cwd", "-C", default=".")
    pa.add_argument("--format", choices=("text", "mermaid"), default="text")
    pa.add_argument("--workload", help="mermaid: only this workload's paths")
    pa.set_defaults(func=_paths)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DryRunError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
