"""Entra External ID (consumer tenant): Public API, PWA, optional mobile client, own provider."""

from __future__ import annotations

import pytest

from components.entra import GRAPH_APP_ID, GRAPH_SCOPES, stable_id
from tests.conftest import ENV_STACKS, build_stack, stack_run
from tests.helpers import inputs, of_type

APP = "azuread:index/application:Application"
SCOPE = "azuread:index/applicationPermissionScope:ApplicationPermissionScope"
SP = "azuread:index/servicePrincipal:ServicePrincipal"
GRANT = "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
PROVIDER = "pulumi:providers:azuread"
COMPONENT = "mystira:entra:ExternalIdApps"

TENANT = "44444444-4444-4444-8444-444444444444"
SCOPES = ["API.Access", "Stories.Read", "Stories.Write", "Profile.Read"]
PWA_REDIRECTS = {
    "dev": ["https://dev.mystira.app/auth/callback", "http://localhost:5174/auth/callback"],
    "staging": ["https://staging.mystira.app/auth/callback"],
    "prod": ["https://mystira.app/auth/callback"],
}
SKIP_LINE = "External ID: externalId.tenantId is not set; the Public API, PWA and mobile apps are skipped"


def _app(result, display_name):
    apps = [a for a in of_type(result, APP) if inputs(a)["displayName"] == display_name]
    assert len(apps) == 1, [inputs(a)["displayName"] for a in of_type(result, APP)]
    return apps[0]


def _external_provider(result):
    providers = [p for p in result.by_type(PROVIDER) if p.name == "external-id"]
    assert len(providers) == 1
    return providers[0]


def _under_component(result):
    comp = result.one(COMPONENT)
    seen, frontier = [], {comp.urn}
    while frontier:
        kids = [r for r in result.records if r.parent in frontier]
        seen += kids
        frontier = {r.urn for r in kids}
    return [r for r in seen if r.custom]


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_every_consumer_resource_uses_the_external_id_provider(stack):
    result = stack_run(stack)
    provider = _external_provider(result)
    assert inputs(provider)["tenantId"] == TENANT
    resources = _under_component(result)
    assert len(resources) >= 10
    for r in resources:
        # A provider reference is "<provider urn>::<provider id>".
        assert r.provider.startswith(provider.urn + "::"), (r.name, r.provider)


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_public_api_exposes_four_scopes_with_stable_ids(stack):
    result = stack_run(stack)
    api = _app(result, f"Mystira Public API ({stack})")
    uri = f"api://mystira-public-api-{stack}"
    i = inputs(api)
    assert i["identifierUris"] == [uri]
    assert i["signInAudience"] == "AzureADMyOrg"
    assert i["api"]["requestedAccessTokenVersion"] == 2
    assert set(api.ignore_changes) >= {"appRoles", "api.oauth2PermissionScopes"}
    scopes = {inputs(s)["value"]: inputs(s) for s in of_type(result, SCOPE) if s.parent == api.urn}
    assert set(scopes) == set(SCOPES)
    for value, s in scopes.items():
        assert s["applicationId"] == api.id
        assert s["scopeId"] == stable_id(uri, "scope", value)
        assert s["type"] == "User"  # consumers consent to acting on their own data
    assert len({s["scopeId"] for s in scopes.values()}) == len(SCOPES)
    # Consumers sign themselves up: nobody could assign them an app role one by one.
    api_sp = next(sp for sp in of_type(result, SP) if inputs(sp)["clientId"] == api.outputs["clientId"])
    assert inputs(api_sp)["appRoleAssignmentRequired"] is False


def test_public_api_scope_ids_are_stable_across_runs():
    def ids(result):
        api = _app(result, "Mystira Public API (dev)")
        return sorted(
            (inputs(s)["value"], inputs(s)["scopeId"]) for s in of_type(result, SCOPE) if s.parent == api.urn
        )

    assert ids(stack_run("dev")) == ids(stack_run("dev", "preview"))  # two separate runs


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_pwa_is_a_spa_with_the_environment_redirects_and_consented_scopes(stack):
    result = stack_run(stack)
    api = _app(result, f"Mystira Public API ({stack})")
    pwa = _app(result, f"Mystira PWA ({stack})")
    i = inputs(pwa)
    assert i["singlePageApplication"]["redirectUris"] == PWA_REDIRECTS[stack]
    assert i["fallbackPublicClientEnabled"] is False
    access = {a["resourceAppId"]: a["resourceAccesses"] for a in i["requiredResourceAccesses"]}
    uri = f"api://mystira-public-api-{stack}"
    assert access[api.outputs["clientId"]] == [
        {"id": stable_id(uri, "scope", s), "type": "Scope"} for s in SCOPES
    ]
    assert {a["id"] for a in access[GRAPH_APP_ID]} == {GRAPH_SCOPES["openid"], GRAPH_SCOPES["offline_access"]}
    sps = {inputs(s)["clientId"]: s for s in of_type(result, SP)}
    pwa_sp, api_sp = sps[pwa.outputs["clientId"]], sps[api.outputs["clientId"]]
    grants = [
        inputs(g)
        for g in of_type(result, GRANT)
        if inputs(g)["servicePrincipalObjectId"] == pwa_sp.outputs["objectId"]
    ]
    api_grant = next(g for g in grants if g["resourceServicePrincipalObjectId"] == api_sp.outputs["objectId"])
    assert api_grant["claimValues"] == SCOPES


def test_no_mobile_client_unless_redirects_are_given():
    assert not [a for a in of_type(stack_run("dev"), APP) if "Mobile" in inputs(a)["displayName"]]
    result = build_stack(
        "dev",
        overrides={
            "externalId": {
                "tenantId": TENANT,
                "pwaRedirectUris": ["https://dev.mystira.app/auth/callback"],
                "mobileRedirectUris": ["msauth.app.mystira.dev://auth"],
            }
        },
    )
    assert result.ok, result.error
    mobile = _app(result, "Mystira Mobile (dev)")
    i = inputs(mobile)
    assert i["publicClient"]["redirectUris"] == ["msauth.app.mystira.dev://auth"]
    assert "singlePageApplication" not in i
    assert i["fallbackPublicClientEnabled"] is False  # no ROPC / device code
    assert mobile.provider.startswith(_external_provider(result).urn + "::")


def test_without_a_tenant_the_apps_are_skipped_with_one_line():
    result = build_stack("dev", overrides={"externalId": {}})
    assert result.ok, result.error
    assert not result.by_type(COMPONENT)
    assert not [p for p in result.by_type(PROVIDER) if p.name == "external-id"]
    names = {inputs(a)["displayName"] for a in of_type(result, APP)}
    assert names == {"Mystira Admin API (dev)", "Mystira Admin UI (dev)"}  # workforce apps stay
    lines = [d for d in result.diagnostics if "External ID" in d.message]
    assert [(d.severity, d.message) for d in lines] == [("info", SKIP_LINE)]
    # With a tenant, no such line.
    assert not [d for d in stack_run("dev").diagnostics if "External ID" in d.message]
