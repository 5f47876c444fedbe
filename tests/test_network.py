"""Core network: address plan per environment, AKS /22, delegated PostgreSQL subnet, an NSG that
denies Internet inbound on every subnet, subnets in one form only and written one at a time
(DESIGN.md section 5), private DNS zones linked to the VNet, no implicit outbound access."""

from __future__ import annotations

import ipaddress

import pytest

from components.network import PRIVATE_DNS_ZONES
from tests.conftest import ALL_STACKS, ENV_STACKS, stack_run
from tests.helpers import depends_on, of_type

VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
PLAN = {"dev": "10.0.0.0/16", "staging": "10.1.0.0/16", "prod": "10.2.0.0/16"}


def _subnets(stack: str, mode: str = "update"):
    return {
        r.name.removeprefix("core-").removesuffix("-snet"): r for r in of_type(stack_run(stack, mode), SUBNET)
    }


def test_address_plan(env_stack):
    (vnet,) = of_type(stack_run(env_stack), VNET)
    assert vnet.inputs["addressSpace"]["addressPrefixes"] == [PLAN[env_stack]]
    space = ipaddress.ip_network(PLAN[env_stack])
    nets = {role: ipaddress.ip_network(r.inputs["addressPrefix"]) for role, r in _subnets(env_stack).items()}
    assert set(nets) == {"aks", "postgres", "private-endpoints", "ingress"}
    assert all(n.subnet_of(space) for n in nets.values())
    assert nets["aks"].prefixlen == 22  # AKS nodes on a /22
    values = list(nets.values())
    assert not any(a.overlaps(b) for i, a in enumerate(values) for b in values[i + 1 :])


def test_postgres_subnet_is_delegated_and_only_it(env_stack):
    subnets = _subnets(env_stack)
    assert subnets["postgres"].inputs["delegations"] == [
        {"name": "delegation", "serviceName": "Microsoft.DBforPostgreSQL/flexibleServers"}
    ]
    assert all(not r.inputs.get("delegations") for role, r in subnets.items() if role != "postgres")


def test_every_subnet_has_an_nsg_denying_internet_inbound(env_stack):
    result = stack_run(env_stack)
    nsgs = {r.urn: r for r in of_type(result, NSG)}
    for role, subnet in _subnets(env_stack).items():
        attached = [n for urn, n in nsgs.items() if depends_on(subnet, n)]
        assert len(attached) == 1, role
        nsg = attached[0]
        assert subnet.inputs["networkSecurityGroup"]["id"] == nsg.id  # wired to that NSG's id
        rules = nsg.inputs["securityRules"]
        assert any(
            r["direction"] == "Inbound"
            and r["access"] == "Deny"
            and r["sourceAddressPrefix"] == "Internet"
            and r["destinationPortRange"] == "*"
            and r["protocol"] == "*"
            for r in rules
        ), role


def test_subnets_in_one_form_and_written_one_at_a_time(env_stack):
    result = stack_run(env_stack)
    (vnet,) = of_type(result, VNET)
    assert "subnets" not in vnet.inputs  # no inline subnets next to the standalone ones
    assert of_type(result, "azure-native:network:SecurityRule") == []  # NSG rules inline only
    chain = of_type(result, SUBNET)  # registration order
    assert len(chain) == 4
    for previous, subnet in zip(chain, chain[1:], strict=False):
        assert depends_on(subnet, previous), f"{subnet.name} must wait for {previous.name}"


def test_no_default_outbound_access(env_stack):
    assert all(r.inputs["defaultOutboundAccess"] is False for r in _subnets(env_stack).values())


def test_every_private_dns_zone_is_linked_to_the_vnet(env_stack):
    result = stack_run(env_stack)
    (vnet,) = of_type(result, VNET)
    zones = {z.inputs["privateZoneName"]: z for z in of_type(result, ZONE)}
    assert set(PRIVATE_DNS_ZONES.values()) <= set(zones)
    assert f"mys-{env_stack}.private.postgres.database.azure.com" in zones
    links = {link.inputs["privateZoneName"]: link for link in of_type(result, LINK)}
    for name, zone in zones.items():
        link = links[name]
        assert link.inputs["virtualNetwork"]["id"] == vnet.id
        assert link.inputs["registrationEnabled"] is False
        assert depends_on(link, zone) and depends_on(link, vnet)


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_network_ids_unknown_at_preview_known_after_update(stack):
    if stack == "shared":
        assert of_type(stack_run(stack), VNET) == []
        return
    preview = _subnets(stack, "preview")["aks"].inputs["networkSecurityGroup"]["id"]
    update = _subnets(stack, "update")["aks"].inputs["networkSecurityGroup"]["id"]
    assert preview == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown sentinel
    assert update.startswith("/subscriptions/") and "/networkSecurityGroups/" in update


def test_env_stacks_do_not_share_address_space():
    spaces = [
        ipaddress.ip_network(of_type(stack_run(s), VNET)[0].inputs["addressSpace"]["addressPrefixes"][0])
        for s in ENV_STACKS
    ]
    assert not any(a.overlaps(b) for i, a in enumerate(spaces) for b in spaces[i + 1 :])
