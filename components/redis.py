"""Azure Managed Redis (`redisenterprise`): TLS only, Entra only, private endpoint only.

Azure Cache for Redis (Basic/Standard/Premium) is being retired and new caches can no longer be
created (DESIGN.md section 5), so this is the Managed Redis successor. Data access is an Entra
access policy assignment on the database's `default` policy per service identity (DESIGN.md
section 4, defect 2: "Redis Cache Contributor" is a control-plane role that reads no key).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import redisenterprise

from components import interfaces

REDIS_PORT = 10000  # Azure Managed Redis listens on 10000 (TLS)


@dataclass(frozen=True)
class RedisArgs:
    name: str  # physical cluster name from the naming module
    resource_group_name: pulumi.Input[str]
    location: str
    sku: str  # e.g. Balanced_B0
    high_availability: bool
    private_endpoint: interfaces.PrivateEndpointTarget
    tags: Mapping[str, str]
    # service key -> principal (object) id of the identity that may use the cache
    users: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    clustering_policy: str = "EnterpriseCluster"  # works with every client (no cluster-aware client needed)
    eviction_policy: str = "AllKeysLRU"  # a cache: evict the least recently used key when full
    workspace_id: pulumi.Input[str] | None = None
    lock: bool = False


def assignment_name(key: str) -> str:
    # Access policy assignment names: letters and digits only.
    name = re.sub(r"[^A-Za-z0-9]", "", key)
    if not 1 <= len(name) <= 60:
        raise ValueError(f"'{key}' gives no valid Redis access policy assignment name")
    return name


class ManagedRedis(pulumi.ComponentResource):
    id: pulumi.Output[str]
    hostname: pulumi.Output[str]
    port: int

    def __init__(self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:data:ManagedRedis", name, None, opts)
        rg = args.resource_group_name

        cluster = redisenterprise.RedisEnterprise(
            f"{name}-cluster",
            cluster_name=args.name,
            resource_group_name=rg,
            location=args.location,
            sku={"name": args.sku},
            high_availability="Enabled" if args.high_availability else "Disabled",
            minimum_tls_version="1.2",  # no TLS 1.0/1.1 clients
            public_network_access="Disabled",  # reachable only through the private endpoint below
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self, custom_timeouts=pulumi.CustomTimeouts(create="60m", update="60m", delete="30m")
            ),
        )
        database = redisenterprise.Database(
            f"{name}-db",
            database_name="default",  # Managed Redis has exactly one database, named default
            cluster_name=cluster.name,
            resource_group_name=rg,
            client_protocol="Encrypted",  # TLS only; no plaintext port
            port=REDIS_PORT,
            access_keys_authentication="Disabled",  # Entra tokens only: no shared key to leak
            clustering_policy=args.clustering_policy,
            eviction_policy=args.eviction_policy,
            opts=pulumi.ResourceOptions(
                parent=self, custom_timeouts=pulumi.CustomTimeouts(create="60m", update="60m", delete="30m")
            ),
        )

        # One assignment at a time: the database rejects concurrent access-policy writes.
        previous: pulumi.Resource = database
        self.assignments: dict[str, redisenterprise.AccessPolicyAssignment] = {}
        for key, principal_id in args.users.items():
            previous = redisenterprise.AccessPolicyAssignment(
                f"{name}-access-{key}",
                access_policy_assignment_name=assignment_name(key),
                access_policy_name="default",  # the only policy Azure supports: data read/write
                cluster_name=cluster.name,
                database_name=database.name,
                resource_group_name=rg,
                user={"object_id": principal_id},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
            )
            self.assignments[key] = previous

        self.private_endpoint = interfaces.private_endpoint(
            name,
            resource_id=cluster.id,
            group_id="redisEnterprise",
            target=args.private_endpoint,
            resource_group_name=rg,
            location=args.location,
            tags=args.tags,
            parent=self,
        )
        if args.workspace_id is not None:
            # Connection audit logs live on the database resource; platform metrics need no setting.
            interfaces.diagnostics(
                f"{name}-db",
                resource_id=database.id,
                workspace_id=args.workspace_id,
                parent=self,
                metrics=False,
            )
        if args.lock:
            interfaces.lock(
                name, scope=cluster.id, parent=self, reason="Shared Redis: remove the lock on purpose."
            )

        self.cluster = cluster
        self.database = database
        self.id = cluster.id
        self.hostname = cluster.host_name
        self.port = REDIS_PORT
        self.register_outputs({"id": self.id, "hostname": self.hostname, "port": self.port})
