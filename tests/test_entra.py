"""Entra ID workforce tenant: Admin API and Admin UI, group roles, MFA policy, admin secrets."""

from __future__ import annotations

import pytest

from components.entra import ADMIN_ROLES, GRAPH_APP_ID, GRAPH_SCOPES, stable_id
from mystira_infra.dryrun import azure
from mystira_infra.settings import ADMIN_APP_ROLES
from tests.conftest import ENV_STACKS, build_stack, stack_run
from tests.helpers import depends_on, inputs, of_type

APP = "azuread:index/application:Application"
ROLE = "azuread:index/applicationAppRole:ApplicationAppRole"
SCOPE = "azuread:index/applicationPermissionScope:ApplicationPermissionScope"
SP = "azuread:index/servicePrincipal:ServicePrincipal"
GRANT = "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
ASSIGNMENT = "azuread:index/appRoleAssignment:AppRoleAssignment"
CA_POLICY = "azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy"

ROLES = {"Admin", "SuperAdmin", "Moderator", "Viewer"}
SCOPES = ["Admin.Read", "Admin.Write", "Users.Manage", "Content.Moderate"]
REDIRECTS = {
    "dev": ["https://admin.dev.mystira.app/auth/callback", "http://localhost:5173/auth/callback"],
    "staging": ["https://admin.staging.mystira.app/auth/callback"],
    "prod": ["https://admin.mystira.app/auth/callback"],
}
GROUP_ROLES = {
    "Admin": ["22222222-2222-4222-8222-222222222222"],
    "Viewer": ["33333333-3333-4333-8333-333333333333"],
}
MFA_STATE = {
    "dev": "enabledForReportingButNotEnforced",
    "staging": "enabledForReportingButNotEnforced",
    "prod": "enabled",
}


def _app(result, display_prefix):
    apps = [a for a in of_type(result, APP) if inputs(a)["displayName"].startswith(display_prefix)]
    assert len(apps) == 1, [inputs(a)["displayName"] for a in of_type(result, APP)]
    return apps[0]


def _children(result, parent, type_):
    return [r for r in of_type(result, type_) if r.parent == parent.urn]


def _sp_for(result, app):
    sps = [s for s in of_type(result, SP) if inputs(s)["clientId"] == app.outputs["clientId"]]
    assert len(sps) == 1
    return sps[0]


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_admin_api_registration(stack):
    result = stack_run(stack)
    api = _app(result, "Mystira Admin API")
    i = inputs(api)
    assert i["displayName"] == f"Mystira Admin API ({stack})"
    assert i["identifierUris"] == [f"api://mystira-admin-api-{stack}"]
    assert i["signInAudience"] == "AzureADMyOrg"  # single tenant
    assert i["api"]["requestedAccessTokenVersion"] == 2
    for token in ("accessTokens", "idTokens"):
        assert {c["name"] for c in i["optionalClaims"][token]} == {"email", "given_name", "family_name"}
    # Roles and scopes are defined one way only: as their own resources (DESIGN.md section 5).
    assert "appRoles" not in i and "oauth2PermissionScopes" not in i["api"]
    assert set(api.ignore_changes) >= {"appRoles", "api.oauth2PermissionScopes"}
    # The default provider (the workforce tenant), not the External ID tenant's.
    assert "pulumi:providers:azuread::external-id" not in api.provider


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_admin_api_roles_and_scopes_are_own_resources_on_the_object_path(stack):
    result = stack_run(stack)
    api = _app(result, "Mystira Admin API")
    uri = f"api://mystira-admin-api-{stack}"
    roles = {inputs(r)["value"]: inputs(r) for r in _children(result, api, ROLE)}
    scopes = {inputs(s)["value"]: inputs(s) for s in _children(result, api, SCOPE)}
    assert set(roles) == ROLES
    assert set(scopes) == set(SCOPES)
    # azuread v6: application_id is the object path /applications/{objectId}, not the client id.
    assert api.id.startswith("/applications/")
    for r in roles.values():
        assert r["applicationId"] == api.id
        assert r["roleId"] == stable_id(uri, "role", r["value"])
        assert r["allowedMemberTypes"] == ["User"]
    for s in scopes.values():
        assert s["applicationId"] == api.id
        assert s["scopeId"] == stable_id(uri, "scope", s["value"])
        assert s["type"] == "Admin"
    ids = [r["roleId"] for r in roles.values()] + [s["scopeId"] for s in scopes.values()]
    assert len(set(ids)) == len(ids)


def test_role_and_scope_ids_are_stable_across_runs():
    def ids(result):
        return sorted(
            (r.name, inputs(r).get("roleId") or inputs(r).get("scopeId"))
            for r in of_type(result, ROLE) + of_type(result, SCOPE)
        )

    first = ids(stack_run("dev"))
    second = ids(stack_run("dev", "preview"))  # a separate run (cached, shared), in the other mode
    assert first == second and len(first) >= 8


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_admin_api_service_principal_requires_assignment(stack):
    result = stack_run(stack)
    sp = _sp_for(result, _app(result, "Mystira Admin API"))
    assert inputs(sp)["appRoleAssignmentRequired"] is True


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_admin_ui_is_a_spa_requesting_the_four_scopes_and_graph_sign_in(stack):
    result = stack_run(stack)
    api = _app(result, "Mystira Admin API")
    ui = _app(result, "Mystira Admin UI")
    i = inputs(ui)
    assert i["displayName"] == f"Mystira Admin UI ({stack})"
    assert i["signInAudience"] == "AzureADMyOrg"
    assert i["singlePageApplication"]["redirectUris"] == REDIRECTS[stack]
    assert "web" not in i and "publicClient" not in i
    access = {a["resourceAppId"]: a["resourceAccesses"] for a in i["requiredResourceAccesses"]}
    uri = f"api://mystira-admin-api-{stack}"
    assert access[api.outputs["clientId"]] == [
        {"id": stable_id(uri, "scope", s), "type": "Scope"} for s in SCOPES
    ]
    assert {a["id"] for a in access[GRAPH_APP_ID]} == {
        GRAPH_SCOPES[s] for s in ("openid", "profile", "User.Read")
    }


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_admin_consent_is_granted_for_the_ui(stack):
    result = stack_run(stack)
    api = _app(result, "Mystira Admin API")
    api_sp, ui_sp = _sp_for(result, api), _sp_for(result, _app(result, "Mystira Admin UI"))
    grants = [
        g
        for g in of_type(result, GRANT)
        if inputs(g)["servicePrincipalObjectId"] == ui_sp.outputs["objectId"]
    ]
    by_resource = {inputs(g)["resourceServicePrincipalObjectId"]: g for g in grants}
    assert len(grants) == 2
    api_grant = by_resource[api_sp.outputs["objectId"]]
    assert inputs(api_grant)["claimValues"] == SCOPES
    for scope in _children(result, api, SCOPE):  # consent names scopes that must exist first
        assert depends_on(api_grant, scope)
    graph_grant = next(g for oid, g in by_resource.items() if oid != api_sp.outputs["objectId"])
    assert set(inputs(graph_grant)["claimValues"]) == {"openid", "profile", "User.Read"}


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_groups_are_assigned_to_admin_api_roles(stack):
    result = stack_run(stack)
    api = _app(result, "Mystira Admin API")
    api_sp = _sp_for(result, api)
    uri = f"api://mystira-admin-api-{stack}"
    got = sorted(
        (inputs(a)["appRoleId"], inputs(a)["principalObjectId"])
        for a in of_type(result, ASSIGNMENT)
        if inputs(a)["resourceObjectId"] == api_sp.outputs["objectId"]
    )
    want = sorted((stable_id(uri, "role", role), g) for role, groups in GROUP_ROLES.items() for g in groups)
    assert got == want


def test_group_roles_follow_settings():
    result = build_stack(
        "dev",
        overrides={
            "entra": {
                "adminUiRedirectUris": ["https://admin.dev.mystira.app/auth/callback"],
                "groupRoles": {
                    "Moderator": [
                        "55555555-5555-4555-8555-555555555555",
                        "66666666-6666-4666-8666-666666666666",
                    ]
                },
            }
        },
    )
    assert result.ok, result.error
    uri = "api://mystira-admin-api-dev"
    got = sorted(
        (inputs(a)["appRoleId"], inputs(a)["principalObjectId"]) for a in of_type(result, ASSIGNMENT)
    )
    assert got == sorted(
        [
            (stable_id(uri, "role", "Moderator"), "55555555-5555-4555-8555-555555555555"),
            (stable_id(uri, "role", "Moderator"), "66666666-6666-4666-8666-666666666666"),
        ]
    )


def test_unknown_role_in_group_roles_is_a_settings_error():
    result = build_stack(
        "dev",
        overrides={
            "entra": {
                "adminUiRedirectUris": ["https://admin.dev.mystira.app/auth/callback"],
                "groupRoles": {"Owner": ["55555555-5555-4555-8555-555555555555"]},
            }
        },
    )
    assert not result.ok
    assert "Pulumi.dev.yaml: entra.groupRoles.Owner: unknown app role" in result.error
    assert len(result.records) == 1  # rejected by settings, before any resource is registered


def test_settings_know_the_admin_api_roles_the_component_defines():
    assert tuple(r.value for r in ADMIN_ROLES) == ADMIN_APP_ROLES


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_mfa_policy_covers_both_admin_apps(stack):
    result = stack_run(stack)
    policies = of_type(result, CA_POLICY)
    assert len(policies) == 1
    i = inputs(policies[0])
    # Report-only outside prod: sign-in logs show who would be prompted, nobody is blocked.
    assert i["state"] == MFA_STATE[stack]
    assert i["grantControls"] == {"operator": "OR", "builtInControls": ["mfa"]}
    apps = i["conditions"]["applications"]["includedApplications"]
    assert sorted(apps) == sorted(
        [
            _app(result, "Mystira Admin API").outputs["clientId"],
            _app(result, "Mystira Admin UI").outputs["clientId"],
        ]
    )
    assert i["conditions"]["users"]["includedUsers"] == ["All"]


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_admin_vault_gets_tenant_and_client_ids(stack):
    result = stack_run(stack)
    want = {
        "entra-tenant-id": azure.TENANT_ID,
        "entra-admin-api-client-id": _app(result, "Mystira Admin API").outputs["clientId"],
        "entra-admin-ui-client-id": _app(result, "Mystira Admin UI").outputs["clientId"],
    }
    secrets = {
        inputs(s)["secretName"]: inputs(s)["properties"]["value"]
        for s in of_type(result, "azure-native:keyvault:Secret")
        if s.name.startswith("admin-")
    }
    assert {k: secrets.get(k) for k in want} == want
    assert result.outputs["adminApiIdentifierUri"] == f"api://mystira-admin-api-{stack}"
