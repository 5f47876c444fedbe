"""Environment diff: what differs between two stacks, per logical resource.

Resources are matched by role: the same type and the same logical (Pulumi) name, e.g.
`azure-native:dbforpostgresql:Server postgres-server` in dev and in prod, whatever their physical
names. Inputs are flattened to paths (`sku.name`, `agentPoolProfiles[system].count`; list items
that carry a `name` are keyed by it, so reordering is not a difference). Left out, because they
differ by construction and say nothing to a reviewer:

- physical names and ids: keys ending in `Name`/`Id`/`Ids`, `id`, `scope`, and any value after the
  environment's own tokens (`dev`, `stg`, the per-stack name suffix...) are replaced by `{env}`;
- `tags.Environment`; values unknown in either stack.

Each difference gets a category (sku, size, count, retention, ha, network, security, other) so
the ones a reviewer must read come first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mystira_infra import naming
from mystira_infra.dryrun.mocks import UNKNOWN, Record, plain

IGNORED_KEYS = {"id", "scope", "tags.Environment"}
_IGNORED_SUFFIX = re.compile(r"(Name|Id|Ids|ID|Uri|Url|[iI]ssuer|Fqdn|Endpoint)$")
CATEGORIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sku", re.compile(r"sku|tier", re.I)),
    ("ha", re.compile(r"highAvailability|zone|geoRedundant|redundan", re.I)),
    ("retention", re.compile(r"retention|softDelete|purge|ttl|timeToLive|backup", re.I)),
    ("count", re.compile(r"count|capacity|maxPods|replicas|instances", re.I)),
    ("size", re.compile(r"size|storage|quota|Gb|memory|cpu", re.I)),
    (
        "network",
        re.compile(
            r"network|public|address|subnet|firewall|ipRule|acl|privateEndpoint|"
            r"defaultAction|outbound|ingress",
            re.I,
        ),
    ),
    (
        "security",
        re.compile(r"auth|rbac|tls|ssl|encryption|disableLocal|localAuth|admin|lock|Critical", re.I),
    ),
)
ORDER = [c for c, _ in CATEGORIES] + ["other"]


@dataclass(frozen=True)
class Change:
    type: str
    name: str
    path: str
    a: Any
    b: Any
    category: str


@dataclass
class StackDiff:
    a: str
    b: str
    changes: list[Change] = field(default_factory=list)
    only_a: list[tuple[str, str]] = field(default_factory=list)  # (type, name)
    only_b: list[tuple[str, str]] = field(default_factory=list)
    matched: int = 0

    def by_resource(self) -> dict[tuple[str, str], list[Change]]:
        out: dict[tuple[str, str], list[Change]] = {}
        for c in self.changes:
            out.setdefault((c.type, c.name), []).append(c)
        return out


def _item_key(i: int, item: Any) -> str:
    if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"] != UNKNOWN:
        return item["name"]
    return str(i)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"sku": {"name": "B1"}, "pools": [{"name": "sys", "count": 1}]} ->
    {"sku.name": "B1", "pools[sys].count": 1}; empty dicts and lists are leaves."""
    out: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list) and value and not all(isinstance(v, (str, int, float, bool)) for v in value):
        keys = [_item_key(i, v) for i, v in enumerate(value)]
        if len(set(keys)) != len(keys):
            keys = [str(i) for i in range(len(value))]
        for k, v in zip(keys, value, strict=True):
            out.update(flatten(v, f"{prefix}[{k}]"))
    else:
        out[prefix] = sorted(value, key=str) if isinstance(value, list) else value
    return out


def ignored(path: str) -> bool:
    if path in IGNORED_KEYS:
        return True
    last = re.split(r"[.\[]", path)[-1].rstrip("]")
    return last in IGNORED_KEYS or bool(_IGNORED_SUFFIX.search(last))


def category(path: str) -> str:
    for name, pattern in CATEGORIES:
        if pattern.search(path):
            return name
    return "other"


def env_tokens(
    stack: str, environment: str, generation: int = 1, project: str = "mystira-infra"
) -> list[str]:
    """The strings that make a value environment-specific: env name, its short form, the name suffix."""
    tokens = {
        environment,
        naming.ENV_SHORT.get(environment, environment),
        naming.stack_suffix(project, stack, generation),
    }
    return sorted(tokens, key=len, reverse=True)


def normalise(value: Any, tokens: list[str]) -> Any:
    if isinstance(value, str):
        for t in tokens:
            value = re.sub(
                rf"(?<![A-Za-z0-9]){re.escape(t)}(?![A-Za-z])|(?<=mys){re.escape(t)}|"
                rf"(?<=[a-z]{{3}}){re.escape(t)}$",
                "{env}",
                value,
            )
        return value
    if isinstance(value, list):
        return [normalise(v, tokens) for v in value]
    return value


def diff_records(
    a: list[Record],
    b: list[Record],
    *,
    a_name: str = "A",
    b_name: str = "B",
    a_tokens: Sequence[str] = (),
    b_tokens: Sequence[str] = (),
) -> StackDiff:
    def index(records: list[Record]) -> dict[tuple[str, str], Record]:
        return {(r.type, r.name): r for r in records if r.custom and not r.type.startswith("pulumi:")}

    ia, ib = index(a), index(b)
    result = StackDiff(a=a_name, b=b_name)
    result.only_a = sorted(set(ia) - set(ib))
    result.only_b = sorted(set(ib) - set(ia))
    for key in sorted(set(ia) & set(ib)):
        result.matched += 1
        fa = flatten(plain(ia[key].inputs))
        fb = flatten(plain(ib[key].inputs))
        for path in sorted(set(fa) | set(fb)):
            if ignored(path):
                continue
            va, vb = fa.get(path), fb.get(path)
            if UNKNOWN in (va, vb):
                continue
            if normalise(va, list(a_tokens)) == normalise(vb, list(b_tokens)):
                continue
            result.changes.append(Change(key[0], key[1], path, va, vb, category(path)))
    result.changes.sort(key=lambda c: (ORDER.index(c.category), c.type, c.name, c.path))
    return result


def _show(value: Any, width: int = 48) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def render(d: StackDiff, fold: int = 3) -> str:
    """A table, most important categories first. The same change on more than `fold` resources
    (say `tags.Critical` on every prod resource) is one row naming how many resources have it."""
    lines = [
        f"Environment diff {d.a} -> {d.b}: {d.matched} resources matched by type and logical name, "
        f"{len(d.by_resource())} differ ({len(d.changes)} settings); "
        f"{len(d.only_a)} only in {d.a}, {len(d.only_b)} only in {d.b}",
        "",
    ]
    same: dict[tuple[str, str, str, str], list[str]] = {}
    for c in d.changes:
        same.setdefault((c.category, c.path, _show(c.a), _show(c.b)), []).append(c.name)
    rows = []
    for (cat, path, va, vb), names in same.items():
        shown = [names[0]] if len(names) == 1 else (names if len(names) <= fold else [])
        rows += [(cat, n, path, va, vb) for n in shown]
        if not shown:
            rows.append((cat, f"({len(names)} resources)", path, va, vb))
    if rows:
        header = ("category", "resource", "setting", d.a, d.b)
        w = [max(len(r[i]) for r in [*rows, header]) for i in range(5)]
        lines.append("  ".join(h.ljust(w[i]) for i, h in enumerate(header)).rstrip())
        lines += ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    for label, items in ((f"Only in {d.a}", d.only_a), (f"Only in {d.b}", d.only_b)):
        if items:
            lines += ["", f"{label}:"] + [f"  {t}  {n}" for t, n in items]
    return "\n".join(lines)
