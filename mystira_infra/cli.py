"""`mystira-infra`: the dry run and its insights, for a machine with no cloud and no Pulumi CLI.

    mystira-infra preview --stack STACK [--cwd DIR] [--policy-pack DIR ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mystira_infra.dryrun import policy, render
from mystira_infra.dryrun.project import DryRunError
from mystira_infra.dryrun.runner import run_stack


def _preview(args: argparse.Namespace) -> int:
    result = run_stack(args.cwd, args.stack, preview=args.mode == "preview")
    results = policy.run_packs(result, [Path(p) for p in args.policy_pack],
                               [Path(c) for c in args.policy_pack_config]) if result.ok else []
    if args.json:
        doc = render.preview_json(result, policy.as_diagnostics(results))
        print(json.dumps(doc, indent=2))
    else:
        print(render.tree(result))
        text = policy.format_text(results)
        if text:
            print("\n" + text)
        if result.error:
            print(f"\nerror: {result.error}", file=sys.stderr)
    if not result.ok:
        return 1
    return 2 if any(r.mandatory for r in results) else 0


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
