"""First-time bootstrap of the Pulumi backend: the state storage must exist before it can hold state.

The `shared` stack creates the storage account (state) and the Key Vault key (secrets) that every
stack uses. So its very first `pulumi up` runs on a local backend with a passphrase, and then the
stack moves itself into what it built:

  1. az account set            pick the subscription
  2. pulumi login file://      a local, throwaway backend
  3. pulumi stack init shared  with a passphrase secrets provider (nothing secret yet)
  4. pulumi up                 create the registry, email, state account, Key Vault key, CI identities
  5. az role assignment        give the operator data access to the state container and the key
                               (shared keys are off: Entra only)
  6. pulumi stack change-secrets-provider azurekeyvault://<vault>.vault.azure.net/keys/pulumi-secrets
  7. pulumi stack export       to a checkpoint file
  8. pulumi login azblob://state?storage_account=<account>
  9. pulumi stack init shared  in the new backend (keeps the encryptedkey step 6 wrote)
 10. pulumi stack import       the checkpoint
 11. pulumi preview --expect-no-changes   proves the move lost nothing
 12. pulumi stack init <env>   each environment stack, with the Key Vault secrets provider

`--dry-run` prints each command exactly as it would run, and runs nothing. After a failure, fix
the cause and re-run with `--from-step N`. See docs/shared-and-bootstrap.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python scripts/bootstrap.py`
    sys.path.insert(0, str(ROOT))

STATE_CONTAINER = "state"
SECRETS_KEY = "pulumi-secrets"
SIGNED_IN_USER = "$(az ad signed-in-user show --query id -o tsv)"
GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Step:
    title: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)  # extra environment for this command
    shell: bool = False  # only when argv holds a $(...) the operator's shell must expand

    def render(self) -> str:
        prefix = " ".join(
            f"{k}={shlex.quote(v) if not v.startswith('<') else v}" for k, v in self.env.items()
        )
        command = " ".join(a if a.startswith("$(") else shlex.quote(a) for a in self.argv)
        return f"{prefix} {command}".strip()


@dataclass(frozen=True)
class Names:
    """Physical names of the backend, computed from Pulumi.shared.yaml by the naming module."""

    storage_account: str
    vault: str
    state_resource_group: str
    environments: tuple[str, ...]


def shared_names(project_dir: Path = ROOT) -> Names:
    import yaml

    from mystira_infra.settings import parse_settings

    config = yaml.safe_load((project_dir / "Pulumi.shared.yaml").read_text()).get("config") or {}
    raw = {k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    settings = parse_settings("shared", raw)
    namer = settings.names()
    assert settings.github is not None
    return Names(
        storage_account=namer("storage", "state"),
        vault=namer("key_vault", "platform"),
        state_resource_group=namer("resource_group", "state"),
        environments=tuple(settings.github.environments),
    )


def secrets_provider(vault: str) -> str:
    return f"azurekeyvault://{vault}.vault.azure.net/keys/{SECRETS_KEY}"


def parse_args(argv: Sequence[str] | None = None, names: Names | None = None) -> argparse.Namespace:
    names = names or shared_names()
    parser = argparse.ArgumentParser(
        prog="bootstrap",
        description="First-time bootstrap of the shared stack and the Pulumi backend it creates.",
    )
    parser.add_argument("--subscription-id", required=True, help="Azure subscription to deploy into (a GUID)")
    parser.add_argument("--dry-run", action="store_true", help="print the exact commands; run nothing")
    parser.add_argument(
        "--local-state",
        type=Path,
        default=Path.home() / ".mystira-infra-bootstrap",
        help="directory of the temporary local backend (default: %(default)s)",
    )
    parser.add_argument(
        "--storage-account",
        default=names.storage_account,
        help="state storage account (default from Pulumi.shared.yaml: %(default)s)",
    )
    parser.add_argument(
        "--vault", default=names.vault, help="Key Vault holding the pulumi-secrets key (default: %(default)s)"
    )
    parser.add_argument(
        "--state-resource-group",
        default=names.state_resource_group,
        help="resource group of the state account and vault (default: %(default)s)",
    )
    parser.add_argument(
        "--environments",
        nargs="*",
        default=list(names.environments),
        help="environment stacks to create in the new backend (default: %(default)s)",
    )
    parser.add_argument(
        "--operator-object-id",
        default=None,
        help="object id to grant state and key access (default: the signed-in az user)",
    )
    parser.add_argument(
        "--operator-type",
        choices=("User", "ServicePrincipal"),
        default="User",
        help="principal type of the operator (default: %(default)s)",
    )
    parser.add_argument(
        "--yes", action="store_true", help="pass --yes to `pulumi up` (no confirmation prompt)"
    )
    parser.add_argument("--from-step", type=int, default=1, help="resume at this step number (default: 1)")
    args = parser.parse_args(argv)

    if not GUID.fullmatch(args.subscription_id):
        parser.error(f"--subscription-id: expected a GUID, got '{args.subscription_id}'")
    if args.operator_object_id is not None and not GUID.fullmatch(args.operator_object_id):
        parser.error(f"--operator-object-id: expected a GUID, got '{args.operator_object_id}'")
    if not re.fullmatch(r"[a-z0-9]{3,24}", args.storage_account):
        parser.error(f"--storage-account: '{args.storage_account}' is not a storage account name")
    if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", args.vault):
        parser.error(f"--vault: '{args.vault}' is not a Key Vault name")
    for env in args.environments:
        if env not in ("dev", "staging", "prod"):
            parser.error(f"--environments: unknown environment '{env}'")
    args.local_state = args.local_state.expanduser().resolve()
    return args


def plan(args: argparse.Namespace) -> list[Step]:
    """Every step, in order, with exact arguments."""
    provider = secrets_provider(args.vault)
    sub = args.subscription_id
    account_id = (
        f"/subscriptions/{sub}/resourceGroups/{args.state_resource_group}/providers/"
        f"Microsoft.Storage/storageAccounts/{args.storage_account}"
    )
    container_scope = f"{account_id}/blobServices/default/containers/{STATE_CONTAINER}"
    key_scope = (
        f"/subscriptions/{sub}/resourceGroups/{args.state_resource_group}/providers/"
        f"Microsoft.KeyVault/vaults/{args.vault}/keys/{SECRETS_KEY}"
    )
    operator = args.operator_object_id or SIGNED_IN_USER
    checkpoint = str(args.local_state / "shared.checkpoint.json")
    # Never printed or passed on the command line: the operator's environment supplies it.
    passphrase = {"PULUMI_CONFIG_PASSPHRASE": "<from your environment>"}
    # Pulumi's azurekeyvault provider uses the Azure CLI login when this is set.
    kv_cli = {"AZURE_KEYVAULT_AUTH_VIA_CLI": "true"}

    def grant(role: str, scope: str) -> tuple[str, ...]:
        return (
            "az",
            "role",
            "assignment",
            "create",
            "--assignee-object-id",
            operator,
            "--assignee-principal-type",
            args.operator_type,
            "--role",
            role,
            "--scope",
            scope,
        )

    steps = [
        Step("Select the subscription", ("az", "account", "set", "--subscription", sub)),
        Step("Log in to a local, temporary backend", ("pulumi", "login", f"file://{args.local_state}")),
        Step(
            "Create the shared stack with a passphrase (it holds no secrets yet)",
            ("pulumi", "stack", "init", "shared", "--secrets-provider", "passphrase"),
            passphrase,
        ),
        Step(
            "Create the shared resources: registry, email, state account, Key Vault key, CI identities",
            ("pulumi", "up", "--stack", "shared", *(["--yes"] if args.yes else [])),
            passphrase,
        ),
        Step(
            "Give the operator blob access to the state container (shared keys are off)",
            grant("Storage Blob Data Contributor", container_scope),
            shell=operator == SIGNED_IN_USER,
        ),
        Step(
            "Give the operator use of the secrets key",
            grant("Key Vault Crypto User", key_scope),
            shell=operator == SIGNED_IN_USER,
        ),
        Step(
            "Switch the shared stack's secrets to the Key Vault key",
            ("pulumi", "stack", "change-secrets-provider", "--stack", "shared", provider),
            {**passphrase, **kv_cli},
        ),
        Step(
            "Export the shared stack's state",
            ("pulumi", "stack", "export", "--stack", "shared", "--file", checkpoint),
            kv_cli,
        ),
        Step(
            "Log in to the state backend the shared stack created (Entra auth via az login; no account key)",
            ("pulumi", "login", f"azblob://{STATE_CONTAINER}?storage_account={args.storage_account}"),
        ),
        Step(
            "Create the shared stack in the new backend (keeps the encryptedkey in Pulumi.shared.yaml)",
            ("pulumi", "stack", "init", "shared", "--secrets-provider", provider),
            kv_cli,
        ),
        Step(
            "Import the exported state",
            ("pulumi", "stack", "import", "--stack", "shared", "--file", checkpoint),
            kv_cli,
        ),
        Step(
            "Prove the move lost nothing",
            ("pulumi", "preview", "--stack", "shared", "--expect-no-changes"),
            kv_cli,
        ),
    ]
    steps += [
        Step(
            f"Create the {env} stack with the Key Vault secrets provider",
            ("pulumi", "stack", "init", env, "--secrets-provider", provider),
            kv_cli,
        )
        for env in args.environments
    ]
    return steps


Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


def main(
    argv: Sequence[str] | None = None,
    *,
    runner: Runner = subprocess.run,
    names: Names | None = None,
    out=None,
) -> int:
    out = out or sys.stdout
    args = parse_args(argv, names)
    steps = plan(args)
    if not 1 <= args.from_step <= len(steps):
        print(f"--from-step must be 1 to {len(steps)}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(f"# Bootstrap of the Pulumi backend: {len(steps)} steps (dry run: nothing is run)", file=out)
        for n, step in enumerate(steps, 1):
            if n >= args.from_step:
                print(f"# {n}. {step.title}\n{step.render()}", file=out)
        return 0
    if args.from_step <= 7 and not os.environ.get("PULUMI_CONFIG_PASSPHRASE"):
        print("PULUMI_CONFIG_PASSPHRASE must be set for the local backend (steps 3 to 7)", file=sys.stderr)
        return 2
    args.local_state.mkdir(parents=True, exist_ok=True)
    for n, step in enumerate(steps, 1):
        if n < args.from_step:
            continue
        print(f"==> {n}. {step.title}", file=out)
        env = {**os.environ, **{k: v for k, v in step.env.items() if not v.startswith("<")}}
        if step.shell:
            result = runner(Step(step.title, step.argv).render(), shell=True, cwd=ROOT, env=env)
        else:
            result = runner(list(step.argv), cwd=ROOT, env=env)
        if result.returncode != 0:
            print(
                f"step {n} failed (exit {result.returncode}); fix it and re-run with --from-step {n}",
                file=sys.stderr,
            )
            return result.returncode
    print("Bootstrap done: commit the encryptedkey lines pulumi wrote into Pulumi.<stack>.yaml.", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
