"""PostgreSQL Flexible Server: settings per environment, Entra-only access, serial children.

Azure rules relied on here (DESIGN.md section 5, reference/azure-platform-facts.md section 4.8):
- parallel writes of configurations, databases or Entra admins on one server fail with ServerIsBusy;
- availability zones drift after an HA failover, so they are ignored;
- the ARM API creates only Entra *administrators*; a service's database role is made in SQL.
"""

from __future__ import annotations

import pytest

from components.postgres import SERVER_PARAMETERS, grant_script
from mystira_infra.dryrun.azure import DEPLOYER_OBJECT_ID, TENANT_ID
from mystira_infra.services import DATABASES, SERVICES
from tests.conftest import stack_run
from tests.helpers import depends_on, inputs, is_unknown, of_type

SERVER = "azure-native:dbforpostgresql:Server"
CONFIG = "azure-native:dbforpostgresql:Configuration"
DATABASE = "azure-native:dbforpostgresql:Database"
ADMIN = "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra"

# What each environment's stack file asks for (Pulumi.<env>.yaml, section postgres).
EXPECTED = {
    "dev": dict(sku=("Standard_B1ms", "Burstable"), storage=32, retention=7, geo="Disabled", ha="Disabled"),
    "staging": dict(
        sku=("Standard_B1ms", "Burstable"), storage=32, retention=7, geo="Disabled", ha="Disabled"
    ),
    "prod": dict(
        sku=("Standard_D4ds_v5", "GeneralPurpose"),
        storage=128,
        retention=35,
        geo="Enabled",
        ha="ZoneRedundant",
    ),
}


def server(result):
    (rec,) = of_type(result, SERVER)
    return rec


def test_sizes_backup_and_ha_per_environment(env_stack, mode):
    want = EXPECTED[env_stack]
    i = inputs(server(stack_run(env_stack, mode)))
    assert (i["sku"]["name"], i["sku"]["tier"]) == want["sku"]
    assert i["version"] == "16"
    assert i["storage"]["storageSizeGB"] == want["storage"]
    assert i["backup"] == {"backupRetentionDays": want["retention"], "geoRedundantBackup": want["geo"]}
    assert i["highAvailability"]["mode"] == want["ha"]
    # A custom window (Sunday 02:00 UTC from settings), not Azure's choice of time.
    assert i["maintenanceWindow"] == {
        "customWindow": "Enabled",
        "dayOfWeek": 0,
        "startHour": 2,
        "startMinute": 0,
    }


def test_entra_only_no_password_anywhere(env_stack, mode):
    i = inputs(server(stack_run(env_stack, mode)))
    assert i["authConfig"]["activeDirectoryAuth"] == "Enabled"
    assert i["authConfig"]["passwordAuth"] == "Disabled"
    assert "administratorLogin" not in i and "administratorLoginPassword" not in i


def test_private_access_through_delegated_subnet_and_zone(env_stack):
    result = stack_run(env_stack, "update")
    i = inputs(server(result))
    assert i["network"]["publicNetworkAccess"] == "Disabled"
    assert i["network"]["delegatedSubnetResourceId"].endswith(f"/subnets/mys-{env_stack}-postgres-snet-san")
    assert i["network"]["privateDnsZoneArmResourceId"].endswith(
        f"/privateDnsZones/mys-{env_stack}.private.postgres.database.azure.com"
    )
    # Azure refuses a private-access server whose zone isn't linked to the VNet yet.
    link = result.one("azure-native:privatedns:VirtualNetworkLink", "core-postgres-dns-link")
    assert depends_on(server(result), link)


def test_server_parameters(env_stack, mode):
    result = stack_run(env_stack, mode)
    got = {inputs(c)["configurationName"]: inputs(c)["value"] for c in of_type(result, CONFIG)}
    assert got == {
        "require_secure_transport": "on",
        "ssl_min_protocol_version": "TLSv1.2",
        "connection_throttle.enable": "on",
        "log_checkpoints": "on",
    }
    assert dict(SERVER_PARAMETERS) == got


def test_databases(env_stack):
    result = stack_run(env_stack, "update")
    assert sorted(inputs(d)["databaseName"] for d in of_type(result, DATABASE)) == sorted(DATABASES)
    assert set(DATABASES) == {"storygenerator", "publisher", "adminapi"}


def test_entra_admins_are_the_deployer_and_the_settings_group(env_stack):
    result = stack_run(env_stack, "update")
    admins = {inputs(a)["principalType"]: inputs(a) for a in of_type(result, ADMIN)}
    assert set(admins) == {"servicePrincipal", "group"}
    assert admins["servicePrincipal"]["objectId"] == DEPLOYER_OBJECT_ID
    assert admins["group"]["objectId"] == "11111111-1111-4111-8111-111111111111"
    assert admins["group"]["principalName"] == f"mystira-{env_stack}-db-admins"
    assert all(a["tenantId"] == TENANT_ID for a in admins.values())


def test_children_are_written_one_after_another(env_stack, mode):
    """ServerIsBusy otherwise: each configuration, database and admin waits for the previous one."""
    result = stack_run(env_stack, mode)
    chain = [server(result)] + of_type(result, CONFIG) + of_type(result, DATABASE) + of_type(result, ADMIN)
    assert len(chain) == 1 + 4 + 3 + 2
    for before, after in zip(chain, chain[1:], strict=False):
        assert depends_on(after, before), f"{after.name} does not wait for {before.name}"


def test_failover_zone_drift_ignored_and_timeouts(env_stack):
    rec = server(stack_run(env_stack, "update"))
    assert set(rec.ignore_changes) == {"availabilityZone", "highAvailability.standbyAvailabilityZone"}
    assert rec.custom_timeouts["create"] == "60m"


@pytest.mark.parametrize("env,protected", [("dev", False), ("staging", True), ("prod", True)])
def test_protect_and_lock_in_staging_and_prod(env, protected):
    result = stack_run(env, "update")
    for rec in (
        [server(result)] + of_type(result, DATABASE) + of_type(result, CONFIG) + of_type(result, ADMIN)
    ):
        assert rec.effective_protect is protected, rec.name
    locks = [
        lk
        for lk in of_type(result, "azure-native:authorization:ManagementLockByScope")
        if "Microsoft.DBforPostgreSQL" in str(inputs(lk)["scope"])
    ]
    assert len(locks) == (1 if protected else 0)
    if protected:
        assert inputs(locks[0])["level"] == "CanNotDelete"


def test_diagnostics_when_monitoring_exists(env_stack):
    result = stack_run(env_stack, "update")
    diags = [
        d
        for d in of_type(result, "azure-native:monitor:DiagnosticSetting")
        if "/flexibleServers/" in str(inputs(d)["resourceUri"])
    ]
    assert len(diags) == 1
    assert inputs(diags[0])["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]


def test_grant_script_gives_one_identity_one_database():
    sql = grant_script("mys-dev-story-id-san", "48c8e165-6e01-54f4-8b7a-3a0f045d6c99", "storygenerator")
    assert (
        "pgaadauth_create_principal_with_oid('mys-dev-story-id-san', "
        "'48c8e165-6e01-54f4-8b7a-3a0f045d6c99', 'service', false, false)"
    ) in sql
    assert 'GRANT CONNECT, TEMPORARY ON DATABASE "storygenerator" TO "mys-dev-story-id-san";' in sql
    assert "\\connect storygenerator" in sql
    # Not an admin, no superuser-like grants, no password.
    statements = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    assert "azure_pg_admin" not in statements and "PASSWORD" not in statements.upper()
    assert "WHERE NOT EXISTS" in sql  # re-runnable


def test_grant_script_quotes_names():
    sql = grant_script('we"ird', "o'id", "db")
    assert '"we""ird"' in sql and "'o''id'" in sql


def test_grant_scripts_exported_for_each_database_service(env_stack):
    result = stack_run(env_stack, "update")
    scripts = result.outputs["postgresGrantScripts"]
    want = {s.key: s.database for s in SERVICES if s.database}
    assert set(scripts) == set(want)
    principals = {
        r.name: r.outputs["principalId"]
        for r in of_type(result, "azure-native:managedidentity:UserAssignedIdentity")
    }
    for key, db in want.items():
        assert f"mys-{env_stack}-{key}-id-san" in scripts[key]
        assert principals[f"{key}-id"] in scripts[key]
        assert f"\\connect {db}" in scripts[key]
        others = set(DATABASES) - {db}
        assert not any(f"\\connect {o}" in scripts[key] for o in others)


def test_fqdn_known_after_update_unknown_at_preview():
    assert stack_run("dev", "update").outputs["postgresFqdn"].endswith(".postgres.database.azure.com")
    assert is_unknown(stack_run("dev", "preview").outputs["postgresFqdn"])
