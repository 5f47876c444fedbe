"""Azure Database for PostgreSQL flexible server: the server, its configurations and
firewall rules.

References: MYS.PG.<NNN>.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .framework import (
    CRITICAL,
    HIGH,
    LOW,
    PG,
    PG_CONFIG,
    PG_FIREWALL,
    PROD_ENVS,
    RELIABILITY,
    SECURITY,
    STRICT_ENVS,
    environment,
    eq,
    get,
    has,
    resource_policy,
)


@resource_policy(
    "postgres-entra-auth",
    "PostgreSQL servers must enable Entra authentication, and disable password "
    "authentication in staging and production.",
    HIGH,
    "Set auth_config={'active_directory_auth': 'Enabled', 'password_auth': 'Disabled'} and add an "
    "Entra administrator.",
    "authConfig.activeDirectoryAuth, authConfig.passwordAuth",
    [PG],
    reference="MYS.PG.001",
    pillar=SECURITY,
)
def _pg_auth(args, report):
    if not eq(get(args.props, "authConfig", "activeDirectoryAuth"), "Enabled"):
        report(
            "authConfig.activeDirectoryAuth is not Enabled: workloads can't sign in with their "
            "managed identity."
        )
    env = environment(args.props)
    if env in STRICT_ENVS and not eq(get(args.props, "authConfig", "passwordAuth"), "Disabled"):
        report(f"authConfig.passwordAuth is not Disabled in {env}: a leaked password is enough to get in.")


@resource_policy(
    "postgres-secure-transport",
    "PostgreSQL must keep require_secure_transport on.",
    HIGH,
    "Remove the require_secure_transport=off configuration (or set it to 'on').",
    "Configuration[require_secure_transport].value",
    [PG_CONFIG],
    reference="MYS.PG.002",
    pillar=SECURITY,
)
def _pg_secure_transport(args, report):
    if get(args.props, "configurationName") == "require_secure_transport":
        value = get(args.props, "value")
        if not (isinstance(value, str) and value.lower() in ("on", "true", "1")):
            report(f"require_secure_transport is {value!r}: clients may connect without TLS.")


@resource_policy(
    "postgres-tls12",
    "PostgreSQL must require TLS 1.2 or newer.",
    HIGH,
    "Set the ssl_min_protocol_version configuration to 'TLSv1.2' (or remove the override).",
    "Configuration[ssl_min_protocol_version].value",
    [PG_CONFIG],
    reference="MYS.PG.003",
    pillar=SECURITY,
)
def _pg_tls(args, report):
    if get(args.props, "configurationName") == "ssl_min_protocol_version":
        value = get(args.props, "value")
        if not (isinstance(value, str) and value in ("TLSv1.2", "TLSv1.3")):
            report(f"ssl_min_protocol_version is {value!r}: TLS 1.0/1.1 are broken.")


def _ip(value: Any) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        return None


@resource_policy(
    "postgres-no-public-firewall",
    "PostgreSQL firewall rules must not open the server to the world or to all of Azure.",
    CRITICAL,
    "Delete the rule; use private access (a delegated subnet) or a private endpoint.",
    "FirewallRule.startIpAddress, FirewallRule.endIpAddress",
    [PG_FIREWALL],
    reference="MYS.PG.004",
    pillar=SECURITY,
)
def _pg_firewall(args, report):
    start, end = _ip(get(args.props, "startIpAddress")), _ip(get(args.props, "endIpAddress"))
    if start is None or end is None:
        report("the rule's addresses are not IPv4 addresses: it can't be checked.")
        return
    if int(start) == 0 and int(end) == 0:
        report("the rule 0.0.0.0-0.0.0.0 allows every Azure service of every tenant.")
    elif int(end) - int(start) + 1 >= 2**24:
        report(f"the rule {start}-{end} opens the server to {int(end) - int(start) + 1} addresses.")


@resource_policy(
    "postgres-private-access",
    "PostgreSQL servers must use private access (no public network access).",
    HIGH,
    "Set network={'delegated_subnet_resource_id': ..., 'private_dns_zone_arm_resource_id': ...} "
    "or network.public_network_access='Disabled' with a private endpoint.",
    "network.publicNetworkAccess, network.delegatedSubnetResourceId",
    [PG],
    reference="MYS.PG.005",
    pillar=SECURITY,
)
def _pg_private(args, report):
    network = get(args.props, "network")
    if has(network, "delegatedSubnetResourceId"):
        return
    if eq(get(network, "publicNetworkAccess"), "Disabled"):
        return
    report("the server has no delegated subnet and public network access is not Disabled.")


@resource_policy(
    "postgres-geo-backup-ha-prod",
    "Production PostgreSQL servers must use geo-redundant backup and high availability.",
    HIGH,
    "Set backup.geo_redundant_backup='Enabled' and high_availability.mode='ZoneRedundant' in prod.",
    "backup.geoRedundantBackup, highAvailability.mode",
    [PG],
    reference="MYS.PG.006",
    pillar=RELIABILITY,
)
def _pg_prod(args, report):
    if environment(args.props) not in PROD_ENVS:
        return
    if not eq(get(args.props, "backup", "geoRedundantBackup"), "Enabled"):
        report(
            "backup.geoRedundantBackup is not Enabled in production: a regional outage loses the backups too."
        )
    mode = get(args.props, "highAvailability", "mode")
    if not (isinstance(mode, str) and mode.lower() in ("zoneredundant", "samezone")):
        report(f"highAvailability.mode is {mode!r} in production: no standby to fail over to.")


@resource_policy(
    "postgres-maintenance-window",
    "PostgreSQL servers must set a custom maintenance window.",
    LOW,
    "Set maintenance_window={'custom_window': 'Enabled', 'day_of_week': 0, 'start_hour': 2, ...}.",
    "maintenanceWindow.customWindow",
    [PG],
    reference="MYS.PG.007",
    pillar=RELIABILITY,
)
def _pg_maintenance(args, report):
    if not eq(get(args.props, "maintenanceWindow", "customWindow"), "Enabled"):
        report("maintenanceWindow.customWindow is not Enabled: Azure patches and restarts whenever it likes.")
