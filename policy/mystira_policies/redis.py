"""Azure Managed Redis (redisenterprise), and the retired Azure Cache for Redis it replaces.

References: MYS.REDIS.<NNN>.
"""

from __future__ import annotations

from .framework import (
    AMR,
    AMR_DB,
    CRITICAL,
    HIGH,
    OPERATIONAL_EXCELLENCE,
    SECURITY,
    eq,
    get,
    resource_policy,
)


@resource_policy(
    "redis-managed-only",
    "Only Azure Managed Redis (redisenterprise) may be created: Azure Cache for Redis is retired.",
    CRITICAL,
    "Replace redis.Redis with redisenterprise.RedisEnterprise + Database.",
    "resource type",
    ["azure-native:redis:Redis", "azure-native:cache:Redis"],
    reference="MYS.REDIS.001",
    pillar=OPERATIONAL_EXCELLENCE,
)
def _redis_managed(args, report):
    report(
        f"{args.resource_type} is Azure Cache for Redis, which is being retired: new caches can't be created."
    )


@resource_policy(
    "redis-tls12",
    "Azure Managed Redis must require TLS 1.2 and encrypted client connections.",
    HIGH,
    "Set minimum_tls_version='1.2' on the cluster and client_protocol='Encrypted' on the database.",
    "RedisEnterprise.minimumTlsVersion, Database.clientProtocol",
    [AMR, AMR_DB],
    reference="MYS.REDIS.002",
    pillar=SECURITY,
)
def _redis_tls(args, report):
    if args.resource_type == AMR:
        value = get(args.props, "minimumTlsVersion")
        if value not in ("1.2", "1.3"):
            report(f"minimumTlsVersion is {value!r}: set '1.2'.")
    elif eq(get(args.props, "clientProtocol"), "Plaintext"):
        report("clientProtocol is Plaintext: cache traffic is unencrypted.")


@resource_policy(
    "redis-access-keys-disabled",
    "Azure Managed Redis databases must disable access keys (Entra only).",
    HIGH,
    "Set access_keys_authentication='Disabled' and use access policy assignments.",
    "Database.accessKeysAuthentication",
    [AMR_DB],
    reference="MYS.REDIS.003",
    pillar=SECURITY,
)
def _redis_keys(args, report):
    if not eq(get(args.props, "accessKeysAuthentication"), "Disabled"):
        report(
            f"accessKeysAuthentication is {get(args.props, 'accessKeysAuthentication')!r}: a shared key "
            "bypasses Entra identities."
        )


@resource_policy(
    "redis-public-access-disabled",
    "Azure Managed Redis must disable public network access.",
    HIGH,
    "Set public_network_access='Disabled' and add a private endpoint.",
    "RedisEnterprise.publicNetworkAccess",
    [AMR],
    reference="MYS.REDIS.004",
    pillar=SECURITY,
)
def _redis_public(args, report):
    if not eq(get(args.props, "publicNetworkAccess"), "Disabled"):
        report(
            f"publicNetworkAccess is {get(args.props, 'publicNetworkAccess')!r}: the cache is reachable from "
            "the internet."
        )
