"""Per-service Key Vaults: RBAC mode, private, soft delete / purge protection per environment,
AuditEvent logs, and the secrets written into them as Pulumi secrets.

Azure rules relied on:
- on an access-policy vault, "Key Vault Secrets User" grants nothing (DESIGN.md section 4, defect 2);
- `enablePurgeProtection: false` is rejected (purge protection can only be turned on), so it is omitted;
- the SDK sends `enableRbacAuthorization: false` and `publicNetworkAccess: enabled` when unset.
"""

from __future__ import annotations

import pytest

from components.key_vault import check_secret_name
from mystira_infra.dryrun.azure import TENANT_ID
from mystira_infra.dryrun.mocks import Secret
from mystira_infra.services import SERVICES
from tests.conftest import stack_run
from tests.helpers import inputs, of_type

VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"


def all_vaults(result):
    """Every vault, one per service: a loop over them can't pass by finding none."""
    found = of_type(result, VAULT)
    assert len(found) == len(SERVICES)
    return found


def all_secrets(result):
    found = of_type(result, SECRET)
    assert found, "no Key Vault secret was written"
    return found


def vaults(result):
    return {inputs(v)["resourceGroupName"].split("-")[2]: v for v in all_vaults(result)}


def test_one_vault_per_service_in_its_own_group(env_stack):
    got = vaults(stack_run(env_stack, "update"))
    assert set(got) == {s.key for s in SERVICES}
    for key, v in got.items():
        i = inputs(v)
        assert i["resourceGroupName"] == f"mys-{env_stack}-{key}-rg-san"
        assert i["vaultName"].startswith(
            f"mys{ {'dev': 'dev', 'staging': 'stg', 'prod': 'prd'}[env_stack] }{key}kvsan"
        )


def test_secure_settings_explicit(env_stack, mode):
    for v in all_vaults(stack_run(env_stack, mode)):
        p = inputs(v)["properties"]
        assert p["enableRbacAuthorization"] is True
        assert p["publicNetworkAccess"] == "Disabled"
        assert p["networkAcls"] == {"defaultAction": "Deny", "bypass": "None"}
        assert p["enableSoftDelete"] is True
        assert p["enabledForDeployment"] is False
        assert p["enabledForTemplateDeployment"] is False
        assert p["enabledForDiskEncryption"] is False
        assert "accessPolicies" not in p
        assert p["tenantId"] == TENANT_ID


@pytest.mark.parametrize("env,retention,purge", [("dev", 7, None), ("staging", 90, True), ("prod", 90, True)])
def test_soft_delete_and_purge_protection_per_environment(env, retention, purge):
    for v in all_vaults(stack_run(env, "update")):
        p = inputs(v)["properties"]
        assert p["softDeleteRetentionInDays"] == retention
        assert p.get("enablePurgeProtection") is purge  # omitted (None) when off: Azure refuses false


def test_private_endpoint_per_vault(env_stack):
    result = stack_run(env_stack, "update")
    for v in all_vaults(result):
        pes = [
            pe
            for pe in of_type(result, "azure-native:network:PrivateEndpoint")
            if inputs(pe)["privateLinkServiceConnections"][0]["privateLinkServiceId"] == v.id
        ]
        assert len(pes) == 1, v.name
        assert inputs(pes[0])["privateLinkServiceConnections"][0]["groupIds"] == ["vault"]
        (group,) = [
            g for g in of_type(result, "azure-native:network:PrivateDnsZoneGroup") if g.parent == pes[0].urn
        ]
        assert inputs(group)["privateDnsZoneConfigs"][0]["privateDnsZoneId"].endswith(
            "/privateDnsZones/privatelink.vaultcore.azure.net"
        )


def test_audit_event_diagnostics(env_stack):
    result = stack_run(env_stack, "update")
    for v in all_vaults(result):
        diags = [
            d
            for d in of_type(result, "azure-native:monitor:DiagnosticSetting")
            if inputs(d)["resourceUri"] == v.id
        ]
        assert len(diags) == 1, v.name
        assert inputs(diags[0])["logs"] == [{"category": "AuditEvent", "enabled": True}]


@pytest.mark.parametrize("env,locked", [("dev", False), ("staging", False), ("prod", True)])
def test_lock_and_protect_in_prod(env, locked):
    result = stack_run(env, "update")
    lock_scopes = {
        inputs(lk)["scope"] for lk in of_type(result, "azure-native:authorization:ManagementLockByScope")
    }
    for v in all_vaults(result):
        assert v.effective_protect is locked
        assert (v.id in lock_scopes) is locked


def test_secret_values_are_secret_with_content_type(env_stack, mode):
    for s in all_secrets(stack_run(env_stack, mode)):
        props = s.inputs["properties"]
        # The value reaches the engine wrapped as a secret (encrypted in state, [secret] in output).
        assert isinstance(props, Secret) or isinstance(props.get("value"), Secret), s.name
        assert inputs(s)["properties"]["contentType"] == "text/plain"


def test_secrets_go_into_their_own_services_vault(env_stack):
    result = stack_run(env_stack, "update")
    by_key = vaults(result)
    for s in all_secrets(result):
        key = inputs(s)["resourceGroupName"].split("-")[2]
        assert inputs(s)["vaultName"] == inputs(by_key[key])["vaultName"]


def test_no_password_is_stored(env_stack):
    for s in all_secrets(stack_run(env_stack, "update")):
        name = inputs(s)["secretName"]
        value = str(inputs(s)["properties"]["value"])
        assert "password" not in name.lower() and "password=" not in value.lower()
        assert "key=" not in value.lower() or name == "appinsights-connection-string"


@pytest.mark.parametrize("name", ["postgres-host", "A1-b2"])
def test_valid_secret_names(name):
    assert check_secret_name(name) == name


@pytest.mark.parametrize("name", ["postgres_host", "", "a.b", "x" * 128])
def test_invalid_secret_names(name):
    with pytest.raises(ValueError):
        check_secret_name(name)
