"""Who can read what: every service's secrets and data-plane access, in one table, and nothing more.

The tables below are the contract (docs/data-and-access.md prints the same). A stage that gives a
service identity a new role, Redis user, database or secret must add the row here, on purpose.

Also checks the seed system's defects (DESIGN.md section 4) stay fixed:
 2. dead role assignments: only data-plane roles, RBAC vaults, no Reader / Redis Cache Contributor;
 5. no access path: anything with public network access off has a private endpoint;
 7. cross-environment references: no stack names another environment's resources.
"""

from __future__ import annotations

import json

import pytest

from components.interfaces import PRIVILEGED_ROLES, ROLES
from mystira_infra.dryrun.mocks import Secret
from mystira_infra.naming import ENV_SHORT, Namer
from mystira_infra.services import SERVICES
from tests.conftest import ENV_STACKS, stack_run
from tests.helpers import inputs, of_type

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_NAMES = {guid: name for name, guid in ROLES.items()}

# service key -> the secret names its vault holds (stage that adds each in brackets in the docs).
SECRETS: dict[str, set[str]] = {
    "chain": {"appinsights-connection-string"},
    "publisher": {"appinsights-connection-string", "servicebus-namespace", "chain-rpc-endpoint"},
    "story": {
        "appinsights-connection-string",
        "postgres-host",
        "postgres-database",
        "postgres-user",
        "redis-host",
        "redis-port",
        "openai-endpoint",
    },
    "admin": {
        "appinsights-connection-string",
        "postgres-host",
        "postgres-database",
        "postgres-user",
        "redis-host",
        "redis-port",
        "entra-tenant-id",
        "entra-admin-api-client-id",
        "entra-admin-ui-client-id",
    },
    "app": {"appinsights-connection-string"},
}

# service key -> (role, logical name of the resource that is the scope). "{key}-vault-kv" is the
# service's own vault.
ROLES_BY_SERVICE: dict[str, set[tuple[str, str]]] = {
    "chain": {("Key Vault Secrets User", "chain-vault-kv")},
    "publisher": {
        ("Key Vault Secrets User", "publisher-vault-kv"),
        ("Azure Service Bus Data Sender", "servicebus-ns"),
        ("Azure Service Bus Data Receiver", "servicebus-ns"),
    },
    "story": {
        ("Key Vault Secrets User", "story-vault-kv"),
        ("Cognitive Services OpenAI User", "openai-account"),
    },
    "admin": {("Key Vault Secrets User", "admin-vault-kv")},
    "app": {("Key Vault Secrets User", "app-vault-kv")},
}
# Application Insights accepts Entra-authenticated telemetry only: each service may publish to its own.
for _key in ROLES_BY_SERVICE:
    ROLES_BY_SERVICE[_key].add(("Monitoring Metrics Publisher", f"{_key}-appi"))

# Non-ARM data access: Redis access policy assignments and PostgreSQL database roles (grant scripts).
REDIS_USERS = {"story", "admin"}
DATABASE_ROLES = {"story": "storygenerator", "admin": "adminapi"}

# Data-plane roles: each really grants data access. Control-plane roles give a workload nothing
# useful (defect 2) or too much.
DATA_PLANE_ROLES = {
    "Key Vault Secrets User",
    "Azure Service Bus Data Sender",
    "Azure Service Bus Data Receiver",
    "Cognitive Services OpenAI User",
    "Monitoring Metrics Publisher",
    "AcrPull",
    "Storage Blob Data Contributor",
}


def _logical(urn: str) -> str:
    return urn.split("::")[-1]


def service_of(urns: list[str]) -> str | None:
    """The service key whose managed identity an input came from (works at preview too)."""
    for urn in urns:
        if "managedidentity:UserAssignedIdentity::" in urn and _logical(urn).endswith("-id"):
            return _logical(urn)[: -len("-id")]
    return None


def service_role_assignments(result) -> dict[str, set[tuple[str, str]]]:
    got: dict[str, set[tuple[str, str]]] = {}
    for ra in of_type(result, ROLE_ASSIGNMENT):
        svc = service_of(ra.property_dependencies.get("principalId", []))
        if svc is None:
            continue
        role = ROLE_NAMES[inputs(ra)["roleDefinitionId"].rsplit("/", 1)[-1]]
        (scope_urn,) = ra.property_dependencies["scope"]
        got.setdefault(svc, set()).add((role, _logical(scope_urn)))
    return got


def test_tables_cover_the_catalogue():
    keys = {s.key for s in SERVICES}
    assert set(SECRETS) == keys and set(ROLES_BY_SERVICE) == keys
    assert REDIS_USERS == {s.key for s in SERVICES if s.uses_redis}
    assert DATABASE_ROLES == {s.key: s.database for s in SERVICES if s.database}


def test_each_service_gets_exactly_its_role_assignments(env_stack, mode):
    got = service_role_assignments(stack_run(env_stack, mode))
    assert got == ROLES_BY_SERVICE


@pytest.mark.parametrize("svc", [s.key for s in SERVICES])
def test_each_service_gets_exactly_its_secrets(env_stack, mode, svc):
    result = stack_run(env_stack, mode)
    names = {
        inputs(s)["secretName"]
        for s in of_type(result, "azure-native:keyvault:Secret")
        if inputs(s)["resourceGroupName"] == f"mys-{env_stack}-{svc}-rg-san"
    }
    assert names == SECRETS[svc]


def test_each_service_gets_exactly_its_redis_access(env_stack, mode):
    result = stack_run(env_stack, mode)
    got = {
        service_of(a.property_dependencies["user"])
        for a in of_type(result, "azure-native:redisenterprise:AccessPolicyAssignment")
    }
    assert got == REDIS_USERS


def test_each_service_gets_exactly_its_database(env_stack):
    scripts = stack_run(env_stack, "update").outputs["postgresGrantScripts"]
    assert {k: v.split("\\connect ")[-1].split("\n")[0] for k, v in scripts.items()} == DATABASE_ROLES


def test_connection_settings_are_passwordless_and_point_at_the_right_things(env_stack):
    result = stack_run(env_stack, "update")
    values = {
        (inputs(s)["resourceGroupName"].split("-")[2], inputs(s)["secretName"]): inputs(s)["properties"][
            "value"
        ]
        for s in of_type(result, "azure-native:keyvault:Secret")
    }
    out = result.outputs
    for key, db in DATABASE_ROLES.items():
        assert values[(key, "postgres-host")] == out["postgresFqdn"]
        assert values[(key, "postgres-database")] == db
        assert values[(key, "postgres-user")] == f"mys-{env_stack}-{key}-id-san"  # the identity = the role
    for key in REDIS_USERS:
        assert values[(key, "redis-host")] == out["redisHostname"]
        assert values[(key, "redis-port")] == "10000"
    assert (
        values[("publisher", "servicebus-namespace")]
        == f"{out['serviceBusNamespace']}.servicebus.windows.net"
    )
    assert values[("publisher", "chain-rpc-endpoint")] == f"https://rpc.{env_stack}.chain.mystira.app"


def test_secret_values_are_secret_in_recorded_inputs(env_stack, mode):
    secrets = of_type(stack_run(env_stack, mode), "azure-native:keyvault:Secret")
    assert len(secrets) == sum(len(names) for names in SECRETS.values())
    for s in secrets:
        props = s.inputs["properties"]
        assert isinstance(props, Secret) or isinstance(props["value"], Secret)
        assert "[secret]" == repr(props if isinstance(props, Secret) else props["value"])


# --- seed defects ----------------------------------------------------------------------------


def test_defect_2_only_data_plane_roles_for_workloads(env_stack, mode):
    result = stack_run(env_stack, mode)
    workload = [
        ra
        for ra in of_type(result, ROLE_ASSIGNMENT)
        if service_of(ra.property_dependencies.get("principalId", [])) is not None
    ]
    assert len(workload) == sum(len(roles) for roles in ROLES_BY_SERVICE.values())
    for ra in workload:
        guid = inputs(ra)["roleDefinitionId"].rsplit("/", 1)[-1]
        assert guid not in PRIVILEGED_ROLES, ra.name
        assert ROLE_NAMES[guid] in DATA_PLANE_ROLES, f"{ra.name}: {ROLE_NAMES[guid]} is not a data-plane role"
        assert inputs(ra)["principalType"] == "ServicePrincipal"
        # subscription-qualified role id: no diff between the two forms Azure accepts
        assert inputs(ra)["roleDefinitionId"].startswith("/subscriptions/")


def test_defect_2_no_legacy_access_policies_or_redis_cache(env_stack):
    result = stack_run(env_stack, "update")
    assert not of_type(result, "azure-native:keyvault:AccessPolicy")
    assert not [r for r in result.records if r.type.startswith("azure-native:redis:")]
    vaults = of_type(result, "azure-native:keyvault:Vault")
    assert len(vaults) == len(SERVICES)
    assert all(inputs(v)["properties"]["enableRbacAuthorization"] is True for v in vaults)


def _public_access(rec) -> str | None:
    i = inputs(rec)
    props = i.get("properties") if isinstance(i.get("properties"), dict) else {}
    return i.get("publicNetworkAccess") or props.get("publicNetworkAccess")


def test_defect_5_public_access_off_means_a_private_endpoint(env_stack):
    result = stack_run(env_stack, "update")
    targets = {
        inputs(pe)["privateLinkServiceConnections"][0]["privateLinkServiceId"]
        for pe in of_type(result, "azure-native:network:PrivateEndpoint")
    }
    closed = [r for r in result.records if r.custom and str(_public_access(r)).lower() == "disabled"]
    assert closed, "expected private resources"
    for rec in closed:
        assert rec.id in targets, f"{rec.type} {rec.name}: public access off and no private endpoint"


def _markers(env: str) -> set[str]:
    """Strings that only appear in names of `env`'s resources."""
    return {
        f"mys-{env}-",
        f"mys{ENV_SHORT[env]}",
        f"mystira-{env}-",
        f"api://mystira-admin-api-{env}",
        Namer(env, "southafricanorth", env).suffix,
        f".{env}.chain.mystira.app",
    }


@pytest.mark.parametrize("env", ENV_STACKS)
def test_defect_7_no_references_to_another_environment(env):
    result = stack_run(env, "update")
    text = json.dumps([inputs(r) for r in result.records if r.type != "pulumi:pulumi:Stack"], default=str)
    for other in set(ENV_STACKS) - {env}:
        for marker in _markers(other):
            assert marker not in text, f"{env} references {other}: '{marker}'"
    assert any(m in text for m in _markers(env))  # the markers do find this environment's own names


def test_missing_chain_rpc_endpoint_is_a_settings_error():
    from tests.conftest import build_stack

    result = build_stack("dev", "preview", overrides={"chainRpcEndpoint": ""})
    assert not result.ok
    assert "Pulumi.dev.yaml: chainRpcEndpoint: required" in str(result.error)
