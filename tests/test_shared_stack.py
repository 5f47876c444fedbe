"""The shared stack (tier 3): each security setting, the exact CI trust and role scopes, the contract."""

from __future__ import annotations

import re

import pytest

from components import deploy_identity as shared
from components import interfaces
from components.deploy_identity import check_subject
from mystira_infra.dryrun.azure import SUBSCRIPTION_ID
from mystira_infra.settings import SettingsError
from mystira_infra.shared_outputs import SHARED_OUTPUTS
from tests.conftest import build_stack, stack_run
from tests.helpers import inputs, of_type

REGISTRY = "azure-native:containerregistry:Registry"
ACCOUNT = "azure-native:storage:StorageAccount"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockByScope"
APP = "azuread:index/application:Application"
FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
SUB_SCOPE = f"/subscriptions/{SUBSCRIPTION_ID}"
REPO = "mystira/mystira-infra"


def one(result, type_):
    found = of_type(result, type_)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def lock_on(result, record):
    return [r for r in of_type(result, LOCK) if inputs(r)["scope"] == record.id]


def assignments(result, prefix: str) -> dict[str, dict]:
    """Logical key (e.g. 'contributor') -> inputs, for the assignments of one deploy identity."""
    return {
        r.name[len(prefix) + 1 :]: inputs(r)
        for r in of_type(result, ASSIGNMENT)
        if r.name.startswith(prefix + "-")
    }


def role_guid(assignment: dict) -> str:
    return assignment["roleDefinitionId"].rsplit("/", 1)[-1]


# ------------------------------------------------------------------------------------- registry


def test_registry_is_premium_private_and_zone_redundant():
    r = stack_run("shared")
    reg = inputs(one(r, REGISTRY))
    assert reg["sku"] == {"name": "Premium"}
    assert reg["adminUserEnabled"] is False
    assert reg["anonymousPullEnabled"] is False
    assert reg["zoneRedundancy"] == "Enabled"
    assert reg["dataEndpointEnabled"] is True
    # No push ranges configured: no public endpoint, and so exports can be (and are) disabled.
    assert reg["publicNetworkAccess"] == "Disabled"
    assert reg["networkRuleSet"] == {"defaultAction": "Deny", "ipRules": []}
    assert reg["networkRuleBypassOptions"] == "AzureServices"
    assert reg["policies"]["exportPolicy"] == {"status": "disabled"}
    assert reg["policies"]["retentionPolicy"] == {"status": "enabled", "days": 15}  # Pulumi.shared.yaml


def test_registry_push_ranges_open_only_those_ranges():
    # Azure rule: exportPolicy 'disabled' is accepted only with publicNetworkAccess 'Disabled'.
    r = build_stack(
        "shared",
        overrides={
            "registry": {
                "sku": "Premium",
                "retentionDays": 7,
                "pushIpRanges": ["20.87.0.0/24", "102.37.160.0/27"],
            }
        },
    )
    assert r.ok, r.error
    reg = inputs(one(r, REGISTRY))
    assert reg["publicNetworkAccess"] == "Enabled"
    assert reg["networkRuleSet"]["defaultAction"] == "Deny"
    assert reg["networkRuleSet"]["ipRules"] == [
        {"action": "Allow", "iPAddressOrRange": "20.87.0.0/24"},
        {"action": "Allow", "iPAddressOrRange": "102.37.160.0/27"},
    ]
    assert reg["policies"]["exportPolicy"] == {"status": "enabled"}
    assert reg["policies"]["retentionPolicy"]["days"] == 7


@pytest.mark.parametrize("cidr", ["10.0.0.0/24", "0.0.0.0/0", "not-a-cidr"])
def test_registry_push_ranges_must_be_narrow_public_cidrs(cidr):
    r = build_stack("shared", overrides={"registry": {"pushIpRanges": [cidr]}})
    assert not r.ok
    assert "registry.pushIpRanges[0]" in r.error


def test_registry_is_protected_and_locked():
    r = stack_run("shared")
    reg = one(r, REGISTRY)
    assert reg.effective_protect
    assert len(lock_on(r, reg)) == 1


# ------------------------------------------------------------------------------------- email


def test_email_is_global_with_data_location_and_managed_domain():
    r = stack_run("shared")
    ecs = inputs(one(r, "azure-native:communication:EmailService"))
    domain_rec = one(r, "azure-native:communication:Domain")
    domain = inputs(domain_rec)
    acs = inputs(one(r, "azure-native:communication:CommunicationService"))
    assert ecs["location"] == acs["location"] == domain["location"] == "global"
    assert ecs["dataLocation"] == acs["dataLocation"] == "Africa"
    assert domain["domainName"] == "AzureManagedDomain"  # the only name Azure accepts for it
    assert domain["domainManagement"] == "AzureManaged"
    assert acs["linkedDomains"] == [domain_rec.id]
    assert acs["disableLocalAuth"] is True


def test_email_data_location_comes_from_settings():
    r = build_stack("shared", mode="preview", overrides={"email": {"dataLocation": "Europe"}})
    assert r.ok, r.error
    assert inputs(one(r, "azure-native:communication:CommunicationService"))["dataLocation"] == "Europe"
    assert inputs(one(r, "azure-native:communication:EmailService"))["dataLocation"] == "Europe"


# ------------------------------------------------------------------------------------- state backend


def test_state_account_is_entra_only_geo_redundant_and_private():
    r = stack_run("shared")
    acct = inputs(one(r, ACCOUNT))
    assert acct["kind"] == "StorageV2"
    assert acct["sku"] == {"name": "Standard_GZRS"}
    assert acct["minimumTlsVersion"] == "TLS1_2"
    assert acct["enableHttpsTrafficOnly"] is True
    assert acct["allowBlobPublicAccess"] is False
    assert acct["allowSharedKeyAccess"] is False  # the CLI needs AZURE_STORAGE_AUTH_MODE=login
    assert acct["accountName"] == r.outputs["stateStorageAccount"]
    assert re.fullmatch(r"[a-z0-9]{3,24}", acct["accountName"])


def test_state_blobs_are_versioned_and_soft_deleted_and_container_private():
    r = stack_run("shared")
    svc = inputs(one(r, "azure-native:storage:BlobServiceProperties"))
    assert svc["isVersioningEnabled"] is True
    assert svc["deleteRetentionPolicy"]["enabled"] is True and svc["deleteRetentionPolicy"]["days"] >= 7
    assert svc["containerDeleteRetentionPolicy"]["enabled"] is True
    container = inputs(one(r, "azure-native:storage:BlobContainer"))
    assert container["containerName"] == "state"
    assert container["publicAccess"] == "None"


def test_state_account_is_protected_and_locked():
    r = stack_run("shared")
    acct = one(r, ACCOUNT)
    assert acct.effective_protect
    locks = lock_on(r, acct)
    assert len(locks) == 1 and inputs(locks[0])["level"] == "CanNotDelete"


def test_secrets_vault_and_key():
    r = stack_run("shared")
    vault_rec = one(r, "azure-native:keyvault:Vault")
    vault = inputs(vault_rec)["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enablePurgeProtection"] is True
    assert vault["enableSoftDelete"] is True and vault["softDeleteRetentionInDays"] == 90
    key = inputs(one(r, "azure-native:keyvault:Key"))
    assert key["keyName"] == "pulumi-secrets"
    # HSM-protected: a premium vault and an RSA-HSM key, whose material never leaves the HSM.
    assert vault["sku"]["name"] == "premium"
    assert key["properties"]["kty"] == "RSA-HSM" and key["properties"]["keySize"] in (3072, 4096)
    assert set(key["properties"]["keyOps"]) == {"wrapKey", "unwrapKey", "encrypt", "decrypt"}
    assert "rotationPolicy" not in key["properties"]  # the provider URL names no version
    assert vault_rec.effective_protect and len(lock_on(r, vault_rec)) == 1
    assert r.outputs["secretsProvider"] == (
        f"azurekeyvault://{inputs(vault_rec)['vaultName']}.vault.azure.net/keys/pulumi-secrets"
    )


def test_shared_resource_groups_are_tier3_and_named_for_shared():
    r = stack_run("shared")
    groups = [inputs(g) for g in of_type(r, "azure-native:resources:ResourceGroup")]
    assert {g["resourceGroupName"] for g in groups} == {
        "mys-shared-platform-rg-san",
        "mys-shared-state-rg-san",
    }
    assert all(g["tags"]["Tier"] == "3" for g in groups)


# ------------------------------------------------------------------------------------- CI identities


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_deploy_identity_trusts_exactly_its_github_environment(env):
    r = stack_run("shared")
    app = next(a for a in of_type(r, APP) if a.name == f"deploy-{env}-app")
    fics = [inputs(f) for f in of_type(r, FIC) if f.parent == app.urn]
    assert fics == [
        {
            "applicationId": app.id,  # the object path /applications/{objectId}, not the client id
            "audiences": ["api://AzureADTokenExchange"],
            "description": f"GitHub Actions OIDC: repo:{REPO}:environment:{env}",
            "displayName": fics[0]["displayName"],
            "issuer": "https://token.actions.githubusercontent.com",
            "subject": f"repo:{REPO}:environment:{env}",
        }
    ]
    assert app.id.startswith("/applications/")


def test_preview_identity_trusts_only_pull_requests_and_the_drift_check():
    r = stack_run("shared")
    app = next(a for a in of_type(r, APP) if a.name == "preview-app")
    assert sorted(inputs(f)["subject"] for f in of_type(r, FIC) if f.parent == app.urn) == [
        f"repo:{REPO}:environment:drift",
        f"repo:{REPO}:pull_request",
    ]


def test_no_federated_subject_has_a_wildcard():
    r = stack_run("shared")
    subjects = [inputs(f)["subject"] for f in of_type(r, FIC)]
    assert len(subjects) == 5
    assert not any("*" in s for s in subjects)


@pytest.mark.parametrize(
    "subject",
    [
        "repo:mystira/mystira-infra:*",
        "repo:mystira/*:pull_request",
        "repo:mystira/mystira-infra:ref:refs/heads/main",
    ],
)
def test_check_subject_rejects_wildcards_and_other_shapes(subject):
    with pytest.raises(ValueError):
        check_subject(subject)


def test_deploy_identities_follow_settings_environments():
    r = build_stack(
        "shared", mode="preview", overrides={"github": {"repository": "acme/infra", "environments": ["prod"]}}
    )
    assert r.ok, r.error
    assert sorted(a.name for a in of_type(r, APP)) == ["deploy-prod-app", "preview-app"]
    assert sorted(inputs(f)["subject"] for f in of_type(r, FIC)) == [
        "repo:acme/infra:environment:drift",
        "repo:acme/infra:environment:prod",
        "repo:acme/infra:pull_request",
    ]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_deploy_identity_role_scopes_are_exact(env):
    r = stack_run("shared")
    roles = assignments(r, f"deploy-{env}")
    registry = one(r, REGISTRY)
    container = one(r, "azure-native:storage:BlobContainer")
    key = one(r, "azure-native:keyvault:Key")
    extras = custom_role(r, "Mystira infra deployer extras")
    state_role = custom_role(r, "Mystira infra state user")
    sp = next(
        s
        for s in of_type(r, "azuread:index/servicePrincipal:ServicePrincipal")
        if s.name == f"deploy-{env}-sp"
    )
    expected = {
        "contributor": (SUB_SCOPE, interfaces.ROLES["Contributor"]),
        "rbac-admin": (SUB_SCOPE, interfaces.ROLES["Role Based Access Control Administrator"]),
        "extras": (SUB_SCOPE, extras.id.rsplit("/", 1)[-1]),
        "acr-push": (registry.id, interfaces.ROLES["AcrPush"]),
        "state": (container.id, state_role.id.rsplit("/", 1)[-1]),
        "secrets": (key.id, interfaces.ROLES["Key Vault Crypto User"]),
    }
    assert {k: (a["scope"], role_guid(a)) for k, a in roles.items()} == expected
    for a in roles.values():
        assert a["principalType"] == "ServicePrincipal"
        assert a["principalId"] == sp.outputs["objectId"]


def test_role_assignment_rights_are_constrained_to_the_programs_roles():
    r = stack_run("shared")
    delegable = shared.delegable_roles()
    for env in ("dev", "staging", "prod"):
        admin = assignments(r, f"deploy-{env}")["rbac-admin"]
        assert admin["conditionVersion"] == "2.0"
        cond = admin["condition"]
        guids = set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", cond))
        assert guids == set(delegable.values())
        assert not guids & (
            interfaces.PRIVILEGED_ROLES
            | {interfaces.ROLES["Role Based Access Control Administrator"], interfaces.ROLES["AcrPush"]}
        )
        assert "roleAssignments/write" in cond and "roleAssignments/delete" in cond
        assert "'ServicePrincipal', 'Group'" in cond


def test_no_unconstrained_owner_uaa_or_rbac_admin():
    r = stack_run("shared")
    for rec in of_type(r, ASSIGNMENT):
        a = inputs(rec)
        guid = role_guid(a)
        assert guid not in (interfaces.ROLES["Owner"], interfaces.ROLES["User Access Administrator"]), (
            rec.name
        )
        if guid == interfaces.ROLES["Role Based Access Control Administrator"]:
            assert a.get("condition"), rec.name


def custom_role(result, role_name: str):
    found = [
        d
        for d in of_type(result, "azure-native:authorization:RoleDefinition")
        if inputs(d)["roleName"] == role_name
    ]
    assert len(found) == 1, role_name
    return found[0]


def test_state_role_cannot_delete_the_container_or_mint_sas_keys():
    r = stack_run("shared")
    perms = inputs(custom_role(r, "Mystira infra state user"))["permissions"][0]
    assert perms["actions"] == ["Microsoft.Storage/storageAccounts/blobServices/containers/read"]
    assert not any(
        "generateUserDelegationKey" in a or "*" in a for a in perms["actions"] + perms["dataActions"]
    )
    assert "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write" in perms["dataActions"]


def test_custom_role_allows_locks_but_not_their_deletion():
    r = stack_run("shared")
    role = inputs(custom_role(r, "Mystira infra deployer extras"))
    actions = role["permissions"][0]["actions"]
    assert "Microsoft.Authorization/locks/write" in actions
    assert not any(a.endswith("/delete") or "*" in a for a in actions)
    assert role["assignableScopes"] == [SUB_SCOPE]


def test_preview_identity_reads_and_only_writes_locks():
    r = stack_run("shared")
    roles = assignments(r, "preview")
    assert {k: role_guid(a) for k, a in roles.items()} == {
        "reader": interfaces.ROLES["Reader"],
        "state": custom_role(r, "Mystira infra state user").id.rsplit("/", 1)[-1],
        "secrets": interfaces.ROLES["Key Vault Crypto User"],
    }
    assert roles["reader"]["scope"] == SUB_SCOPE
    cond = roles["state"]["condition"]
    assert roles["state"]["conditionVersion"] == "2.0"
    assert "blobs/write" in cond and "blobs/delete" in cond and "StringLike '.pulumi/locks/*'" in cond


def test_deploy_identities_may_manage_only_their_own_entra_apps():
    r = stack_run("shared")
    grants = of_type(r, "azuread:index/appRoleAssignment:AppRoleAssignment")
    assert len(grants) == 3
    assert {inputs(g)["appRoleId"] for g in grants} == {shared.GRAPH_APPLICATION_READWRITE_OWNEDBY}


# ------------------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("mode", ["update", "preview"])
def test_exports_equal_the_contract(mode):
    r = stack_run("shared", mode)
    assert set(r.outputs) == set(SHARED_OUTPUTS)


def test_exports_are_the_resources_values():
    r = stack_run("shared")
    reg = one(r, REGISTRY)
    out = r.outputs
    assert out["registryId"] == reg.id
    assert out["registryLoginServer"] == f"{inputs(reg)['registryName']}.azurecr.io"
    assert out["emailEndpoint"].startswith("https://") and out["emailEndpoint"].endswith(
        ".communication.azure.com/"
    )
    assert out["emailSenderAddress"] == f"DoNotReply@{out['emailSenderDomain']}"
    assert out["stateBackendUrl"] == f"azblob://state?storage_account={out['stateStorageAccount']}"
    assert set(out["deployClientIds"]) == {"dev", "staging", "prod"}


def test_shared_stack_refuses_env_settings():
    with pytest.raises(SettingsError):
        from mystira_infra.settings import parse_settings

        parse_settings(
            "shared",
            {
                "environment": "shared",
                "github": '{"repository": "a/b"}',
                "network": '{"addressSpace": "10.0.0.0/16"}',
            },
        )


def test_tier3_resources_send_audit_logs_to_the_shared_workspace():
    r = stack_run("shared")
    workspace = one(r, "azure-native:operationalinsights:Workspace")
    assert inputs(workspace)["retentionInDays"] >= 30
    settings = {
        inputs(d)["resourceUri"]: inputs(d) for d in of_type(r, "azure-native:monitor:DiagnosticSetting")
    }
    targets = {
        "registry": one(r, REGISTRY).id,
        "vault": one(r, "azure-native:keyvault:Vault").id,
        "acs": one(r, "azure-native:communication:CommunicationService").id,
        "state blobs": one(r, "azure-native:storage:BlobServiceProperties").id,
    }
    for what, rid in targets.items():
        assert rid in settings, f"no diagnostic setting on the {what}"
        assert settings[rid]["workspaceId"] == workspace.id
        assert {"categoryGroup": "allLogs", "enabled": True} in settings[rid]["logs"]
