"""Service Bus namespace and its queues; Entra-only, data-plane roles for the services that use it.

Network (DESIGN.md section 4, defect 5): the seed system turned public access off and gave no
private endpoint, so nothing could reach the namespace. Here public access is off only where a
private endpoint exists (Premium: Standard namespaces cannot have private endpoints); a Standard
namespace (dev, staging) keeps its public endpoint, which accepts Entra tokens over TLS 1.2 only
(local SAS auth is disabled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import servicebus

from components import interfaces


@dataclass(frozen=True)
class QueueSpec:
    name: str
    max_delivery_count: int
    default_message_ttl: str  # ISO 8601 duration


# The roles a service that uses Service Bus gets, scoped to the namespace: send and receive.
DATA_ROLES = ("Azure Service Bus Data Sender", "Azure Service Bus Data Receiver")


@dataclass(frozen=True)
class ServiceBusArgs:
    name: str  # physical namespace name from the naming module
    resource_group_name: pulumi.Input[str]
    location: str
    sku: str  # Standard or Premium
    capacity: int  # messaging units (Premium only)
    queues: Sequence[QueueSpec]
    subscription_id: pulumi.Input[str]
    tags: Mapping[str, str]
    # Where the private endpoint goes; required for Premium (public access is then off).
    private_endpoint: interfaces.PrivateEndpointTarget | None = None
    # service key -> principal (object) id of an identity that sends and receives
    users: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    workspace_id: pulumi.Input[str] | None = None
    lock: bool = False


class ServiceBus(pulumi.ComponentResource):
    id: pulumi.Output[str]
    namespace_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    fqdn: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceBusArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        premium = args.sku == "Premium"
        if premium and args.private_endpoint is None:
            raise ValueError(
                f"{name}: a Premium namespace needs a private endpoint target (public access is off)"
            )
        super().__init__("mystira:messaging:ServiceBus", name, None, opts)
        private = premium and args.private_endpoint is not None

        ns = servicebus.Namespace(
            f"{name}-ns",
            namespace_name=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=servicebus.SBSkuArgs(
                name=args.sku,  # type: ignore[arg-type]  # the enum's values are these strings
                tier=args.sku,  # type: ignore[arg-type]
                capacity=args.capacity if premium else None,  # messaging units exist on Premium only
            ),
            disable_local_auth=True,  # no SAS keys: Entra tokens and data-plane roles only
            minimum_tls_version="1.2",  # no TLS 1.0/1.1 clients
            # Off exactly where the private endpoint below gives a way in (defect 5).
            public_network_access="Disabled" if private else "Enabled",
            # Premium spreads messaging units over zones; Standard has no zone setting to give.
            zone_redundant=True if premium else None,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.queues: dict[str, servicebus.Queue] = {}
        for q in args.queues:
            self.queues[q.name] = servicebus.Queue(
                f"{name}-q-{q.name}",
                queue_name=q.name,
                namespace_name=ns.name,
                resource_group_name=args.resource_group_name,
                max_delivery_count=q.max_delivery_count,
                default_message_time_to_live=q.default_message_ttl,
                dead_lettering_on_message_expiration=True,  # expired messages are kept for inspection
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.private_endpoint = None
        if private:
            assert args.private_endpoint is not None
            self.private_endpoint = interfaces.private_endpoint(
                name,
                resource_id=ns.id,
                group_id="namespace",
                target=args.private_endpoint,
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=args.tags,
                parent=self,
            )

        self.role_assignments = [
            interfaces.role_assignment(
                f"{name}-{key}-{role.split()[-1].lower()}",
                scope=ns.id,
                role=role,
                principal_id=principal_id,
                principal_type="ServicePrincipal",  # a managed identity
                subscription_id=args.subscription_id,
                parent=self,
            )
            for key, principal_id in args.users.items()
            for role in DATA_ROLES
        ]

        if args.workspace_id is not None:
            interfaces.diagnostics(name, resource_id=ns.id, workspace_id=args.workspace_id, parent=self)
        if args.lock:
            interfaces.lock(name, scope=ns.id, parent=self, reason="Service Bus holds undelivered messages.")

        self.namespace = ns
        self.id = ns.id
        self.namespace_name = ns.name
        self.endpoint = ns.service_bus_endpoint
        # The FQDN clients connect to (the endpoint without scheme, port and slash).
        self.fqdn = ns.name.apply(lambda n: f"{n}.servicebus.windows.net")
        self.register_outputs(
            {
                "id": self.id,
                "namespace_name": self.namespace_name,
                "endpoint": self.endpoint,
                "fqdn": self.fqdn,
            }
        )
