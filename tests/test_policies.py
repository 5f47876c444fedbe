"""Every policy in the pack, on hand-built inputs shaped as the analyzer passes them: wire names
(camelCase), numbers as floats, secrets unwrapped, and unknown values during preview.

Each resource policy has at least one compliant and one violating input; stack policies get a
small hand-built stack (Records turned into linked PolicyResources by the dry run's converter).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi_policy import ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy
from pulumi_policy.proxy import UnknownValueError

from mystira_infra.dryrun.mocks import UNKNOWN, Record
from mystira_infra.dryrun.policy import resource_args, stack_resources

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "policy"))
import mystira_policies as mp  # noqa: E402

BY_ID = {p.name: p for p in mp.POLICIES}
TAGS = {
    "Environment": "dev",
    "Project": "Mystira",
    "ManagedBy": "pulumi",
    "CostCenter": "cc",
    "Component": "x",
}
PROD_TAGS = {**TAGS, "Environment": "prod", "Critical": "true"}


@contextlib.contextmanager
def stack_named(stack: str):
    """As the analyzer does from PULUMI_STACK: pulumi.get_stack() answers inside policies."""
    pulumi.runtime.configure(pulumi.runtime.Settings(project="proj", stack=stack, dry_run=True))
    try:
        yield
    finally:
        pulumi.runtime.reset_options()


def check(
    policy_id: str,
    type_: str,
    props: dict[str, Any],
    *,
    protect: bool = False,
    config: dict[str, Any] | None = None,
    stack: str = "dev",
) -> list[str]:
    policy = BY_ID[policy_id]
    assert isinstance(policy, ResourceValidationPolicy)
    args = resource_args(type_, props, name="r", config=config)
    args.opts.protect = protect
    found: list[str] = []
    with stack_named(stack):
        policy.validate(args, lambda message, urn=None: found.append(message))
    return found


# ------------------------------------------------------------------------------------ fixtures

AKS_OK = {
    "resourceName": "mys-prod-core-aks-san",
    "tags": PROD_TAGS,
    "enableRBAC": True,
    "disableLocalAccounts": True,
    "aadProfile": {"managed": True, "enableAzureRBAC": True, "tenantId": "t"},
    "networkProfile": {"networkPlugin": "azure", "networkPolicy": "cilium"},
    "oidcIssuerProfile": {"enabled": True},
    "securityProfile": {"workloadIdentity": {"enabled": True}},
    "addonProfiles": {"azurepolicy": {"enabled": True}, "omsagent": {"enabled": True, "config": {}}},
    "autoUpgradeProfile": {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"},
    "kubernetesVersion": "1.36",
    "sku": {"name": "Base", "tier": "Standard"},
    "agentPoolProfiles": [
        {
            "name": "system",
            "mode": "System",
            "count": 3.0,
            "availabilityZones": ["1", "2", "3"],
            "enableNodePublicIP": False,
        }
    ],
}
VAULT_OK = {
    "vaultName": "mysprdstorykvsan1a2b",
    "tags": PROD_TAGS,
    "properties": {
        "enableRbacAuthorization": True,
        "enableSoftDelete": True,
        "enablePurgeProtection": True,
        "publicNetworkAccess": "Disabled",
        "networkAcls": {"defaultAction": "Deny"},
    },
}
PG_OK = {
    "serverName": "mys-prod-core-psql-san-1a2b",
    "tags": PROD_TAGS,
    "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"},
    "network": {"delegatedSubnetResourceId": "/subs/x/subnets/pg", "publicNetworkAccess": "Disabled"},
    "backup": {"geoRedundantBackup": "Enabled", "backupRetentionDays": 35.0},
    "highAvailability": {"mode": "ZoneRedundant"},
    "maintenanceWindow": {"customWindow": "Enabled", "dayOfWeek": 0.0, "startHour": 2.0},
}
SB_OK = {
    "namespaceName": "mys-prod-core-sbns-san-1a2b",
    "tags": PROD_TAGS,
    "disableLocalAuth": True,
    "minimumTlsVersion": "1.2",
    "publicNetworkAccess": "Disabled",
}
ACR_OK = {
    "registryName": "mysshrplatformcrsan1a2b",
    "adminUserEnabled": False,
    "anonymousPullEnabled": False,
    "publicNetworkAccess": "Disabled",
}
ST_OK = {
    "accountName": "mysshrstatestsan1a2b",
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "allowBlobPublicAccess": False,
    "allowSharedKeyAccess": False,
}
OAI_OK = {
    "accountName": "mys-prod-core-oai-san-1a2b",
    "kind": "OpenAI",
    "tags": PROD_TAGS,
    "properties": {
        "disableLocalAuth": True,
        "publicNetworkAccess": "Disabled",
        "customSubDomainName": "mys-prod-core-oai-san-1a2b",
    },
}
CONTAINER_OK = {
    "name": "api",
    "image": "mysshrplatformcrsan1a2b.azurecr.io/story:1.0.0",
    "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False},
    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080.0}},
    "livenessProbe": {"httpGet": {"path": "/health", "port": 8080.0}},
}
DEPLOYMENT_OK = {
    "metadata": {"name": "story", "namespace": "mys-prod"},
    "spec": {
        "replicas": 2.0,
        "selector": {"matchLabels": {"app": "story"}},
        "template": {
            "metadata": {"labels": {"app": "story"}},
            "spec": {"securityContext": {"runAsNonRoot": True}, "containers": [CONTAINER_OK]},
        },
    },
}


def with_(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `base` with the dotted `path` set to `value` (None deletes the key)."""
    import copy

    out = copy.deepcopy(base)
    node = out
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node.setdefault(k, {})
    last = keys[-1]
    if value is None:
        node.pop(last, None)
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return out


def container(path: str, value: Any) -> dict[str, Any]:
    return with_(DEPLOYMENT_OK, f"spec.template.spec.containers.0.{path}", value)


AKS, POOL = mp.AKS, mp.AKS_POOL
NSG = mp.NSG
DEP = "kubernetes:apps/v1:Deployment"
RULE = {
    "name": "allow-https",
    "access": "Allow",
    "direction": "Inbound",
    "protocol": "Tcp",
    "priority": 100.0,
    "sourceAddressPrefix": "Internet",
    "destinationPortRange": "443",
    "destinationAddressPrefix": "*",
    "description": "ingress: public HTTPS to the ingress controller",
}

# (policy id, type, compliant props, violating props, keyword args)
CASES: list[tuple[str, str, dict, dict, dict]] = [
    ("aks-rbac-enabled", AKS, AKS_OK, with_(AKS_OK, "enableRBAC", False), {}),
    ("aks-entra-azure-rbac", AKS, AKS_OK, with_(AKS_OK, "aadProfile.enableAzureRBAC", None), {}),
    ("aks-local-accounts-disabled", AKS, AKS_OK, with_(AKS_OK, "disableLocalAccounts", False), {}),
    ("aks-network-policy", AKS, AKS_OK, with_(AKS_OK, "networkProfile.networkPolicy", None), {}),
    (
        "aks-workload-identity",
        AKS,
        AKS_OK,
        with_(AKS_OK, "securityProfile.workloadIdentity.enabled", False),
        {},
    ),
    ("aks-no-node-public-ip", AKS, AKS_OK, with_(AKS_OK, "agentPoolProfiles.0.enableNodePublicIP", True), {}),
    (
        "aks-no-node-public-ip",
        POOL,
        {"mode": "User", "enableNodePublicIP": False},
        {"mode": "User", "enableNodePublicIP": True},
        {},
    ),
    ("aks-azure-policy-addon", AKS, AKS_OK, with_(AKS_OK, "addonProfiles.azurepolicy.enabled", False), {}),
    ("aks-monitoring-addon", AKS, AKS_OK, with_(AKS_OK, "addonProfiles.omsagent", None), {}),
    (
        "aks-upgrade-channels",
        AKS,
        AKS_OK,
        with_(AKS_OK, "autoUpgradeProfile.nodeOSUpgradeChannel", "None"),
        {},
    ),
    ("aks-supported-version", AKS, AKS_OK, with_(AKS_OK, "kubernetesVersion", "1.28"), {}),
    ("aks-supported-version", POOL, {"orchestratorVersion": "1.36.1"}, {"orchestratorVersion": "1.30"}, {}),
    ("aks-standard-tier-prod", AKS, AKS_OK, with_(AKS_OK, "sku.tier", "Free"), {}),
    (
        "aks-system-pool-zones-prod",
        AKS,
        AKS_OK,
        with_(AKS_OK, "agentPoolProfiles.0.availabilityZones", ["1"]),
        {},
    ),
    (
        "keyvault-rbac-authorization",
        mp.VAULT,
        VAULT_OK,
        with_(VAULT_OK, "properties.enableRbacAuthorization", False),
        {},
    ),
    ("keyvault-soft-delete", mp.VAULT, VAULT_OK, with_(VAULT_OK, "properties.enableSoftDelete", False), {}),
    (
        "keyvault-purge-protection",
        mp.VAULT,
        VAULT_OK,
        with_(VAULT_OK, "properties.enablePurgeProtection", None),
        {},
    ),
    (
        "keyvault-network-restricted",
        mp.VAULT,
        VAULT_OK,
        with_(
            with_(VAULT_OK, "properties.publicNetworkAccess", "Enabled"),
            "properties.networkAcls.defaultAction",
            "Allow",
        ),
        {},
    ),
    (
        "keyvault-secret-content-type",
        "azure-native:keyvault:Secret",
        {"properties": {"value": "s3cret", "contentType": "text/plain"}},
        {"properties": {"value": "s3cret"}},
        {},
    ),
    ("postgres-entra-auth", mp.PG, PG_OK, with_(PG_OK, "authConfig.passwordAuth", "Enabled"), {}),
    (
        "postgres-secure-transport",
        mp.PG_CONFIG,
        {"configurationName": "require_secure_transport", "value": "on"},
        {"configurationName": "require_secure_transport", "value": "off"},
        {},
    ),
    (
        "postgres-tls12",
        mp.PG_CONFIG,
        {"configurationName": "ssl_min_protocol_version", "value": "TLSv1.2"},
        {"configurationName": "ssl_min_protocol_version", "value": "TLSv1.1"},
        {},
    ),
    (
        "postgres-no-public-firewall",
        mp.PG_FIREWALL,
        {"startIpAddress": "203.0.113.10", "endIpAddress": "203.0.113.20"},
        {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"},
        {},
    ),
    (
        "postgres-no-public-firewall",
        mp.PG_FIREWALL,
        {"startIpAddress": "10.0.0.1", "endIpAddress": "10.0.0.1"},
        {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"},
        {},
    ),
    (
        "postgres-private-access",
        mp.PG,
        PG_OK,
        with_(PG_OK, "network", {"publicNetworkAccess": "Enabled"}),
        {},
    ),
    ("postgres-geo-backup-ha-prod", mp.PG, PG_OK, with_(PG_OK, "highAvailability.mode", "Disabled"), {}),
    ("postgres-maintenance-window", mp.PG, PG_OK, with_(PG_OK, "maintenanceWindow", None), {}),
    ("redis-managed-only", mp.AMR, {"publicNetworkAccess": "Disabled", "minimumTlsVersion": "1.2"}, {}, {}),
    ("redis-tls12", mp.AMR, {"minimumTlsVersion": "1.2"}, {"minimumTlsVersion": "1.0"}, {}),
    ("redis-tls12", mp.AMR_DB, {"clientProtocol": "Encrypted"}, {"clientProtocol": "Plaintext"}, {}),
    (
        "redis-access-keys-disabled",
        mp.AMR_DB,
        {"accessKeysAuthentication": "Disabled"},
        {"accessKeysAuthentication": "Enabled"},
        {},
    ),
    (
        "redis-public-access-disabled",
        mp.AMR,
        {"publicNetworkAccess": "Disabled"},
        {"publicNetworkAccess": "Enabled"},
        {},
    ),
    ("servicebus-local-auth-disabled", mp.SB, SB_OK, with_(SB_OK, "disableLocalAuth", False), {}),
    ("servicebus-tls12", mp.SB, SB_OK, with_(SB_OK, "minimumTlsVersion", "1.0"), {}),
    ("servicebus-public-access-prod", mp.SB, SB_OK, with_(SB_OK, "publicNetworkAccess", "Enabled"), {}),
    ("registry-admin-user-disabled", mp.ACR, ACR_OK, with_(ACR_OK, "adminUserEnabled", True), {}),
    ("registry-anonymous-pull-disabled", mp.ACR, ACR_OK, with_(ACR_OK, "anonymousPullEnabled", True), {}),
    ("registry-public-access-limited", mp.ACR, ACR_OK, with_(ACR_OK, "publicNetworkAccess", "Enabled"), {}),
    ("storage-https-only", mp.STORAGE, ST_OK, with_(ST_OK, "enableHttpsTrafficOnly", False), {}),
    ("storage-tls12", mp.STORAGE, ST_OK, with_(ST_OK, "minimumTlsVersion", "TLS1_0"), {}),
    ("storage-no-public-blob", mp.STORAGE, ST_OK, with_(ST_OK, "allowBlobPublicAccess", None), {}),
    ("storage-shared-key-disabled", mp.STORAGE, ST_OK, with_(ST_OK, "allowSharedKeyAccess", True), {}),
    ("openai-local-auth-disabled", mp.COG, OAI_OK, with_(OAI_OK, "properties.disableLocalAuth", False), {}),
    (
        "openai-public-access-disabled",
        mp.COG,
        OAI_OK,
        with_(OAI_OK, "properties.publicNetworkAccess", "Enabled"),
        {},
    ),
    ("openai-custom-subdomain", mp.COG, OAI_OK, with_(OAI_OK, "properties.customSubDomainName", None), {}),
    (
        "network-no-internet-inbound",
        NSG,
        {"securityRules": [RULE]},
        {"securityRules": [with_(RULE, "destinationPortRange", "22")]},
        {},
    ),
    (
        "network-no-internet-inbound",
        NSG,
        {"securityRules": [with_(RULE, "sourceAddressPrefix", "10.0.0.0/8")]},
        {"securityRules": [with_(RULE, "description", "https")]},
        {},
    ),
    (
        "network-no-internet-inbound",
        mp.NSG_RULE,
        with_(RULE, "access", "Deny"),
        with_(
            with_(
                with_(RULE, "sourceAddressPrefix", None), "sourceAddressPrefixes", ["10.0.0.0/8", "0.0.0.0/0"]
            ),
            "description",
            None,
        ),
        {},
    ),
    (
        "network-subnet-nsg",
        "azure-native:network:Subnet",
        {"subnetName": "aks", "networkSecurityGroup": {"id": "x"}},
        {"subnetName": "aks"},
        {},
    ),
    (
        "network-subnet-nsg",
        "azure-native:network:VirtualNetwork",
        {"subnets": [{"name": "a", "networkSecurityGroup": {"id": "x"}}, {"name": "GatewaySubnet"}]},
        {"subnets": [{"name": "a"}]},
        {},
    ),
    (
        "identity-role-assignment-principal-type",
        mp.ROLE_ASSIGNMENT,
        {"principalType": "ServicePrincipal"},
        {"principalId": "p", "principalType": "User"},
        {},
    ),
    (
        "identity-role-assignment-principal-type",
        mp.ROLE_ASSIGNMENT,
        {"principalType": "Group"},
        {"principalId": "p"},
        {},
    ),
    (
        "identity-federated-subject-no-wildcards",
        mp.FIC_TYPES[0],
        {"subject": "system:serviceaccount:mys-dev:story"},
        {"subject": "system:serviceaccount:mys-dev:*"},
        {},
    ),
    (
        "identity-federated-subject-no-wildcards",
        mp.FIC_TYPES[1],
        {"subject": "repo:org/infra:environment:prod"},
        {"subject": "repo:org/infra:*"},
        {},
    ),
    (
        "k8s-run-as-non-root",
        DEP,
        DEPLOYMENT_OK,
        with_(DEPLOYMENT_OK, "spec.template.spec.securityContext.runAsNonRoot", None),
        {},
    ),
    (
        "k8s-read-only-root-fs",
        DEP,
        DEPLOYMENT_OK,
        container("securityContext.readOnlyRootFilesystem", False),
        {},
    ),
    (
        "k8s-no-privilege-escalation",
        DEP,
        DEPLOYMENT_OK,
        container("securityContext.allowPrivilegeEscalation", None),
        {},
    ),
    ("k8s-resources-set", DEP, DEPLOYMENT_OK, container("resources.limits", None), {}),
    ("k8s-probes-set", DEP, DEPLOYMENT_OK, container("livenessProbe", None), {}),
    ("k8s-min-replicas", DEP, DEPLOYMENT_OK, with_(DEPLOYMENT_OK, "spec.replicas", 1.0), {}),
    ("k8s-no-latest-tag", DEP, DEPLOYMENT_OK, container("image", "nginx:latest"), {}),
    ("k8s-no-latest-tag", DEP, container("image", "nginx@sha256:abc"), container("image", "nginx"), {}),
    (
        "k8s-loadbalancer-reason",
        "kubernetes:core/v1:Service",
        {
            "spec": {"type": "LoadBalancer"},
            "metadata": {"annotations": {mp.LOADBALANCER_REASON_ANNOTATION: "ingress"}},
        },
        {"spec": {"type": "LoadBalancer"}, "metadata": {"name": "svc"}},
        {},
    ),
    ("platform-required-tags", mp.VAULT, VAULT_OK, with_(VAULT_OK, "tags.CostCenter", None), {}),
    (
        "platform-required-tags",
        "azure-native:network:PrivateEndpoint",
        {"tags": TAGS},
        {"tags": {"Environment": "dev"}},
        {},
    ),
    (
        "platform-naming-convention",
        "azure-native:resources:ResourceGroup",
        {"resourceGroupName": "mys-dev-core-rg-san"},
        {"resourceGroupName": "my-resource-group"},
        {},
    ),
    ("platform-naming-convention", mp.VAULT, VAULT_OK, with_(VAULT_OK, "vaultName", "storykv"), {}),
    ("platform-naming-convention", mp.PG, PG_OK, with_(PG_OK, "serverName", None), {}),
    ("platform-protect-stateful-prod", mp.VAULT, VAULT_OK, VAULT_OK, {}),  # protect differs, see below
    (
        "platform-no-plaintext-secrets",
        mp.PG,
        PG_OK,
        with_(PG_OK, "administratorLoginPassword", "hunter2"),
        {},
    ),
    (
        "platform-no-plaintext-secrets",
        "azure-native:web:WebApp",
        {"siteConfig": {"appSettings": []}},
        {"siteConfig": {"credentials": {"clientSecret": "x"}}},
        {},
    ),
]


@pytest.mark.parametrize(
    "policy_id,type_,good,bad,kw", CASES, ids=[f"{c[0]}:{c[1].split(':')[-1]}" for c in CASES]
)
def test_policy_passes_compliant_and_flags_violating_input(policy_id, type_, good, bad, kw):
    protect_good = policy_id == "platform-protect-stateful-prod"
    if policy_id == "redis-managed-only":
        assert check(policy_id, "azure-native:redisenterprise:RedisEnterprise", good) == []
        found = check(policy_id, "azure-native:redis:Redis", {"sku": {"name": "Premium"}})
    else:
        assert check(policy_id, type_, good, protect=protect_good, **kw) == []
        found = check(policy_id, type_, bad, **kw)
    assert found, f"{policy_id} did not flag the violating input"


def test_every_policy_is_tested_and_documented():
    tested = {c[0] for c in CASES} | set(STACK_TESTED)
    assert set(mp.POLICY_IDS) == tested, set(mp.POLICY_IDS) ^ tested
    for spec in mp.SPECS:
        assert spec.description and spec.remediation and spec.reads and spec.severity
    doc = (ROOT / "docs" / "policy.md").read_text()
    missing = [pid for pid in mp.POLICY_IDS if f"`{pid}`" not in doc]
    assert not missing, f"docs/policy.md lacks {missing}"


def test_environment_comes_from_tag_else_stack_name():
    vault = with_(VAULT_OK, "properties.enablePurgeProtection", False)
    assert (
        check("keyvault-purge-protection", mp.VAULT, with_(vault, "tags.Environment", "dev"), stack="prod")
        == []
    )
    assert check("keyvault-purge-protection", mp.VAULT, with_(vault, "tags", None), stack="staging")
    assert check("keyvault-purge-protection", mp.VAULT, with_(vault, "tags", None), stack="dev") == []


def test_numbers_arrive_as_floats_and_still_compare():
    assert check("k8s-min-replicas", DEP, with_(DEPLOYMENT_OK, "spec.replicas", 3.0)) == []
    assert (
        check(
            "network-no-internet-inbound",
            NSG,
            {"securityRules": [with_(RULE, "destinationPortRange", "443.0")]},
        )
        == []
    )


def test_policy_config_overrides_defaults():
    aks = with_(AKS_OK, "kubernetesVersion", "1.35")
    assert check("aks-supported-version", AKS, aks) == []
    assert check("aks-supported-version", AKS, aks, config={"minimumVersion": "1.36"})
    rule = with_(RULE, "destinationPortRange", "8443")
    assert check("network-no-internet-inbound", NSG, {"securityRules": [rule]})
    assert (
        check("network-no-internet-inbound", NSG, {"securityRules": [rule]}, config={"ingressPorts": [8443]})
        == []
    )


def test_an_exemption_needs_the_resource_name_and_a_reason():
    open_vault = with_(VAULT_OK, "properties.publicNetworkAccess", "Enabled")
    open_vault = with_(open_vault, "properties.networkAcls.defaultAction", "Allow")
    reason = "CI runners decrypt stack secrets with this vault's key"
    assert check("keyvault-network-restricted", mp.VAULT, open_vault,
                 config={"exemptions": [{"name": "r", "reason": reason}]}) == []
    # Another resource's exemption, or one without a reason, exempts nothing.
    assert check("keyvault-network-restricted", mp.VAULT, open_vault,
                 config={"exemptions": [{"name": "other", "reason": reason}]})
    assert check("keyvault-network-restricted", mp.VAULT, open_vault,
                 config={"exemptions": [{"name": "r", "reason": ""}]})
    schema = BY_ID["keyvault-network-restricted"].config_schema
    assert schema.properties["exemptions"]["items"]["required"] == ["name", "reason"]


def test_touching_an_unknown_value_raises_as_in_a_real_preview():
    with pytest.raises(UnknownValueError):
        check("aks-rbac-enabled", AKS, with_(AKS_OK, "enableRBAC", UNKNOWN))
    # ...but a policy that doesn't need the unknown value still runs.
    assert check("aks-rbac-enabled", AKS, with_(AKS_OK, "aadProfile.tenantId", UNKNOWN)) == []
    # A credential input is "set" even when its value is unknown (it isn't read).
    assert check("platform-no-plaintext-secrets", mp.PG, with_(PG_OK, "administratorLoginPassword", UNKNOWN))


def test_protect_option_is_read_in_production_only():
    assert check("platform-protect-stateful-prod", mp.VAULT, VAULT_OK, protect=False)
    assert check("platform-protect-stateful-prod", mp.VAULT, VAULT_OK, protect=True) == []
    assert (
        check("platform-protect-stateful-prod", mp.VAULT, with_(VAULT_OK, "tags", TAGS), protect=False) == []
    )


def test_secrets_are_unwrapped_for_policies():
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "text/plain"}
    assert (
        check(
            "keyvault-secret-content-type",
            "azure-native:keyvault:Secret",
            {"properties": {"contentType": secret}},
        )
        == []
    )


# --------------------------------------------------------------------------------- stack policies


def rec(
    type_: str,
    name: str,
    inputs: dict[str, Any] | None = None,
    *,
    parent: str = "",
    deps: dict[str, list[str]] | None = None,
) -> Record:
    urn = lambda n: f"urn:pulumi:dev::p::t::{n}"  # noqa: E731
    pdeps = {k: [urn(v) for v in vs] for k, vs in (deps or {}).items()}
    return Record(
        urn=urn(name),
        type=type_,
        name=name,
        custom=True,
        parent=urn(parent) if parent else "",
        inputs=inputs or {},
        dependencies=sorted({u for vs in pdeps.values() for u in vs}),
        property_dependencies=pdeps,
    )


def check_stack(policy_id: str, records: list[Record], config: dict[str, Any] | None = None) -> list[str]:
    policy = BY_ID[policy_id]
    assert isinstance(policy, StackValidationPolicy)
    found: list[str] = []
    with stack_named("dev"):
        policy.validate(
            StackValidationArgs(stack_resources(records), config), lambda m, urn=None: found.append(m)
        )
    return found


FIC = mp.FIC_TYPES[0]
SA = "kubernetes:core/v1:ServiceAccount"


def test_workload_identity_subjects_must_match_a_service_account():
    sa = rec(SA, "story-sa", {"metadata": {"name": "story", "namespace": "mys-dev"}})
    fic = rec(FIC, "story-fic", {"subject": "system:serviceaccount:mys-dev:story", "issuer": UNKNOWN})
    assert check_stack("stack-workload-identity-subjects", [sa, fic]) == []
    wrong = rec(FIC, "story-fic", {"subject": "system:serviceaccount:mystira:story"})  # the seed's defect 1
    assert check_stack("stack-workload-identity-subjects", [sa, wrong])
    github = rec(FIC, "ci-fic", {"subject": "repo:org/infra:environment:prod"})
    assert check_stack("stack-workload-identity-subjects", [github]) == []


def test_resources_that_support_diagnostics_need_a_diagnostic_setting():
    kv = rec(mp.VAULT, "kv", VAULT_OK)
    diag = rec(
        "azure-native:monitor:DiagnosticSetting",
        "kv-diag",
        {"resourceUri": UNKNOWN},
        deps={"resourceUri": ["kv"]},
    )
    assert check_stack("stack-diagnostic-settings", [kv, diag]) == []
    assert check_stack("stack-diagnostic-settings", [kv])
    # Azure Managed Redis: the setting lives on the database, a sub-resource of the cluster.
    cluster = rec(mp.AMR, "redis", {})
    db = rec(mp.AMR_DB, "redis-db", {}, deps={"clusterName": ["redis"]})
    db_diag = rec("azure-native:monitor:DiagnosticSetting", "db-diag", {}, deps={"resourceUri": ["redis-db"]})
    assert check_stack("stack-diagnostic-settings", [cluster, db, db_diag]) == []
    assert check_stack("stack-diagnostic-settings", [cluster, db])


def _dns_stack(linked: bool) -> list[Record]:
    vnet = rec("azure-native:network:VirtualNetwork", "vnet", {"virtualNetworkName": "v"})
    other = rec("azure-native:network:VirtualNetwork", "other-vnet", {"virtualNetworkName": "o"})
    subnet = rec("azure-native:network:Subnet", "pe-snet", {}, deps={"virtualNetworkName": ["vnet"]})
    zone = rec(
        "azure-native:privatedns:PrivateZone",
        "kv-dns",
        {"privateZoneName": "privatelink.vaultcore.azure.net"},
    )
    link = rec(
        "azure-native:privatedns:VirtualNetworkLink",
        "kv-dns-link",
        {},
        parent="kv-dns",
        deps={"privateZoneName": ["kv-dns"], "virtualNetwork": ["vnet" if linked else "other-vnet"]},
    )
    pe = rec(
        "azure-native:network:PrivateEndpoint",
        "kv-pe",
        {"subnet": {"id": UNKNOWN}},
        deps={"subnet": ["pe-snet"]},
    )
    group = rec(
        "azure-native:network:PrivateDnsZoneGroup",
        "kv-pe-dns",
        {"privateDnsZoneConfigs": [{"privateDnsZoneId": UNKNOWN}]},
        parent="kv-pe",
        deps={"privateDnsZoneConfigs": ["kv-dns"], "privateEndpointName": ["kv-pe"]},
    )
    return [vnet, other, subnet, zone, link, pe, group]


def test_private_endpoint_zones_must_be_linked_to_the_endpoints_vnet():
    assert check_stack("stack-private-dns-zone-linked", _dns_stack(linked=True)) == []
    assert check_stack("stack-private-dns-zone-linked", _dns_stack(linked=False))
    no_link = [r for r in _dns_stack(linked=True) if r.name != "kv-dns-link"]
    assert check_stack("stack-private-dns-zone-linked", no_link)


def test_deployments_need_a_pod_disruption_budget():
    dep = rec(DEP, "story", DEPLOYMENT_OK)
    pdb = rec(
        "kubernetes:policy/v1:PodDisruptionBudget",
        "story-pdb",
        {
            "metadata": {"namespace": "mys-prod"},
            "spec": {"minAvailable": 1.0, "selector": {"matchLabels": {"app": "story"}}},
        },
    )
    assert check_stack("k8s-deployment-pdb", [dep, pdb]) == []
    assert check_stack("k8s-deployment-pdb", [dep])
    other_ns = rec(pdb.type, "pdb", with_(pdb.inputs, "metadata.namespace", "default"))
    assert check_stack("k8s-deployment-pdb", [dep, other_ns])


def test_state_account_needs_versioning_and_soft_delete():
    account = rec(mp.STORAGE, "state-st", {**ST_OK, "tags": {"Component": "pulumi-state"}})
    good = {
        "isVersioningEnabled": True,
        "deleteRetentionPolicy": {"enabled": True, "days": 30.0},
        "containerDeleteRetentionPolicy": {"enabled": True, "days": 30.0},
    }
    blob = rec(
        "azure-native:storage:BlobServiceProperties", "state-blob", good, deps={"accountName": ["state-st"]}
    )
    assert check_stack("storage-state-versioning-soft-delete", [account, blob]) == []
    off = rec(
        blob.type, "state-blob", with_(good, "isVersioningEnabled", False), deps={"accountName": ["state-st"]}
    )
    assert check_stack("storage-state-versioning-soft-delete", [account, off])
    assert check_stack("storage-state-versioning-soft-delete", [account])


OWNER = (
    "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
)


def test_workload_identities_get_no_privileged_roles_but_ci_deployers_may():
    uai = rec("azure-native:managedidentity:UserAssignedIdentity", "story-id", {})
    aks_fic = rec(
        FIC,
        "story-fic",
        {"issuer": UNKNOWN, "subject": "system:serviceaccount:mys-dev:story"},
        deps={"resourceName": ["story-id"]},
    )
    ra = rec(
        mp.ROLE_ASSIGNMENT,
        "story-owner",
        {"roleDefinitionId": OWNER, "principalType": "ServicePrincipal", "principalId": UNKNOWN},
        deps={"principalId": ["story-id"]},
    )
    assert check_stack("identity-no-privileged-workload-roles", [uai, aks_fic, ra])
    ci = rec("azure-native:managedidentity:UserAssignedIdentity", "ci-id", {})
    gh_fic = rec(
        FIC,
        "ci-fic",
        {"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:o/r:ref:x"},
        deps={"resourceName": ["ci-id"]},
    )
    ci_ra = rec(
        mp.ROLE_ASSIGNMENT,
        "ci-contrib",
        {"roleDefinitionId": OWNER, "principalType": "ServicePrincipal"},
        deps={"principalId": ["ci-id"]},
    )
    assert check_stack("identity-no-privileged-workload-roles", [ci, gh_fic, ci_ra]) == []
    reader = with_(
        ra.inputs,
        "roleDefinitionId",
        OWNER.replace("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
    )
    ra_reader = rec(mp.ROLE_ASSIGNMENT, "story-reader", reader, deps={"principalId": ["story-id"]})
    assert check_stack("identity-no-privileged-workload-roles", [uai, aks_fic, ra_reader]) == []
    listed = rec(
        mp.ROLE_ASSIGNMENT,
        "x",
        {"roleDefinitionId": OWNER, "principalType": "ServicePrincipal", "principalId": "abc"},
    )
    assert check_stack("identity-no-privileged-workload-roles", [listed])
    assert (
        check_stack("identity-no-privileged-workload-roles", [listed], {"deployerPrincipalIds": ["ABC"]})
        == []
    )


STACK_TESTED = [
    "stack-workload-identity-subjects",
    "stack-diagnostic-settings",
    "stack-private-dns-zone-linked",
    "k8s-deployment-pdb",
    "storage-state-versioning-soft-delete",
    "identity-no-privileged-workload-roles",
]
