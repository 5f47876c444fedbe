"""The shared PostgreSQL Flexible Server: private access, Entra-only authentication, serial children.

Access model (DESIGN.md section 4, defect 2): no control-plane role (Reader, Contributor) gives
anyone rows in a database. Data access on PostgreSQL is a database role:

- Entra administrators (`AdministratorsMicrosoftEntra`) are the only principals Azure Resource
  Manager can create on the server, and every one of them is a member of `azure_pg_admin`. The
  ARM API has no resource for a non-admin Entra principal or a per-database role.
- So each service identity's role is created in SQL, by an Entra administrator, with
  `pgaadauth_create_principal_with_oid` (a role matched to the managed identity's object id) and
  grants on its own database only. `grant_script()` writes that SQL; the component outputs one
  script per service (`grant_scripts`) and the stack exports them (`postgresGrantScripts`), so the
  deploy pipeline runs them with `psql` as the Entra admin after `pulumi up`. They are idempotent.

Children (configurations, databases, administrators) are written one after another: the server
answers ServerIsBusy (409) to parallel child writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import dbforpostgresql

from components import interfaces

WEEKDAY_NUMBERS = {  # Azure's dayOfWeek: 0 is Sunday
    "Sunday": 0,
    "Monday": 1,
    "Tuesday": 2,
    "Wednesday": 3,
    "Thursday": 4,
    "Friday": 5,
    "Saturday": 6,
}

# Server parameters the platform sets explicitly (CIS 5.2.1 to 5.2.4).
SERVER_PARAMETERS: tuple[tuple[str, str], ...] = (
    ("require_secure_transport", "on"),  # no plaintext connections
    ("ssl_min_protocol_version", "TLSv1.2"),  # no TLS 1.0/1.1
    ("connection_throttle.enable", "on"),  # slows password-guessing and connection storms
    ("log_checkpoints", "on"),  # checkpoint activity in the server logs
)


@dataclass(frozen=True)
class EntraAdmin:
    object_id: pulumi.Input[str]
    principal_name: pulumi.Input[str]  # the PostgreSQL role name this principal logs in as
    principal_type: str  # dbforpostgresql.PrincipalType value: servicePrincipal, group, user


@dataclass(frozen=True)
class DatabasePrincipal:
    """A service identity that gets a login role limited to one database (via `grant_script`)."""

    key: str  # service key, for the output map
    role_name: pulumi.Input[str]  # the user name in the service's connection settings
    object_id: pulumi.Input[str]  # the managed identity's principal (object) id
    database: str


@dataclass(frozen=True)
class PostgresServerArgs:
    name: str  # physical name from the naming module
    resource_group_name: pulumi.Input[str]
    location: str
    tenant_id: pulumi.Input[str]
    version: str
    sku_name: str
    sku_tier: str
    storage_size_gb: int
    backup_retention_days: int
    geo_redundant_backup: bool
    high_availability: bool
    maintenance_day: str
    maintenance_start_hour: int
    delegated_subnet_id: pulumi.Input[str]
    private_dns_zone_id: pulumi.Input[str]
    databases: Sequence[str]
    admins: Sequence[EntraAdmin]
    tags: Mapping[str, str]
    principals: Sequence[DatabasePrincipal] = ()
    # Resources the server must wait for beyond its inputs (the DNS zone's VNet link: private
    # access needs the zone linked before the server is created).
    network_ready: Sequence[pulumi.Resource] = field(default_factory=tuple)
    workspace_id: pulumi.Input[str] | None = None  # diagnostics when monitoring exists
    lock: bool = False


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def grant_script(role_name: str, object_id: str, database: str) -> str:
    """SQL (psql) an Entra administrator runs to give one managed identity one database.

    Idempotent: the role is created only if missing; grants are repeatable. The role is matched to
    the identity by object id, so renaming the identity in Entra never breaks the login.
    """
    role, lit_role, lit_oid = _quote_ident(role_name), _quote_literal(role_name), _quote_literal(object_id)
    db = _quote_ident(database)
    return "\n".join(
        [
            f"-- mystira-infra: database access for {role_name} on {database} (Entra, no password)",
            "\\connect postgres",
            f"SELECT pgaadauth_create_principal_with_oid({lit_role}, {lit_oid}, 'service', false, false)",
            f"  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {lit_role});",
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC;",
            f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role};",
            f"\\connect {database}",
            f"GRANT USAGE, CREATE ON SCHEMA public TO {role};",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};",
            "",
        ]
    )


def _script_output(principal: DatabasePrincipal) -> pulumi.Output[str]:
    def render(values: list[str]) -> str:
        return grant_script(values[0], values[1], principal.database)

    return pulumi.Output.all(principal.role_name, principal.object_id).apply(render)


class PostgresServer(pulumi.ComponentResource):
    id: pulumi.Output[str]
    name: pulumi.Output[str]
    fqdn: pulumi.Output[str]
    grant_scripts: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: PostgresServerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mystira:data:PostgresServer", name, None, opts)
        rg = args.resource_group_name

        server = dbforpostgresql.Server(
            f"{name}-server",
            server_name=args.name,
            resource_group_name=rg,
            location=args.location,
            version=args.version,
            sku={"name": args.sku_name, "tier": args.sku_tier},
            storage={
                "storage_size_gb": args.storage_size_gb,
                "auto_grow": "Enabled",  # a full disk makes the server read-only
            },
            # Entra only: no administrator login or password exists anywhere (PSRule PostgreSQL.AADOnly).
            auth_config={
                "active_directory_auth": "Enabled",
                "password_auth": "Disabled",
                "tenant_id": args.tenant_id,
            },
            # Private access: the server lives in its delegated subnet and resolves through the
            # linked private zone; no public endpoint exists.
            network={
                "delegated_subnet_resource_id": args.delegated_subnet_id,
                "private_dns_zone_arm_resource_id": args.private_dns_zone_id,
                "public_network_access": "Disabled",
            },
            backup={
                "backup_retention_days": args.backup_retention_days,
                "geo_redundant_backup": "Enabled" if args.geo_redundant_backup else "Disabled",
            },
            high_availability={"mode": "ZoneRedundant" if args.high_availability else "Disabled"},
            # Patching at a time we choose, not Azure's (PSRule PostgreSQL.MaintenanceWindow).
            maintenance_window={
                "custom_window": "Enabled",
                "day_of_week": WEEKDAY_NUMBERS[args.maintenance_day],
                "start_hour": args.maintenance_start_hour,
                "start_minute": 0,
            },
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(args.network_ready),
                # A failover moves the primary and standby zones; that is not drift to undo.
                ignore_changes=["availabilityZone", "highAvailability.standbyAvailabilityZone"],
                custom_timeouts=pulumi.CustomTimeouts(create="60m", update="60m", delete="30m"),
            ),
        )

        # Every child waits for the one before it: parallel writes get ServerIsBusy.
        previous: pulumi.Resource = server

        def serial() -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=[previous])

        for param, value in SERVER_PARAMETERS:
            previous = dbforpostgresql.Configuration(
                f"{name}-cfg-{param.replace('.', '-').replace('_', '-')}",
                configuration_name=param,
                resource_group_name=rg,
                server_name=server.name,
                value=value,
                source="user-override",
                opts=serial(),
            )
        for db in args.databases:
            previous = dbforpostgresql.Database(
                f"{name}-db-{db}",
                database_name=db,
                resource_group_name=rg,
                server_name=server.name,
                charset="UTF8",
                collation="en_US.utf8",
                opts=serial(),
            )
        for i, admin in enumerate(args.admins):
            previous = dbforpostgresql.AdministratorsMicrosoftEntra(
                f"{name}-admin-{i}",
                object_id=admin.object_id,
                principal_name=admin.principal_name,
                principal_type=admin.principal_type,
                tenant_id=args.tenant_id,
                resource_group_name=rg,
                server_name=server.name,
                opts=serial(),
            )

        if args.workspace_id is not None:
            interfaces.diagnostics(name, resource_id=server.id, workspace_id=args.workspace_id, parent=self)
        if args.lock:
            interfaces.lock(
                name,
                scope=server.id,
                parent=self,
                reason="Shared PostgreSQL holds every service's data: remove the lock on purpose.",
            )

        self.server = server
        self.id = server.id
        self.name = server.name
        self.fqdn = server.fully_qualified_domain_name
        self.grant_scripts = {p.key: _script_output(p) for p in args.principals}
        self.register_outputs(
            {"id": self.id, "name": self.name, "fqdn": self.fqdn, "grant_scripts": self.grant_scripts}
        )
