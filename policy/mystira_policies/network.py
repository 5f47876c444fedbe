"""Network security groups, their rules, and subnets.

References: MYS.NET.<NNN>.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .framework import (
    CRITICAL,
    HIGH,
    NSG,
    NSG_RULE,
    SECURITY,
    PolicyConfigSchema,
    config,
    eq,
    get,
    has,
    items,
    resource_policy,
)

DEFAULT_INGRESS_PORTS = [80, 443]
INTERNET_SOURCES = frozenset({"*", "internet", "0.0.0.0/0", "0.0.0.0", "any", "::/0"})

# Subnets Azure forbids (or manages) an NSG on.
NSG_EXEMPT_SUBNETS = frozenset(
    {"GatewaySubnet", "AzureFirewallSubnet", "AzureFirewallManagementSubnet", "RouteServerSubnet"}
)


def _ports(rule: Any) -> list[tuple[int, int]] | None:
    """The rule's destination port ranges; None means any port."""
    raw = [get(rule, "destinationPortRange")] + items(get(rule, "destinationPortRanges"))
    out = []
    for r in raw:
        if r is None:
            continue
        text = str(r).strip()
        if text == "*":
            return None
        lo, _, hi = text.partition("-")
        try:
            out.append((int(float(lo)), int(float(hi or lo))))
        except ValueError:
            return None
    return out or None


def _internet_inbound_problem(rule: Any, allowed_ports: Sequence[int]) -> str | None:
    if not (eq(get(rule, "access"), "Allow") and eq(get(rule, "direction"), "Inbound")):
        return None
    sources = [get(rule, "sourceAddressPrefix")] + items(get(rule, "sourceAddressPrefixes"))
    open_sources = [s for s in sources if isinstance(s, str) and s.strip().lower() in INTERNET_SOURCES]
    if not open_sources:
        return None
    name = get(rule, "name") or "?"
    ports = _ports(rule)
    description = get(rule, "description")
    documented = isinstance(description, str) and description.lower().startswith("ingress:")
    within = ports is not None and all(lo in allowed_ports and hi == lo for lo, hi in ports)
    if documented and within:
        return None
    shown = (
        "any port" if ports is None else ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in ports)
    )
    why = (
        "the ports are not documented ingress ports"
        if documented
        else "it is not documented ingress (description must start with 'ingress:')"
    )
    return f"rule {name!r} allows inbound from {open_sources[0]!r} on {shown}: {why}."


_INGRESS_SCHEMA = PolicyConfigSchema(
    properties={"ingressPorts": {"type": "array", "items": {"type": "number"}}}
)


@resource_policy(
    "network-no-internet-inbound",
    "NSG rules must not allow inbound traffic from */Internet/0.0.0.0/0 "
    "except documented ingress (description starting 'ingress:', on the configured ingressPorts, "
    "default 80 and 443).",
    CRITICAL,
    "Narrow the source, or document the ingress rule: description 'ingress: <why>' and port 80/443 only.",
    "securityRules[].access/direction/sourceAddressPrefix(es)/destinationPortRange(s)/description",
    [NSG, NSG_RULE],
    _INGRESS_SCHEMA,
    reference="MYS.NET.001",
    pillar=SECURITY,
)
def _nsg_inbound(args, report):
    allowed = [int(p) for p in config(args, "ingressPorts", DEFAULT_INGRESS_PORTS)]
    rules = items(get(args.props, "securityRules")) if args.resource_type == NSG else [args.props]
    for rule in rules:
        problem = _internet_inbound_problem(rule, allowed)
        if problem:
            report(problem)


@resource_policy(
    "network-subnet-nsg",
    "Every subnet must have a network security group.",
    HIGH,
    "Set network_security_group={'id': nsg.id} on the subnet.",
    "Subnet.networkSecurityGroup.id, VirtualNetwork.subnets[].networkSecurityGroup.id",
    ["azure-native:network:Subnet", "azure-native:network:VirtualNetwork"],
    reference="MYS.NET.002",
    pillar=SECURITY,
)
def _subnet_nsg(args, report):
    if args.resource_type == "azure-native:network:Subnet":
        subnets = [(get(args.props, "subnetName") or get(args.props, "name") or args.name, args.props)]
    else:
        subnets = [(get(s, "name"), s) for s in items(get(args.props, "subnets"))]
    for name, subnet in subnets:
        if name in NSG_EXEMPT_SUBNETS:
            continue
        if not has(subnet, "networkSecurityGroup"):
            report(f"subnet {name!r} has no networkSecurityGroup: nothing filters its traffic.")
