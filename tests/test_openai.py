"""Azure OpenAI: one account per environment, Entra-only, private, deployments written serially."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.interfaces import ROLES
from mystira_infra.dryrun.mocks import Secret
from tests.conftest import ENV_STACKS, build_stack, stack_run
from tests.helpers import depends_on, inputs, is_unknown, of_type

ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
SECRET = "azure-native:keyvault:Secret"

# The seed's capacities, 10/20/50 and 20/40/100 across dev/staging/prod, kept when the retired gpt-4o
# and gpt-4o-mini were replaced (docs/lifecycle.md): deployment name -> capacity.
CAPACITY = {
    "dev": {"chat": 10, "chat-mini": 20},
    "staging": {"chat": 20, "chat-mini": 40},
    "prod": {"chat": 50, "chat-mini": 100},
}
# Deployment name -> the model version it pins, offered for GlobalStandard in southafricanorth.
MODELS = {"chat": ("gpt-5.1", "2025-11-13"), "chat-mini": ("gpt-5.4-mini", "2026-03-17")}
ROOT = Path(__file__).resolve().parent.parent


def _account(result):
    accounts = of_type(result, ACCOUNT)
    assert len(accounts) == 1, [a.name for a in accounts]
    return accounts[0]


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_account_is_entra_only_private_and_has_its_own_subdomain(stack):
    acc = _account(stack_run(stack))
    i = inputs(acc)
    props = i["properties"]
    assert i["kind"] == "OpenAI"
    assert i["sku"] == {"name": "S0"}
    # Custom subdomain: required for Entra tokens and private endpoints (docs/azure-facts.md).
    assert props["customSubDomainName"] == i["accountName"]
    assert props["disableLocalAuth"] is True  # no keys exist (CKV_AZURE_236)
    assert props["publicNetworkAccess"] == "Disabled"  # CKV_AZURE_134
    assert props["networkAcls"]["defaultAction"] == "Deny"
    assert props["restrictOutboundNetworkAccess"] is True
    assert i["identity"] == {"type": "SystemAssigned"}
    assert acc.custom_timeouts.get("create")


def test_account_name_and_subdomain_differ_per_environment():
    # The seed system reused one name everywhere; a soft-deleted account blocks its name.
    names = {stack: inputs(_account(stack_run(stack)))["accountName"] for stack in ENV_STACKS}
    assert len(set(names.values())) == len(ENV_STACKS), names
    for stack, name in names.items():
        assert re.fullmatch(rf"mys-{stack}-core-oai-san-[0-9a-z]{{4}}", name), name


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_deployments_pinned_global_standard_with_capacity_per_environment(stack):
    deps = {inputs(d)["deploymentName"]: inputs(d) for d in of_type(stack_run(stack), DEPLOYMENT)}
    assert set(deps) == set(CAPACITY[stack])
    for name, d in deps.items():
        assert d["sku"] == {"name": "GlobalStandard", "capacity": CAPACITY[stack][name]}
        model = d["properties"]["model"]
        assert model == {"format": "OpenAI", "name": MODELS[name][0], "version": MODELS[name][1]}
        assert d["properties"]["versionUpgradeOption"] == "OnceCurrentVersionExpired"
        assert d["tags"]["Component"] == "openai" and d["tags"]["Environment"] == stack


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_deployments_are_written_one_after_another(stack):
    # Parallel deployment writes on one account answer 409 Conflict (docs/azure-facts.md).
    deps = of_type(stack_run(stack), DEPLOYMENT)
    assert len(deps) >= 2
    for earlier, later in zip(deps, deps[1:], strict=False):
        assert depends_on(later, earlier), f"{later.name} must wait for {earlier.name}"
        assert not depends_on(earlier, later)
    for d in deps:
        assert d.custom_timeouts.get("create")


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_private_endpoint_targets_the_account_in_the_openai_zone(stack):
    result = stack_run(stack)
    acc = _account(result)
    pes = [p for p in of_type(result, PRIVATE_ENDPOINT) if p.parent == acc.parent]
    assert len(pes) == 1
    conn = inputs(pes[0])["privateLinkServiceConnections"][0]
    assert conn["groupIds"] == ["account"]
    assert conn["privateLinkServiceId"] == acc.id
    zone_group = next(z for z in of_type(result, DNS_ZONE_GROUP) if z.parent == pes[0].urn)
    zone_id = inputs(zone_group)["privateDnsZoneConfigs"][0]["privateDnsZoneId"]
    assert zone_id.endswith("/privateDnsZones/privatelink.openai.azure.com")


def test_dev_with_public_access_has_no_private_endpoint():
    result = build_stack(
        "dev",
        overrides={
            "openai": {
                "publicNetworkAccess": True,
                "deployments": [
                    {"name": "chat", "model": "gpt-5.1", "version": "2025-11-13", "capacity": 10}
                ],
            }
        },
    )
    assert result.ok, result.error
    acc = _account(result)
    assert inputs(acc)["properties"]["publicNetworkAccess"] == "Enabled"
    assert inputs(acc)["properties"]["disableLocalAuth"] is True  # keys stay off either way
    assert not [p for p in of_type(result, PRIVATE_ENDPOINT) if p.parent == acc.parent]


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_only_story_generator_gets_openai_user_on_the_account(stack):
    result = stack_run(stack)
    acc = _account(result)
    story_id = next(r for r in result.records if r.name == "story-id")
    role_suffix = f"/roleDefinitions/{ROLES['Cognitive Services OpenAI User']}"
    grants = [
        r for r in of_type(result, ROLE_ASSIGNMENT) if inputs(r)["roleDefinitionId"].endswith(role_suffix)
    ]
    assert len(grants) == 1
    g = inputs(grants[0])
    assert g["scope"] == acc.id
    assert g["principalId"] == story_id.outputs["principalId"]
    assert g["principalType"] == "ServicePrincipal"


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_story_vault_gets_the_endpoint_and_no_key(stack):
    result = stack_run(stack)
    endpoint = _account(result).outputs["properties"]["endpoint"]
    assert endpoint.startswith("https://mys-") and endpoint.endswith(".openai.azure.com/")
    secrets = {inputs(s)["secretName"]: s for s in of_type(result, SECRET)}
    story = [
        s
        for s in of_type(result, SECRET)
        if s.name.startswith("story-") and s.name.endswith("openai-endpoint")
    ]
    assert len(story) == 1
    props = story[0].inputs["properties"]
    assert isinstance(props, Secret) or isinstance(props["value"], Secret)  # stays a pulumi secret
    assert inputs(story[0])["properties"]["value"] == endpoint
    assert not [n for n in secrets if "openai" in n and "key" in n]
    assert result.outputs["openaiEndpoint"] == endpoint
    assert not [k for k in result.outputs if "openai" in k.lower() and "key" in k.lower()]


def test_no_code_path_lists_openai_keys():
    # With local auth off there is no key; nothing may even ask for one.
    for path in ("components/openai.py", "stacks/env/ai.py"):
        text = (ROOT / path).read_text()
        assert "list_account_keys" not in text and "listAccountKeys" not in text, path


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_account_logs_go_to_log_analytics(stack):
    result = stack_run(stack)
    acc = _account(result)
    diags = [
        d
        for d in result.by_type("azure-native:monitor:DiagnosticSetting")
        if inputs(d)["resourceUri"] == acc.id
    ]
    assert len(diags) == 1
    d = inputs(diags[0])
    assert d["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert d["metrics"] == [{"category": "AllMetrics", "enabled": True}]
    # To the environment's own workspace, not merely somewhere.
    workspaces = of_type(result, "azure-native:operationalinsights:Workspace")
    assert len(workspaces) == 1
    assert d["workspaceId"] == workspaces[0].id


def test_preview_knows_the_endpoint_from_the_custom_subdomain():
    # The endpoint of an account with a custom subdomain is https://<subdomain>.openai.azure.com/.
    result = stack_run("dev", "preview")
    name = inputs(_account(result))["accountName"]
    assert result.outputs["openaiEndpoint"] == f"https://{name}.openai.azure.com/"
    assert not is_unknown(result.outputs["openaiEndpoint"])
