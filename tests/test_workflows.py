"""The delivery pipelines: actionlint clean, and the hygiene a reviewer would check by hand.

Workflows are parsed with PyYAML. Note PyYAML reads the key `on` as the boolean True (YAML 1.1).
checkov over the workflows runs in scripts/ci_checks.sh (with the manifests), not here: one
checkov start costs about 10 s.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mystira_infra import gate
from tests.conftest import ALL_STACKS, ENV_STACKS, ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
WRITE_SCOPES_ALLOWED = {
    # (workflow, job) -> the write scopes it may hold, and why
    ("pull-request", "preview"): {"id-token", "pull-requests"},  # OIDC login; the preview comment
    ("pull-request", "dry-run"): {"pull-requests"},  # the architecture diagram comment; no Azure login
    ("promote", "dev"): {"id-token"},
    ("promote", "staging"): {"id-token"},
    ("promote", "prod"): {"id-token"},
    ("drift", "detect"): {"id-token"},
    ("drift", "report"): {"issues"},  # the only job allowed to write issues
}


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def triggers(wf: dict[str, Any]) -> dict[str, Any]:
    on = wf.get("on", wf.get(True))
    return on if isinstance(on, dict) else {k: None for k in ([on] if isinstance(on, str) else on)}


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def tools_dir() -> Path:
    lock = (ROOT / "scripts" / "ci-tools.txt").read_bytes()
    base = Path(os.environ.get("CI_TOOLS_DIR", Path.home() / ".cache" / "mystira-infra"))
    return base / f"ci-tools-{hashlib.sha256(lock).hexdigest()[:16]}"


def tool(name: str) -> str:
    path = tools_dir() / "bin" / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed: run scripts/ci_checks.sh once (it installs the scanners "
                    f"from scripts/ci-tools.txt into {tools_dir()})")
    return found


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict[str, Any]]:
    assert FILES, "no workflow files"
    return {p.stem: load(p) for p in FILES}


def test_the_three_pipelines_exist(workflows):
    assert {"pull-request", "promote", "drift"} <= set(workflows)


def test_actionlint_passes_on_every_workflow():
    exe = tool("actionlint")
    env = {**os.environ, "PATH": f"{Path(exe).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([exe, "-no-color", "-oneline", "-pyflakes=", *map(str, FILES)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    # the check above can fail: an undefined job in `needs` and a bad expression are reported
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    needs: nope\n"
                   "    steps:\n      - run: echo ${{ github.nope.x }}\n")
    proc = subprocess.run([tool("actionlint"), "-no-color", "-oneline", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "nope" in proc.stdout


def test_no_pull_request_target_anywhere(workflows):
    for name, wf in workflows.items():
        assert "pull_request_target" not in triggers(wf), name
        assert "workflow_run" not in triggers(wf), name  # the same trust problem, one step removed


def test_top_level_permissions_are_empty_or_read_only(workflows):
    for name, wf in workflows.items():
        perms = wf.get("permissions")
        assert perms is not None, f"{name}: no top-level permissions (defaults may be write-all)"
        assert perms == {} or all(v in ("read", "none") for v in perms.values()), name


def test_every_job_declares_least_permissions(workflows):
    for name, wf in workflows.items():
        for job_id, job in wf["jobs"].items():
            perms = job.get("permissions")
            assert isinstance(perms, dict), f"{name}/{job_id}: job without its own permissions"
            writes = {k for k, v in perms.items() if v == "write"}
            assert writes <= WRITE_SCOPES_ALLOWED.get((name, job_id), set()), (name, job_id, writes)
            assert perms.get("contents", "none") in ("read", "none"), (name, job_id)


def test_every_action_is_pinned_by_commit_sha_with_a_version_comment():
    for path in FILES:
        for line in path.read_text().splitlines():
            m = re.match(r"\s*(?:-\s*)?uses:\s*(\S+)(.*)$", line)
            if not m:
                continue
            ref, rest = m.groups()
            assert PINNED.match(ref), f"{path.name}: {ref} is not pinned to a full commit SHA"
            assert re.search(r"#\s*v\d", rest), f"{path.name}: {ref} has no version comment"


def test_checkout_never_persists_credentials(workflows):
    for name, wf in workflows.items():
        for job_id, job in wf["jobs"].items():
            for s in steps(job):
                if s.get("uses", "").startswith("actions/checkout@"):
                    assert s.get("with", {}).get("persist-credentials") is False, (name, job_id)


def test_no_long_lived_azure_or_pulumi_secret(workflows):
    text = "\n".join(p.read_text() for p in FILES)
    assert "secrets." not in text  # OIDC and environment variables only
    assert "PULUMI_ACCESS_TOKEN" not in text and "ARM_CLIENT_SECRET" not in text
    for name, wf in workflows.items():
        for job_id, job in wf["jobs"].items():
            logins = [s for s in steps(job) if s.get("uses", "").startswith("azure/login@")]
            for s in logins:
                w = s["with"]
                assert set(w) == {"client-id", "tenant-id", "subscription-id"}, (name, job_id)
                assert all(v.startswith("${{ vars.") for v in w.values()), (name, job_id)
            if logins:
                assert job["permissions"].get("id-token") == "write", (name, job_id)
                assert job["env"]["ARM_USE_OIDC"] == "true", (name, job_id)


def pulumi_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in steps(job)
            if s.get("uses", "").startswith("pulumi/actions@") and "command" in s.get("with", {})]


def test_pr_workflow_checks_tests_dry_runs_and_previews_every_stack(workflows):
    wf = workflows["pull-request"]
    assert set(triggers(wf)) == {"pull_request"}
    runs = " ".join(s.get("run", "") for s in steps(wf["jobs"]["checks"]))
    for needle in ("ruff check", "mypy", "pytest", "--cov-fail-under=90", "scripts/ci_checks.sh"):
        assert needle in runs, needle
    for pkg in ("components", "stacks", "policy", "mystira_infra/dryrun"):
        assert f"--cov={pkg}" in runs, pkg
    dry = wf["jobs"]["dry-run"]
    assert dry["strategy"]["matrix"]["stack"] == list(ALL_STACKS)
    assert any("--policy-pack policy" in s.get("run", "") for s in steps(dry))
    preview = wf["jobs"]["preview"]
    assert preview["strategy"]["matrix"]["stack"] == list(ALL_STACKS)
    assert set(preview["needs"]) == {"checks", "dry-run"}
    assert "head.repo.full_name == github.repository" in preview["if"]  # forks never reach Azure
    [p] = pulumi_steps(preview)
    w = p["with"]
    assert w["command"] == "preview" and w["stack-name"] == "${{ matrix.stack }}"
    assert w["policyPacks"] == "policy"
    assert w["policyPackConfigs"] == "policy/config/${{ matrix.stack }}.json"
    assert w["comment-on-pr"] is True and w["edit-pr-comment"] is True  # one comment per stack, edited
    assert w["cloud-url"].startswith("azblob://state?storage_account=${{ vars.")
    assert "matrix.stack" in preview["concurrency"]["group"]
    assert "environment" not in preview  # the OIDC subject must stay `repo:<repo>:pull_request`


def test_promotion_runs_dev_staging_prod_in_order_on_the_same_commit(workflows):
    wf = workflows["promote"]
    assert triggers(wf)["push"] == {"branches": ["main"]}
    jobs = wf["jobs"]
    assert [jobs[j]["environment"] for j in ENV_STACKS] == list(ENV_STACKS)
    assert "needs" not in jobs["dev"]
    assert jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    assert wf["concurrency"]["cancel-in-progress"] is False  # never cancel a running up
    for env in ENV_STACKS:
        job = jobs[env]
        assert job["concurrency"] == {"group": f"pulumi-{env}", "cancel-in-progress": False}
        checkout = next(s for s in steps(job) if s.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["ref"] == "${{ github.sha }}"
        [up] = pulumi_steps(job)
        assert up["with"]["command"] == "up" and up["with"]["stack-name"] == env
        assert up["with"]["policyPacks"] == "policy"
        assert up["with"]["policyPackConfigs"] == f"policy/config/{env}.json"


def test_prod_gate_runs_on_the_json_preview_before_up(workflows):
    prod = steps(workflows["promote"]["jobs"]["prod"])
    names = [s.get("name", s.get("uses", "")) for s in prod]
    i_preview = next(i for i, s in enumerate(prod)
                     if "pulumi preview --stack prod --json" in s.get("run", ""))
    i_gate = next(i for i, s in enumerate(prod) if "python -m mystira_infra.gate" in s.get("run", ""))
    i_up = next(i for i, s in enumerate(prod) if s.get("with", {}).get("command") == "up")
    assert i_preview < i_gate < i_up, names
    assert "--policy-pack policy" in prod[i_preview]["run"] and "> preview.json" in prod[i_preview]["run"]
    gate_step = prod[i_gate]
    assert "--preview preview.json" in gate_step["run"]
    # the override only from a manual dispatch, and its inputs reach the script through env
    # (never interpolated into the script: an input could otherwise inject shell)
    assert "github.event_name == 'workflow_dispatch'" in gate_step["env"]["ALLOW_DESTRUCTIVE"]
    assert gate_step["env"]["GATE_OVERRIDE_REASON"] == "${{ inputs.reason }}"
    assert "${{" not in gate_step["run"]
    inputs = triggers(workflows["promote"])["workflow_dispatch"]["inputs"]
    assert inputs["allow_destructive"]["type"] == "boolean"
    assert inputs["allow_destructive"]["default"] is False
    assert "reason" in inputs


def test_gate_override_env_var_is_the_one_the_gate_reads(monkeypatch, tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"steps": [{"op": "delete", '
                    '"urn": "urn:pulumi:prod::p::azure-native:keyvault:Vault::kv"}]}')
    monkeypatch.setenv("GATE_OVERRIDE_REASON", "vault moved to the shared stack")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert gate.main(["--preview", str(path), "--allow-destructive"]) == 0


def test_drift_is_scheduled_read_only_and_reports_one_issue_per_environment(workflows):
    wf = workflows["drift"]
    assert "schedule" in triggers(wf)
    detect = wf["jobs"]["detect"]
    assert detect["strategy"]["matrix"]["stack"] == list(ENV_STACKS)
    assert "matrix.stack" in detect["concurrency"]["group"]
    assert detect["environment"] == "drift"  # no reviewers; the read-only identity
    script = " ".join(s.get("run", "") for s in steps(detect))
    assert "pulumi refresh" in script and "--preview-only" in script
    assert "pulumi preview" in script and "--expect-no-changes" in script
    assert "pulumi up" not in script and "--yes" not in script
    report = wf["jobs"]["report"]
    assert report["permissions"] == {"issues": "write"}
    run = " ".join(s.get("run", "") for s in steps(report))
    assert "gh issue list" in run and "gh issue comment" in run and "gh issue create" in run


def test_concurrency_groups_of_deploys_and_drift_never_collide(workflows):
    # a pending job in the same group cancels another pending one: drift must not share a group
    # with a promotion
    promote = {workflows["promote"]["jobs"][e]["concurrency"]["group"] for e in ENV_STACKS}
    drift = workflows["drift"]["jobs"]["detect"]["concurrency"]["group"]
    assert not any(drift.replace("${{ matrix.stack }}", e) in promote for e in ENV_STACKS)


def test_policy_pack_configs_named_by_the_workflows_exist():
    config_dir = ROOT / "policy" / "config"
    if not config_dir.is_dir():
        pytest.skip("policy/config/ has not landed yet (policy pack issue)")
    missing = [s for s in ALL_STACKS if not (config_dir / f"{s}.json").exists()]
    assert not missing, f"workflows pass policy/config/<stack>.json; missing for {missing}"


def test_secret_scan_flags_azure_and_pulumi_credentials(tmp_path):
    exe = tool("detect-secrets")
    fake = tmp_path / "leak.txt"
    # built at run time so that this file itself stays clean for the scan of tracked files
    lines = [
        "CLIENT_SECRET=" + "Abc" + "8Q~" + "x7" * 17,
        "SB=Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;Shared" + "AccessKey="
        + "q" * 43 + "=",
        "PULUMI_ACCESS_TOKEN=" + "pul-" + "0123456789abcdef" * 2 + "01234567",
    ]
    fake.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([exe, "scan", "-n", "-p", str(ROOT / "scripts" / "secret_patterns.py"),
                           "--disable-plugin", "KeywordDetector", "--disable-plugin", "HexHighEntropyString",
                           fake.name], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)["results"].get(fake.name, [])
    assert sorted({h["line_number"] for h in hits}) == [1, 2, 3]


def test_dry_run_job_comments_each_stacks_diagram_and_updates_it(workflows):
    job = workflows["pull-request"]["jobs"]["dry-run"]
    step = next(s for s in job["steps"] if "diagram" in s.get("name", ""))
    script = step["run"]
    assert "mystira-infra graph --stack" in script and "--format mermaid" in script
    # one comment per stack, found again by its marker and edited rather than added on each push
    assert "mystira-infra-graph:${STACK}" in script and "--method PATCH" in script
    assert "head.repo.full_name == github.repository" in step["if"]  # forks: read-only token
    assert "id-token" not in job["permissions"]  # the diagram job never signs in to Azure
