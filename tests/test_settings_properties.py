"""The settings' decisions as pure functions, tested directly: examples for the messages a user
reads, and property-based tests (hypothesis) over the large input spaces (CIDRs, counts, ports).
Runs are kept cheap (a few dozen examples, no deadline) so the suite stays fast."""

from __future__ import annotations

import ipaddress

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mystira_infra.settings import (
    address_plan_problem,
    cidr_problem,
    cluster_cidrs_problem,
    pool_count_problem,
    port_problem,
    positive_problem,
)

CHEAP = settings(max_examples=40, deadline=None)
PRIVATE_BLOCKS = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


@st.composite
def vnets(draw) -> ipaddress.IPv4Network:
    """A private VNet address space between /8 and /20 (room for four /24 subnets or more)."""
    block = draw(st.sampled_from(PRIVATE_BLOCKS))
    prefix = draw(st.integers(min_value=block.prefixlen, max_value=20))
    options = list(block.subnets(new_prefix=prefix)) if prefix - block.prefixlen <= 8 else None
    if options is None:  # too many to list: pick one by index
        count = 2 ** (prefix - block.prefixlen)
        i = draw(st.integers(min_value=0, max_value=count - 1))
        return ipaddress.IPv4Network((int(block.network_address) + i * 2 ** (32 - prefix), prefix))
    return draw(st.sampled_from(options))


@st.composite
def plans(draw) -> tuple[ipaddress.IPv4Network, dict[str, str]]:
    """A VNet and up to four distinct, non-overlapping subnets carved from it."""
    vnet = draw(vnets())
    prefix = draw(st.integers(min_value=vnet.prefixlen + 2, max_value=min(28, vnet.prefixlen + 8)))
    count = 2 ** (prefix - vnet.prefixlen)
    picks = draw(st.lists(st.integers(min_value=0, max_value=count - 1), min_size=1, max_size=4, unique=True))
    size = 2 ** (32 - prefix)
    base = int(vnet.network_address)
    subnets = {f"network.subnets.s{i}": str(ipaddress.IPv4Network((base + p * size, prefix)))
               for i, p in enumerate(picks)}
    return vnet, subnets


# ---- examples: the messages --------------------------------------------------------------------


def test_address_plan_examples():
    subnets = {"network.subnets.aks": "10.0.0.0/22", "network.subnets.postgres": "10.0.4.0/24"}
    assert address_plan_problem("10.0.0.0/16", subnets) is None
    assert address_plan_problem("8.8.0.0/16", subnets) == (
        "network.addressSpace", "8.8.0.0/16 is not a private (RFC 1918) range")
    assert address_plan_problem("10.0.0.0/16", {**subnets, "network.subnets.ingress": "10.0.4.128/25"}) == (
        "network.subnets.ingress", "10.0.4.128/25 overlaps network.subnets.postgres (10.0.4.0/24)")
    key, reason = address_plan_problem("10.0.0.0/16", {"network.subnets.aks": "10.0.0.1/22"})  # type: ignore[misc]
    assert key == "network.subnets.aks" and reason.startswith("not a valid CIDR block: ")


def test_cluster_cidrs_examples():
    vnet = ipaddress.IPv4Network("10.0.0.0/16")
    assert cluster_cidrs_problem(vnet, "172.16.0.0/16", "192.168.0.0/16", "172.16.0.10") is None
    assert cluster_cidrs_problem(vnet, "10.0.128.0/20", "192.168.0.0/16", "10.0.128.10") == (
        "aks.serviceCidr", "10.0.128.0/20 overlaps the VNet 10.0.0.0/16; it must lie outside it")
    assert cluster_cidrs_problem(vnet, "172.16.0.0/16", "172.16.0.0/12", "172.16.0.10") == (
        "aks.podCidr", "172.16.0.0/12 overlaps the VNet or the service CIDR")
    assert cluster_cidrs_problem(vnet, "172.16.0.0/16", "192.168.0.0/16", "172.17.0.10") == (
        "aks.dnsServiceIp", "172.17.0.10 is outside the service CIDR 172.16.0.0/16")


def test_count_and_port_examples():
    assert pool_count_problem(1, 3) is None
    assert pool_count_problem(0, 3) == ("minCount", "must be greater than zero, got 0")
    assert pool_count_problem(3, 2) == ("maxCount", "must be at least minCount (3), got 2")
    assert port_problem(8080) is None
    assert port_problem(0) == "a TCP port is 1 to 65535, got 0"
    assert positive_problem(-1.5) == "must be greater than zero, got -1.5"


# ---- properties ----------------------------------------------------------------------------------


@CHEAP
@given(plans())
def test_subnets_carved_apart_inside_the_vnet_pass(plan):
    vnet, subnets = plan
    assert len(subnets) >= 1
    assert address_plan_problem(str(vnet), subnets) is None


@CHEAP
@given(plans(), st.data())
def test_a_subnet_overlapping_an_earlier_one_is_named_with_the_one_it_overlaps(plan, data):
    vnet, subnets = plan
    first_key, first = next(iter(subnets.items()))
    net = ipaddress.IPv4Network(first)
    # Any block that shares addresses with the first subnet: itself, a half of it, or its parent.
    parent = [net.supernet()] if net.supernet().subnet_of(vnet) else []
    clash = data.draw(st.sampled_from([net, *net.subnets(prefixlen_diff=1), *parent]))
    found = address_plan_problem(str(vnet), {**subnets, "network.subnets.clash": str(clash)})
    assert found == ("network.subnets.clash", f"{clash} overlaps {first_key} ({net})")


@CHEAP
@given(vnets(), st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=16, max_value=28))
def test_a_subnet_outside_the_vnet_is_reported_as_outside(vnet, address, prefix):
    outside = ipaddress.IPv4Network((address, prefix), strict=False)
    assume(not outside.overlaps(vnet))  # blocks entirely outside the VNet
    found = address_plan_problem(str(vnet), {"network.subnets.aks": str(outside)})
    assert found == ("network.subnets.aks", f"{outside} is outside the VNet address space {vnet}")


@CHEAP
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=0, max_value=32))
def test_cidr_with_host_bits_set_is_rejected_and_its_network_accepted(address, prefix):
    net = ipaddress.IPv4Network((address, prefix), strict=False)
    assert cidr_problem(str(net)) is None
    given_text = f"{ipaddress.IPv4Address(address)}/{prefix}"
    assert (cidr_problem(given_text) is None) == (int(net.network_address) == address)


@CHEAP
@given(vnets(), st.integers(min_value=12, max_value=24))
def test_service_range_outside_the_vnet_with_its_dns_ip_passes(vnet, prefix):
    # 100.64.0.0/10 (shared address space) never overlaps an RFC 1918 VNet.
    service = next(ipaddress.IPv4Network("100.64.0.0/10").subnets(new_prefix=prefix))
    pod = "192.0.2.0/24" if not vnet.overlaps(ipaddress.IPv4Network("192.0.2.0/24")) else "198.51.100.0/24"
    assert cluster_cidrs_problem(vnet, str(service), pod, str(service.network_address + 10)) is None
    inside = next(vnet.subnets(new_prefix=max(vnet.prefixlen, 24)))
    found = cluster_cidrs_problem(vnet, str(inside), pod, str(inside.network_address + 10))
    assert found is not None and found[0] == "aks.serviceCidr"


@CHEAP
@given(st.integers(min_value=-5, max_value=1000), st.integers(min_value=-5, max_value=1000))
def test_pool_counts_pass_exactly_when_positive_and_ordered(low, high):
    assert (pool_count_problem(low, high) is None) == (low > 0 and high >= low)


@CHEAP
@given(st.integers(min_value=-(2**20), max_value=2**20))
def test_ports_pass_exactly_in_1_to_65535(port):
    problem = port_problem(port)
    assert (problem is None) == (1 <= port <= 65535)
    if problem:
        assert str(port) in problem
