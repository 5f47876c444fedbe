"""Stage 'data': PostgreSQL, Redis, Service Bus (tier 1, core RG), each service's Key Vault
(tier 2), the services' data-plane access, and their passwordless connection settings.

Who gets what is read from the service catalogue (`services.SERVICES`), never spelled here:
`database` -> a PostgreSQL role on that database (grant script), `uses_redis` -> a Redis access
policy assignment, `uses_service_bus` -> Data Sender + Data Receiver, every service -> its own
vault's "Key Vault Secrets User". The secrets go into `p.secrets` for the vaults stage to write.
"""

from __future__ import annotations

import pulumi

from components.interfaces import PrivateEndpointTarget
from components.key_vault import ServiceVault, ServiceVaultArgs
from components.postgres import DatabasePrincipal, EntraAdmin, PostgresServer, PostgresServerArgs
from components.redis import ManagedRedis, RedisArgs
from components.service_bus import QueueSpec, ServiceBus, ServiceBusArgs
from mystira_infra.services import DATABASES, SERVICES
from mystira_infra.settings import SettingsError
from stacks.platform import Platform

# The platform's queues (DESIGN.md section 4): publisher events are retried 3 times within a day,
# notifications and app events 5 times within a week; expired messages go to the dead-letter queue.
QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec("publisher-events", max_delivery_count=3, default_message_ttl="P1D"),
    QueueSpec("admin-notifications", max_delivery_count=5, default_message_ttl="P7D"),
    QueueSpec("app-events", max_delivery_count=5, default_message_ttl="P7D"),
)

# The PostgreSQL role name the deploying principal (CI's service principal) logs in as. Entra
# roles are matched by object id, so this name is only what `psql -U` is given.
DEPLOYER_PG_ROLE = "mystira-infra-deployer"


def build(p: Platform) -> None:
    s = p.settings
    assert s.postgres is not None and s.redis is not None
    env = s.environment
    identities = p.components["identities"]
    # Required, not optional: observability runs first, and a stage-order bug should fail here
    # rather than build every data service without its diagnostic setting.
    workspace = p.components["monitoring"].workspace_id
    pe_subnet = p.network.subnet_ids["private_endpoints"]

    # --- PostgreSQL -----------------------------------------------------------------------
    pg_settings = s.postgres
    protected = env in ("staging", "prod")
    postgres = PostgresServer(
        "postgres",
        PostgresServerArgs(
            name=p.namer("postgres", "core"),
            resource_group_name=p.core_rg.name,
            location=p.location,
            tenant_id=p.tenant_id,
            version=pg_settings.version,
            sku_name=pg_settings.sku_name,
            sku_tier=pg_settings.sku_tier,
            storage_size_gb=pg_settings.storage_size_gb,
            backup_retention_days=pg_settings.backup_retention_days,
            geo_redundant_backup=pg_settings.geo_redundant_backup,
            high_availability=pg_settings.high_availability,
            maintenance_day=pg_settings.maintenance_window.day,
            maintenance_start_hour=pg_settings.maintenance_window.start_hour,
            delegated_subnet_id=p.network.subnet_ids["postgres"],
            private_dns_zone_id=p.network.dns_zone_ids["postgres"],
            # Azure requires the zone to be linked to the VNet before a private-access server.
            network_ready=(p.network.dns_zone_links["postgres"],),
            databases=DATABASES,
            admins=(
                EntraAdmin(p.deployer_object_id, DEPLOYER_PG_ROLE, "servicePrincipal"),
                EntraAdmin(pg_settings.admin_group_object_id, pg_settings.admin_group_name, "group"),
            ),
            principals=tuple(
                DatabasePrincipal(
                    svc.key, identities[svc.key].name, identities[svc.key].principal_id, svc.database
                )
                for svc in SERVICES
                if svc.database
            ),
            tags=p.component_tags("postgres"),
            workspace_id=workspace,
            lock=protected,
        ),
        # protect is inherited by every child: deleting the server or a database needs an unprotect.
        opts=pulumi.ResourceOptions(parent=p.core_rg, protect=protected),
    )
    p.components["postgres"] = postgres

    # --- Redis ----------------------------------------------------------------------------
    redis = ManagedRedis(
        "redis",
        RedisArgs(
            name=p.namer("redis", "core"),
            resource_group_name=p.core_rg.name,
            location=p.location,
            sku=s.redis.sku,
            high_availability=s.redis.high_availability,
            private_endpoint=PrivateEndpointTarget(pe_subnet, p.network.dns_zone_ids["redis"]),
            users={svc.key: identities[svc.key].principal_id for svc in SERVICES if svc.uses_redis},
            tags=p.component_tags("redis"),
            workspace_id=workspace,
        ),
        opts=pulumi.ResourceOptions(parent=p.core_rg),
    )
    p.components["redis"] = redis

    # --- Service Bus ----------------------------------------------------------------------
    sb_settings = s.service_bus
    service_bus = ServiceBus(
        "servicebus",
        ServiceBusArgs(
            name=p.namer("service_bus", "core"),
            resource_group_name=p.core_rg.name,
            location=p.location,
            sku=sb_settings.sku,
            capacity=sb_settings.capacity,
            queues=QUEUES,
            subscription_id=p.subscription_id,
            private_endpoint=PrivateEndpointTarget(pe_subnet, p.network.dns_zone_ids["servicebus"]),
            users={svc.key: identities[svc.key].principal_id for svc in SERVICES if svc.uses_service_bus},
            tags=p.component_tags("servicebus"),
            workspace_id=workspace,
            lock=s.is_prod,
        ),
        opts=pulumi.ResourceOptions(parent=p.core_rg),
    )
    p.components["service_bus"] = service_bus

    # --- Key Vault per service (tier 2) -----------------------------------------------------
    vaults = {
        svc.key: ServiceVault(
            f"{svc.key}-vault",
            ServiceVaultArgs(
                name=p.namer("key_vault", svc.key),
                resource_group_name=p.service_rgs[svc.key].name,
                location=p.location,
                tenant_id=p.tenant_id,
                subscription_id=p.subscription_id,
                soft_delete_retention_days=s.key_vault.soft_delete_retention_days,
                purge_protection=s.key_vault.purge_protection,
                private_endpoint=PrivateEndpointTarget(pe_subnet, p.network.dns_zone_ids["keyvault"]),
                reader_principal_id=identities[svc.key].principal_id,
                tags=p.service_tags(svc),
                workspace_id=workspace,
                lock=s.is_prod,
            ),
            opts=pulumi.ResourceOptions(parent=p.service_rgs[svc.key], protect=s.is_prod),
        )
        for svc in SERVICES
    }
    p.components["key_vaults"] = vaults

    # --- Passwordless connection settings (the app gets an Entra token for each) -------------
    for svc in SERVICES:
        if svc.database:
            p.add_secret(svc.key, "postgres-host", postgres.fqdn)
            p.add_secret(svc.key, "postgres-database", svc.database)
            p.add_secret(svc.key, "postgres-user", identities[svc.key].name)
        if svc.uses_redis:
            p.add_secret(svc.key, "redis-host", redis.hostname)
            p.add_secret(svc.key, "redis-port", str(redis.port))
        if svc.uses_service_bus:
            p.add_secret(svc.key, "servicebus-namespace", service_bus.fqdn)
        if svc.uses_chain_rpc:
            if not s.chain_rpc_endpoint:
                raise SettingsError(
                    s.file, "chainRpcEndpoint", f"required: service '{svc.key}' uses the chain RPC endpoint"
                )
            p.add_secret(svc.key, "chain-rpc-endpoint", s.chain_rpc_endpoint)

    pulumi.export("postgresFqdn", postgres.fqdn)
    # SQL that gives each service identity its database (run by an Entra admin; see docs).
    pulumi.export("postgresGrantScripts", postgres.grant_scripts)
    pulumi.export("redisHostname", redis.hostname)
    pulumi.export("serviceBusNamespace", service_bus.namespace_name)
    pulumi.export("keyVaultUris", {k: v.uri for k, v in vaults.items()})
