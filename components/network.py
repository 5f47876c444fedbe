"""Core network: one VNet per environment, its subnets, an NSG on each, and private DNS zones.

Form rules (DESIGN.md section 5): subnets are standalone `Subnet` resources and the VNet carries
no inline `subnets` list; NSG rules are inline `security_rules` and no standalone `SecurityRule`
exists. Mixing the two forms makes every later preview show churn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, privatedns

from mystira_infra.naming import Namer

# Private DNS zones for every private-link service the platform uses, keyed by role.
# PostgreSQL private access (VNet injection) uses a zone of its own: see `postgres_zone`.
PRIVATE_DNS_ZONES: dict[str, str] = {
    "keyvault": "privatelink.vaultcore.azure.net",
    "redis": "privatelink.redis.azure.net",  # Azure Managed Redis (redisenterprise)
    "servicebus": "privatelink.servicebus.windows.net",
    "openai": "privatelink.openai.azure.com",
    "cognitiveservices": "privatelink.cognitiveservices.azure.com",
    "registry": "privatelink.azurecr.io",
}


def postgres_zone(env: str) -> str:
    # Private access needs a zone ending in .postgres.database.azure.com, linked before the server.
    return f"mys-{env}.private.postgres.database.azure.com"


@dataclass(frozen=True)
class SubnetSpec:
    role: str  # aks, postgres, private_endpoints, ingress
    cidr: str
    delegation: str | None = None  # service the subnet is delegated to
    private_endpoints: bool = False  # holds private endpoints: NSGs apply to them too


@dataclass(frozen=True)
class CoreNetworkArgs:
    namer: Namer
    resource_group_name: pulumi.Input[str]
    location: str
    address_space: str
    subnets: tuple[SubnetSpec, ...]
    tags: Mapping[str, str]


class CoreNetwork(pulumi.ComponentResource):
    vnet_id: pulumi.Output[str]
    subnet_ids: dict[str, pulumi.Output[str]]
    nsg_ids: dict[str, pulumi.Output[str]]
    dns_zone_ids: dict[str, pulumi.Output[str]]
    dns_zone_links: dict[str, privatedns.VirtualNetworkLink]  # for resources that need resolution first

    def __init__(self, name: str, args: CoreNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:network:CoreNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        rg, tags = args.resource_group_name, dict(args.tags)

        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=args.namer("vnet", "core"),
            resource_group_name=rg,
            location=args.location,
            address_space={"address_prefixes": [args.address_space]},
            tags=tags,
            opts=child,
        )

        self.subnet_ids, self.nsg_ids = {}, {}
        previous: pulumi.Resource | None = None
        for spec in args.subnets:
            role = spec.role.replace("_", "-")
            nsg = network.NetworkSecurityGroup(
                f"{name}-{role}-nsg",
                network_security_group_name=args.namer("nsg", role),
                resource_group_name=rg,
                location=args.location,
                security_rules=[
                    {
                        # Explicit deny of anything from the Internet (the platform defaults would
                        # also deny it, but an explicit rule can't be outranked by accident and is
                        # what the policy pack looks for). Ingress comes only through the internal
                        # load balancer, from inside the VNet.
                        "name": "deny-internet-inbound",
                        "priority": 4000,
                        "direction": "Inbound",
                        "access": "Deny",
                        "protocol": "*",
                        "source_address_prefix": "Internet",
                        "source_port_range": "*",
                        "destination_address_prefix": "*",
                        "destination_port_range": "*",
                    }
                ],
                tags=tags,
                opts=child,
            )
            subnet = network.Subnet(
                f"{name}-{role}-snet",
                subnet_name=args.namer("subnet", role),
                resource_group_name=rg,
                virtual_network_name=vnet.name,
                address_prefix=spec.cidr,
                network_security_group={"id": nsg.id},
                # No implicit outbound SNAT: egress only through what we declare (AKS load balancer).
                default_outbound_access=False,
                delegations=(
                    [{"name": "delegation", "service_name": spec.delegation}] if spec.delegation else None
                ),
                private_endpoint_network_policies="Enabled" if spec.private_endpoints else None,
                # Subnets of one VNet are written one at a time: parallel writes on the same VNet
                # fail with AnotherOperationInProgress.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous] if previous else None),
            )
            previous = subnet
            self.subnet_ids[spec.role] = subnet.id
            self.nsg_ids[spec.role] = nsg.id

        zones = {**PRIVATE_DNS_ZONES, "postgres": postgres_zone(args.namer.env)}
        self.dns_zone_ids, self.dns_zone_links = {}, {}
        for role, zone_name in zones.items():
            zone = privatedns.PrivateZone(
                f"{name}-{role}-dns",
                private_zone_name=zone_name,
                resource_group_name=rg,
                location="global",
                tags=tags,
                opts=child,
            )
            self.dns_zone_links[role] = privatedns.VirtualNetworkLink(
                f"{name}-{role}-dns-link",
                private_zone_name=zone.name,
                resource_group_name=rg,
                location="global",
                virtual_network={"id": vnet.id},
                registration_enabled=False,  # resolution only; records come from zone groups
                tags=tags,
                opts=pulumi.ResourceOptions(parent=zone),
            )
            self.dns_zone_ids[role] = zone.id

        self.vnet = vnet
        self.vnet_id = vnet.id
        self.register_outputs(
            {"vnet_id": self.vnet_id, "subnet_ids": self.subnet_ids, "dns_zone_ids": self.dns_zone_ids}
        )
