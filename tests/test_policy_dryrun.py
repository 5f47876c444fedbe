"""The dry run runs CrossGuard packs like the CLI: any Python pack, its config file, unknown
values reported as advisory notes, mandatory violations failing the command."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from mystira_infra import cli
from mystira_infra.dryrun import policy
from mystira_infra.dryrun.project import DryRunError
from mystira_infra.dryrun.runner import RunResult, run_stack
from tests.conftest import ALL_STACKS, ROOT, stack_run

PACK = ROOT / "policy"
INSECURE = ROOT / "tests" / "fixtures" / "insecure"

# What the insecure fixture breaks, by policy id (each must be named in the output).
INSECURE_EXPECTED = {
    "network-no-internet-inbound",
    "network-subnet-nsg",
    "keyvault-rbac-authorization",
    "keyvault-network-restricted",
    "storage-no-public-blob",
    "storage-shared-key-disabled",
    "storage-tls12",
    "redis-managed-only",
    "identity-no-privileged-workload-roles",
    "identity-role-assignment-principal-type",
    "k8s-run-as-non-root",
    "k8s-read-only-root-fs",
    "k8s-no-privilege-escalation",
    "k8s-resources-set",
    "k8s-probes-set",
    "k8s-min-replicas",
    "k8s-no-latest-tag",
    "k8s-loadbalancer-reason",
    "k8s-deployment-pdb",
    "platform-required-tags",
    "platform-naming-convention",
    "stack-diagnostic-settings",
}

_runs: dict[str, RunResult] = {}


def insecure_run(mode: str = "preview") -> RunResult:
    if mode not in _runs:
        result = run_stack(INSECURE, "test", preview=mode == "preview")
        assert result.ok, result.error
        _runs[mode] = result
    return _runs[mode]


def test_insecure_program_fails_the_dry_run_and_names_each_violation(capsys):
    code = cli.main(["preview", "--stack", "test", "--cwd", str(INSECURE), "--policy-pack", str(PACK)])
    out = capsys.readouterr().out
    assert code == 2
    assert "Policy Violations:" in out
    named = {line.split()[2] for line in out.splitlines() if line.strip().startswith("- [mandatory]")}
    assert INSECURE_EXPECTED <= named, INSECURE_EXPECTED - named
    assert "(azure-native:redis:Redis: cache)" in out  # each violation names its resource


def test_json_diagnostics_carry_level_pack_policy_and_urn(capsys):
    code = cli.main(
        ["preview", "--stack", "test", "--cwd", str(INSECURE), "--policy-pack", str(PACK), "--json"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 2
    diags = [d for d in doc["diagnostics"] if d.get("policyName") == "redis-managed-only"]
    assert len(diags) == 1
    d = diags[0]
    assert d["severity"] == "error" and d["enforcementLevel"] == "mandatory"
    assert d["urn"].endswith("azure-native:redis:Redis::cache")
    assert d["message"].startswith("[mandatory] mystira-policies v0.1.0: redis-managed-only: ")


def test_config_file_sets_enforcement_like_the_cli(tmp_path, capsys):
    advisory = tmp_path / "advisory.json"
    advisory.write_text(json.dumps({"all": "advisory"}))
    code = cli.main(
        [
            "preview",
            "--stack",
            "test",
            "--cwd",
            str(INSECURE),
            "--policy-pack",
            str(PACK),
            "--policy-pack-config",
            str(advisory),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0  # advisory violations are reported, but don't fail the command
    assert "- [advisory]  redis-managed-only" in out and "[mandatory]" not in out

    results = policy.run_packs(
        insecure_run(), [PACK], [_write(tmp_path, {"all": "advisory", "redis-managed-only": "mandatory"})]
    )
    mandatory = {r.policy for r in results if r.mandatory}
    assert mandatory == {"redis-managed-only"}
    disabled = policy.run_packs(
        insecure_run(), [PACK], [_write(tmp_path, {"redis-managed-only": {"enforcementLevel": "disabled"}})]
    )
    assert "redis-managed-only" not in {r.policy for r in disabled}


def _write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / f"cfg{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(doc))
    return path


def test_config_naming_an_unknown_policy_is_an_error(tmp_path):
    with pytest.raises(DryRunError, match="not-a-policy"):
        policy.run_packs(insecure_run(), [PACK], [_write(tmp_path, {"not-a-policy": "mandatory"})])
    with pytest.raises(DryRunError, match="enforcement level"):
        policy.run_packs(insecure_run(), [PACK], [_write(tmp_path, {"all": "blocking"})])


def test_a_stack_config_beside_the_pack_is_used_and_announced():
    results = policy.run_packs(stack_run("dev", "preview"), [PACK], [])
    text = policy.format_text(results)
    assert f"config: {PACK / 'config' / 'dev.json'} (default for stack dev)" in text


OTHER_PACK = """
import pulumi
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy, StackValidationPolicy

def scope_is_subscription(args, report):
    if args.resource_type == "azure-native:authorization:RoleAssignment":
        if not str(args.props["scope"]).startswith("/subscriptions/"):
            report("scope is not a subscription path")

def stack_name(args, report):
    report(f"stack is {pulumi.get_stack()}, limit {args.get_config().get('limit')}")

PolicyPack(
    name="someone-elses-pack",
    enforcement_level=EnforcementLevel.ADVISORY,
    initial_config={"stack-name": {"enforcementLevel": "mandatory", "limit": 3}},
    policies=[
        ResourceValidationPolicy(name="scope-is-subscription", description="d1",
                                 validate=scope_is_subscription),
        StackValidationPolicy(name="stack-name", description="d2", validate=stack_name),
    ],
)
"""


def _other_pack(tmp_path: Path) -> Path:
    pack = tmp_path / "other"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 2.3.4\n")
    (pack / "__main__.py").write_text(textwrap.dedent(OTHER_PACK))
    return pack


def test_any_python_pack_runs_and_unknowns_are_advisory_notes(tmp_path):
    results = policy.run_packs(insecure_run("preview"), [_other_pack(tmp_path)], [])
    notes = [r for r in results if r.kind == "note"]
    # rg.id is unknown in a preview: the policy can't run on the role assignments, as in the CLI.
    assert {r.urn.split("::")[-1] for r in notes} == {"workload-owner", "untyped"}
    assert all(r.enforcement == "advisory" and not r.mandatory for r in notes)
    assert notes[0].message.startswith(
        "can't run policy 'scope-is-subscription' from policy pack "
        "'someone-elses-pack@v2.3.4' during preview: string value at .scope"
    )
    stack = [r for r in results if r.policy == "stack-name"]
    assert [(r.enforcement, r.message) for r in stack] == [("mandatory", "stack is test, limit 3")]


def test_in_update_mode_the_same_policy_sees_the_value(tmp_path):
    results = policy.run_packs(insecure_run("update"), [_other_pack(tmp_path)], [])
    assert not [r for r in results if r.kind == "note"]
    assert not [r for r in results if r.policy == "scope-is-subscription"]  # scopes are ARM ids


def test_a_directory_that_is_not_a_python_pack_is_refused(tmp_path):
    with pytest.raises(DryRunError, match="PulumiPolicy.yaml"):
        policy.load_pack(tmp_path)
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: nodejs\n")
    with pytest.raises(DryRunError, match="Python packs only"):
        policy.load_pack(tmp_path)


def test_loading_our_pack_never_builds_a_real_policy_pack():
    pack = policy.load_pack(PACK)
    assert pack.name == "mystira-policies" and pack.version == "0.1.0"
    assert pack.enforcement_level == "mandatory"
    assert len(pack.policies) == len({p.name for p in pack.policies}) >= 60
    # What the real PolicyPack constructor would refuse (it can't be built here: it starts a server).
    from pulumi_policy import Policy
    from pulumi_policy.policy import _POLICY_PACK_NAME_RE

    assert _POLICY_PACK_NAME_RE.match(pack.name)
    assert all(isinstance(p, Policy) for p in pack.policies)


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_committed_stacks_have_no_mandatory_violations(stack):
    result = stack_run(stack, "update")
    results = policy.run_packs(result, [PACK], [PACK / "config" / f"{stack}.json"])
    mandatory = [f"{r.policy} on {r.urn.split('::')[-1]}: {r.message}" for r in results if r.mandatory]
    assert not mandatory, "\n".join(mandatory)


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_committed_stacks_have_no_mandatory_violations_in_preview(stack):
    result = stack_run(stack, "preview")
    results = policy.run_packs(result, [PACK], [PACK / "config" / f"{stack}.json"])
    mandatory = [f"{r.policy} on {r.urn.split('::')[-1]}: {r.message}" for r in results if r.mandatory]
    assert not mandatory, "\n".join(mandatory)
