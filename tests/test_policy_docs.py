"""The policy package's metadata and its generated page: every policy has a stable reference and a
Well-Architected pillar, docs/policy.md is what the generator writes, and the package loads the way
the CLI loads a Python pack (its directory on sys.path, `__main__.py` run as a program)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "policy"
sys.path.insert(0, str(POLICY_DIR))
import mystira_policies as mp  # noqa: E402

_spec = importlib.util.spec_from_file_location("gen_policy_docs", ROOT / "scripts" / "gen_policy_docs.py")
assert _spec and _spec.loader
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

# The pack's size when it was split into a package: a lost module would shrink it.
MIN_POLICIES = 63


def test_every_policy_has_a_well_formed_unique_reference_and_a_pillar():
    specs = list(mp.SPECS)
    assert len(specs) >= MIN_POLICIES
    no_reference = [
        s.id for s in specs if not (s.reference and re.fullmatch(mp.REFERENCE_PATTERN, s.reference))
    ]
    assert not no_reference, f"policies without a MYS.<AREA>.<NNN> reference: {no_reference}"
    no_pillar = [s.id for s in specs if not isinstance(s.pillar, mp.Pillar)]
    assert not no_pillar, f"policies without a Well-Architected pillar: {no_pillar}"
    by_reference = defaultdict(list)
    for s in specs:
        by_reference[s.reference].append(s.id)
    assert not {r: ids for r, ids in by_reference.items() if len(ids) > 1}, "references must be unique"


def test_each_module_keeps_to_its_own_area_code():
    areas: dict[str, set[str]] = defaultdict(set)
    for s in mp.SPECS:
        areas[s.module].add(s.reference.split(".")[1])
    assert len(areas) == len(mp.MODULES)
    for module, codes in areas.items():
        assert len(codes) == 1, f"{module} mixes area codes {sorted(codes)}"
        (code,) = codes
        doc = sys.modules[module].__doc__ or ""
        assert f"MYS.{code}.<NNN>" in doc, f"{module}'s docstring must name its area code MYS.{code}.<NNN>"
    owners = defaultdict(list)
    for module, codes in areas.items():
        owners[next(iter(codes))].append(module)
    assert all(len(m) == 1 for m in owners.values()), f"two modules share an area code: {dict(owners)}"


def test_registering_a_reference_twice_is_refused():
    taken = mp.SPECS[0].reference
    try:
        mp.resource_policy("test-duplicate-ref", "d", mp.LOW, "r", "x", ["t"], reference=taken)(
            lambda args, report: None
        )
    except ValueError as e:
        assert taken in str(e)
    else:  # pragma: no cover - the registration went through: undo it, then fail
        mp.SPECS.pop()
        mp.POLICIES.pop()
        raise AssertionError("a second policy took an existing reference")
    assert "test-duplicate-ref" not in mp.POLICY_IDS


def test_policy_modules_stay_small():
    sizes = {p.name: len(p.read_text().splitlines()) for p in (POLICY_DIR / "mystira_policies").glob("*.py")}
    assert len(sizes) == len(mp.MODULES) + 2  # + __init__ and framework
    assert not {name: n for name, n in sizes.items() if n > 500}, sizes


def test_docs_policy_md_is_generated_from_the_metadata():
    committed = (ROOT / "docs" / "policy.md").read_text()
    assert committed == gen.render(), "docs/policy.md is stale: run make policy-docs"


def test_generated_docs_show_reference_pillar_and_per_stack_enforcement():
    text = gen.render()
    rows = {line.split(" | ")[1].strip("`"): line for line in text.splitlines() if line.startswith("| MYS.")}
    assert set(rows) == set(mp.POLICY_IDS)
    # dev runs k8s-min-replicas as advisory (policy/config/dev.json), every other stack as mandatory.
    replicas = rows["k8s-min-replicas"].split(" | ")
    assert replicas[0] == "| MYS.K8S.006" and replicas[2] == "Reliability"
    assert replicas[4:8] == ["A", "M", "M", "M"]
    # shared's exemption is listed with its reason.
    assert "| shared | `keyvault-network-restricted` | `secrets-kv` |" in text


def test_check_mode_names_the_command_when_stale(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "policy.md"
    stale.write_text("# old\n")
    monkeypatch.setattr(gen, "DOC", stale)
    assert gen.main(["--check"]) == 1
    assert "docs/policy.md is stale: run make policy-docs" in capsys.readouterr().err


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_pack_loads_in_a_fresh_interpreter_as_the_cli_loads_it():
    # The CLI runs the pack's __main__.py with the pack directory as working directory and on sys.path.
    done = _run(
        """
        import runpy, sys, pulumi_policy
        built = []
        class Pack:
            def __init__(self, name, policies, enforcement_level=None, **kw):
                built.append((name, [p.name for p in policies], enforcement_level))
        pulumi_policy.PolicyPack = Pack
        sys.path.insert(0, ".")
        runpy.run_path("__main__.py", run_name="__main__")
        name, names, level = built[0]
        print(len(built), name, level.value, len(names), ",".join(names))
        """,
        POLICY_DIR,
    )
    assert done.returncode == 0, done.stderr
    count, name, level, n, names = done.stdout.split()
    assert (count, name, level) == ("1", "mystira-policies", "mandatory")
    assert names.split(",") == mp.POLICY_IDS and int(n) >= MIN_POLICIES


def test_a_policy_file_importing_the_framework_from_the_package_registers(tmp_path):
    # The form other policy files are written in: `from mystira_policies import resource_policy, ...`.
    (tmp_path / "extra_policies.py").write_text(
        textwrap.dedent(
            """
            from mystira_policies import HIGH, SECURITY, Spec, get, resource_policy

            @resource_policy(
                "extra-check", "d", HIGH, "r", "x", ["t"], reference="MYS.XTRA.001", pillar=SECURITY
            )
            def _extra(args, report):
                get(args.props, "x")

            assert Spec
            """
        )
    )
    done = _run(
        f"""
        import sys
        sys.path[:0] = [{str(POLICY_DIR)!r}, {str(tmp_path)!r}]
        import mystira_policies, extra_policies
        print(mystira_policies.POLICY_IDS[-1], len(mystira_policies.POLICIES), len(mystira_policies.SPECS))
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    last, policies, specs = done.stdout.split()
    assert last == "extra-check" and int(policies) == int(specs) == len(mp.POLICY_IDS) + 1
