"""Wiring between the shared stack and the environment stacks: one source for tier-3 values, a clear
failure when the shared stack lacks an output, no tier-3 resources in an environment stack, and
deploy identities that are able to make every role assignment an environment declares."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from components import deploy_identity as shared
from components import interfaces
from mystira_infra.dryrun.runner import run_stack
from mystira_infra.settings import parse_settings
from mystira_infra.shared_outputs import SHARED_OUTPUTS, require_shared
from tests.conftest import ALL_STACKS, ROOT, stack_run
from tests.helpers import inputs, of_type

SHARED_REF = "mystira/mystira-infra/shared"
TIER3_TYPES = (
    "azure-native:containerregistry:Registry",
    "azure-native:communication:CommunicationService",
    "azure-native:communication:EmailService",
    "azure-native:communication:Domain",
    "mystira:shared:ContainerRegistry",
    "mystira:shared:Email",
    "mystira:shared:StateBackend",
    "mystira:shared:SecretsKey",
    "mystira:shared:DeployIdentity",
)


def _shared_settings():
    data = yaml.safe_load((ROOT / "Pulumi.shared.yaml").read_text())["config"]
    raw = {k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    return parse_settings("shared", raw)


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_stack_names_the_shared_secrets_key(stack):
    vault = _shared_settings().names()("key_vault", "platform")
    provider = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()).get("secretsprovider")
    assert provider == f"azurekeyvault://{vault}.vault.azure.net/keys/pulumi-secrets"


def test_secrets_provider_matches_the_shared_stack_export():
    assert (
        stack_run("shared").outputs["secretsProvider"]
        == yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["secretsprovider"]
    )


def test_env_stacks_name_the_shared_stack_in_settings(env_stack):
    data = yaml.safe_load((ROOT / f"Pulumi.{env_stack}.yaml").read_text())["config"]
    assert data["mystira-infra:sharedStack"] == SHARED_REF


def test_images_come_from_the_shared_registry_login_server(env_stack):
    login = stack_run("shared").outputs["registryLoginServer"]
    r = stack_run(env_stack)
    users = [x.name for x in r.records if f"{login}/" in json.dumps(inputs(x), default=str)]
    assert users, f"no resource of {env_stack} references an image in {login}"


def test_kubelet_acr_pull_targets_the_shared_registry(env_stack):
    r = stack_run(env_stack)
    pulls = [
        inputs(a)
        for a in of_type(r, "azure-native:authorization:RoleAssignment")
        if inputs(a)["roleDefinitionId"].endswith(interfaces.ROLES["AcrPull"])
    ]
    assert pulls, "no AcrPull assignment in the environment stack"
    assert {p["scope"] for p in pulls} == {stack_run("shared").outputs["registryId"]}


def test_env_stacks_create_no_tier3_resources(env_stack):
    r = stack_run(env_stack)
    assert [x.type for x in r.records if x.type in TIER3_TYPES] == []
    assert not [
        x
        for x in of_type(
            r, "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
        )
        if inputs(x).get("issuer") == "https://token.actions.githubusercontent.com"
    ]
    assert not [
        x for x in of_type(r, "azure-native:keyvault:Key") if inputs(x).get("keyName") == "pulumi-secrets"
    ]
    assert not [
        x
        for x in of_type(r, "azure-native:storage:BlobContainer")
        if inputs(x).get("containerName") == "state"
    ]
    names = {inputs(x).get("resourceGroupName") for x in of_type(r, "azure-native:resources:ResourceGroup")}
    assert not [n for n in names if n and n.startswith("mys-shared-")]


def test_env_deploy_identity_may_make_every_role_assignment_its_stack_declares(env_stack):
    """The ABAC condition on the deploy identity's RBAC Administrator role lists the roles and
    principal types it may assign; an assignment outside it would fail `pulumi up` in CI."""
    allowed = set(shared.delegable_roles().values())
    r = stack_run(env_stack)
    assignments = of_type(r, "azure-native:authorization:RoleAssignment")
    assert assignments, f"{env_stack} declares no role assignment: nothing was checked"
    for rec in assignments:
        a = inputs(rec)
        assert a["roleDefinitionId"].rsplit("/", 1)[-1] in allowed, (rec.name, a["roleDefinitionId"])
        assert a["principalType"] in shared.DELEGABLE_PRINCIPAL_TYPES, rec.name


def test_env_stack_fails_clearly_when_a_shared_output_is_missing():
    outputs = dict(stack_run("shared").outputs)
    del outputs["registryId"]
    r = run_stack(ROOT, "dev", preview=False, stack_outputs={SHARED_REF: outputs})
    assert not r.ok
    assert "does not export 'registryId'" in r.error
    assert "run `pulumi up` on the shared stack first" in r.error


MINI_MAIN = """
import pulumi
from mystira_infra.shared_outputs import require_shared

ref = pulumi.StackReference("acme/mini/shared")
pulumi.export("login", require_shared(ref, "registryLoginServer"))
"""


@pytest.fixture
def mini_project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: mini\nruntime: python\n")
    (tmp_path / "Pulumi.app.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(MINI_MAIN))
    return tmp_path


def test_require_shared_names_the_missing_key(mini_project):
    r = run_stack(mini_project, "app", preview=False, stack_outputs={"acme/mini/shared": {"registryId": "x"}})
    assert not r.ok
    assert "does not export 'registryLoginServer'" in r.error
    assert SHARED_OUTPUTS["registryLoginServer"] in r.error


def test_require_shared_passes_the_value_through(mini_project):
    r = run_stack(
        mini_project,
        "app",
        preview=False,
        stack_outputs={"acme/mini/shared": {"registryLoginServer": "mys.azurecr.io"}},
    )
    assert r.ok, r.error
    assert r.outputs["login"] == "mys.azurecr.io"


def test_require_shared_tolerates_unknowns_at_preview(mini_project):
    r = run_stack(mini_project, "app", preview=True, stack_outputs={"acme/mini/shared": {}})
    assert r.ok, r.error


def test_require_shared_rejects_keys_outside_the_contract():
    with pytest.raises(KeyError, match="not part of the shared stack's contract"):
        require_shared(None, "registryPassword")  # type: ignore[arg-type]
