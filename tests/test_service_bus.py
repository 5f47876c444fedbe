"""Service Bus: SKU per environment, Entra only, queues, and a way in wherever public access is off.

Azure rule relied on: a Standard namespace cannot have a private endpoint; only Premium can. The
seed system turned public access off with no private endpoint (DESIGN.md section 4, defect 5).
"""

from __future__ import annotations

import pytest

from components.service_bus import QueueSpec, ServiceBus, ServiceBusArgs
from tests.conftest import stack_run
from tests.helpers import inputs, of_type

NAMESPACE = "azure-native:servicebus:Namespace"
QUEUE = "azure-native:servicebus:Queue"

SKU = {"dev": "Standard", "staging": "Standard", "prod": "Premium"}


def namespace(result):
    (ns,) = of_type(result, NAMESPACE)
    return ns


def endpoints_for(result, resource_id):
    return [
        pe
        for pe in of_type(result, "azure-native:network:PrivateEndpoint")
        if inputs(pe)["privateLinkServiceConnections"][0]["privateLinkServiceId"] == resource_id
    ]


def test_sku_local_auth_and_tls(env_stack, mode):
    i = inputs(namespace(stack_run(env_stack, mode)))
    assert i["sku"]["name"] == SKU[env_stack] and i["sku"]["tier"] == SKU[env_stack]
    assert i["disableLocalAuth"] is True
    assert i["minimumTlsVersion"] == "1.2"
    assert i["namespaceName"].startswith(f"mys-{env_stack}-core-sbns-san-")
    # Zone redundancy exists on Premium only; Standard namespaces send no such setting.
    assert i.get("zoneRedundant") is (True if SKU[env_stack] == "Premium" else None)
    assert ("capacity" in i["sku"]) is (SKU[env_stack] == "Premium")  # messaging units: Premium only


@pytest.mark.parametrize("env,public", [("dev", "Enabled"), ("staging", "Enabled"), ("prod", "Disabled")])
def test_public_access_off_only_with_a_private_endpoint(env, public):
    result = stack_run(env, "update")
    ns = namespace(result)
    assert inputs(ns)["publicNetworkAccess"] == public
    pes = endpoints_for(result, ns.id)
    if public == "Disabled":
        assert len(pes) == 1
        assert inputs(pes[0])["privateLinkServiceConnections"][0]["groupIds"] == ["namespace"]
        (group,) = [
            g for g in of_type(result, "azure-native:network:PrivateDnsZoneGroup") if g.parent == pes[0].urn
        ]
        assert inputs(group)["privateDnsZoneConfigs"][0]["privateDnsZoneId"].endswith(
            "/privateDnsZones/privatelink.servicebus.windows.net"
        )
    else:
        assert pes == []  # Standard: no private endpoint possible, so the public endpoint stays


def test_queues(env_stack, mode):
    got = {inputs(q)["queueName"]: inputs(q) for q in of_type(stack_run(env_stack, mode), QUEUE)}
    assert {k: (v["maxDeliveryCount"], v["defaultMessageTimeToLive"]) for k, v in got.items()} == {
        "publisher-events": (3, "P1D"),
        "admin-notifications": (5, "P7D"),
        "app-events": (5, "P7D"),
    }
    assert all(v["deadLetteringOnMessageExpiration"] is True for v in got.values())


def test_namespace_output(env_stack):
    result = stack_run(env_stack, "update")
    ns = namespace(result)
    assert result.outputs["serviceBusNamespace"] == inputs(ns)["namespaceName"]


def test_premium_without_private_endpoint_is_refused():
    args = ServiceBusArgs(
        name="x" * 6,
        resource_group_name="rg",
        location="southafricanorth",
        sku="Premium",
        capacity=1,
        queues=(QueueSpec("q", 1, "P1D"),),
        subscription_id="sub",
        tags={},
    )
    with pytest.raises(ValueError, match="private endpoint"):
        ServiceBus("sb", args)
