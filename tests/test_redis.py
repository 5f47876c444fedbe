"""Azure Managed Redis: SKU and HA per environment, TLS and Entra only, private endpoint only.

Azure rule relied on: Azure Cache for Redis (`Microsoft.Cache/redis`) can no longer be created, so
the platform uses Managed Redis (`redisenterprise`), whose data access is an access policy
assignment (DESIGN.md section 4, defect 2: "Redis Cache Contributor" reads no key).
"""

from __future__ import annotations

import pytest

from components.redis import assignment_name
from mystira_infra.services import SERVICES
from tests.conftest import stack_run
from tests.helpers import depends_on, inputs, of_type

CLUSTER = "azure-native:redisenterprise:RedisEnterprise"
DATABASE = "azure-native:redisenterprise:Database"
ASSIGNMENT = "azure-native:redisenterprise:AccessPolicyAssignment"

EXPECTED = {
    "dev": ("Balanced_B0", "Disabled"),
    "staging": ("Balanced_B1", "Disabled"),
    "prod": ("Balanced_B3", "Enabled"),
}


def test_no_retired_azure_cache_for_redis(env_stack):
    result = stack_run(env_stack, "update")
    assert not [r for r in result.records if r.type.startswith("azure-native:redis:")]
    assert len(of_type(result, CLUSTER)) == 1


def test_sku_and_high_availability_per_environment(env_stack, mode):
    (cluster,) = of_type(stack_run(env_stack, mode), CLUSTER)
    i = inputs(cluster)
    assert (i["sku"]["name"], i["highAvailability"]) == EXPECTED[env_stack]
    assert i["minimumTlsVersion"] == "1.2"
    assert i["publicNetworkAccess"] == "Disabled"
    assert cluster.custom_timeouts["create"] == "60m"


def test_database_is_tls_and_entra_only(env_stack, mode):
    (db,) = of_type(stack_run(env_stack, mode), DATABASE)
    i = inputs(db)
    assert i["clientProtocol"] == "Encrypted"
    assert i["accessKeysAuthentication"] == "Disabled"
    assert i["port"] == 10000
    assert i["clusteringPolicy"] == "EnterpriseCluster"
    assert i["evictionPolicy"] == "AllKeysLRU"
    assert i["databaseName"] == "default"


def test_private_endpoint_in_the_redis_zone(env_stack):
    result = stack_run(env_stack, "update")
    (cluster,) = of_type(result, CLUSTER)
    pes = [
        pe
        for pe in of_type(result, "azure-native:network:PrivateEndpoint")
        if inputs(pe)["privateLinkServiceConnections"][0]["privateLinkServiceId"] == cluster.id
    ]
    assert len(pes) == 1
    conn = inputs(pes[0])["privateLinkServiceConnections"][0]
    assert conn["groupIds"] == ["redisEnterprise"]
    assert inputs(pes[0])["subnet"]["id"].endswith("-private-endpoints-snet-san")
    (group,) = [
        g for g in of_type(result, "azure-native:network:PrivateDnsZoneGroup") if g.parent == pes[0].urn
    ]
    zone = inputs(group)["privateDnsZoneConfigs"][0]["privateDnsZoneId"]
    assert zone.endswith("/privateDnsZones/privatelink.redis.azure.net")


def test_access_policy_assignments_for_redis_users_only_and_serial(env_stack):
    result = stack_run(env_stack, "update")
    principals = {
        r.name[: -len("-id")]: r.outputs["principalId"]
        for r in of_type(result, "azure-native:managedidentity:UserAssignedIdentity")
    }
    assignments = of_type(result, ASSIGNMENT)
    want = {s.key for s in SERVICES if s.uses_redis}
    assert want == {"story", "admin"}
    got = {inputs(a)["user"]["objectId"]: inputs(a) for a in assignments}
    assert set(got) == {principals[k] for k in want}
    for a in got.values():
        assert a["accessPolicyName"] == "default"
        assert a["databaseName"] == "default"
    (db,) = of_type(result, DATABASE)
    chain = [db] + assignments
    for before, after in zip(chain, chain[1:], strict=False):
        assert depends_on(after, before)


def test_hostname_output(env_stack):
    assert stack_run(env_stack, "update").outputs["redisHostname"].endswith(".redis.azure.net")


@pytest.mark.parametrize("key,name", [("story", "story"), ("story-generator", "storygenerator")])
def test_assignment_names_are_alphanumeric(key, name):
    assert assignment_name(key) == name


def test_assignment_name_rejects_empty():
    with pytest.raises(ValueError):
        assignment_name("--")
