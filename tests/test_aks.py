"""The AKS cluster: secure settings, settings wiring, pools, upgrades, access and registry pull.

Azure rules named here (docs/azure-facts.md): inline agent pools can't be updated in place;
autoscaled counts drift; image pulls use the kubelet identity (seed defect 3); with local accounts
off the Kubernetes provider needs a non-interactive kubelogin; AKS rejects unsupported versions
(seed defect 6: 1.28 pinned in prod).
"""

from __future__ import annotations

import copy
from datetime import date

import pytest
import yaml

from components.aks import AKS_LOG_CATEGORIES
from components.interfaces import ROLES
from components.kubernetes_layer import login_mode, noninteractive_kubeconfig
from mystira_infra import lifecycle, naming
from mystira_infra.dryrun import azure
from mystira_infra.dryrun.mocks import Secret
from mystira_infra.settings import parse_settings
from tests.conftest import ROOT, build_stack, stack_run
from tests.helpers import children, inputs, is_unknown, of_type

CLUSTER = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
MAINT = "azure-native:containerservice:MaintenanceConfiguration"
RA = "azure-native:authorization:RoleAssignment"


def settings_of(result):
    prefix = f"{result.project.name}:"
    raw = {k[len(prefix):]: v for k, v in result.config.values.items() if k.startswith(prefix)}
    return parse_settings(result.stack, raw, {k[len(prefix):] for k in result.config.secret_keys})


def cluster(result):
    return result.one(CLUSTER)


def aks_yaml(stack: str) -> dict:
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return copy.deepcopy(doc["config"]["mystira-infra:aks"])


def role_assignments(result, role: str) -> list:
    guid = ROLES[role]
    return [r for r in of_type(result, RA) if str(inputs(r).get("roleDefinitionId", "")).endswith(guid)]


# ------------------------------------------------------------------ secure defaults

def test_cluster_is_secure_by_default(env_stack, mode):
    c = inputs(cluster(stack_run(env_stack, mode)))
    assert c["oidcIssuerProfile"] == {"enabled": True}
    assert c["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert c["aadProfile"]["managed"] is True and c["aadProfile"]["enableAzureRBAC"] is True
    assert c["disableLocalAccounts"] is True, "local accounts give a static admin kubeconfig"
    assert c["enableRBAC"] is True
    assert c["apiServerAccessProfile"]["disableRunCommand"] is True
    assert c["nodeResourceGroupProfile"] == {"restrictionLevel": "ReadOnly"}, "no hand-edited VMSS/NICs"
    assert c["securityProfile"]["imageCleaner"]["enabled"] is True
    net = c["networkProfile"]
    assert (net["networkPlugin"], net["networkPluginMode"]) == ("azure", "overlay")
    assert net["networkPolicy"] in ("azure", "cilium"), "without a policy engine NetworkPolicies do nothing"
    assert c["agentPoolProfiles"][0]["enableNodePublicIP"] is False
    assert c["agentPoolProfiles"][0]["securityProfile"] == {"sshAccess": "Disabled"}
    addons = c["addonProfiles"]
    assert addons["azureKeyvaultSecretsProvider"]["enabled"] is True
    assert addons["azureKeyvaultSecretsProvider"]["config"]["enableSecretRotation"] == "true"
    assert addons["azurepolicy"]["enabled"] is True


def test_nodes_on_the_aks_subnet_and_control_plane_may_join_it(env_stack):
    r = stack_run(env_stack, "update")
    subnet = r.one("azure-native:network:Subnet", "core-aks-snet")
    c = cluster(r)
    assert inputs(c)["agentPoolProfiles"][0]["vnetSubnetID"] == subnet.id
    pools = of_type(r, POOL)
    assert len(pools) == len(settings_of(r).aks.pools) > 0, "every environment has user pools to check"
    for pool in pools:
        assert inputs(pool)["vnetSubnetID"] == subnet.id
    # The control-plane identity holds Network Contributor on that subnet before the cluster exists.
    [grant] = [g for g in role_assignments(r, "Network Contributor") if inputs(g)["scope"] == subnet.id]
    control_plane = r.one("azure-native:managedidentity:UserAssignedIdentity", "aks-identity")
    assert inputs(grant)["principalId"] == control_plane.outputs["principalId"]
    assert inputs(grant)["principalType"] == "ServicePrincipal"
    assert grant.urn in c.dependencies
    assert inputs(c)["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [control_plane.id]}


# ------------------------------------------------------------------ settings wiring

def test_settings_reach_the_cluster(env_stack, mode):
    r = stack_run(env_stack, mode)
    s = settings_of(r).aks
    c = inputs(cluster(r))
    assert c["kubernetesVersion"] == s.kubernetes_version
    assert c["kubernetesVersion"] in lifecycle.supported("kubernetes", date.today())
    assert c["sku"] == {"name": "Base", "tier": s.tier}
    net = c["networkProfile"]
    assert (net["serviceCidr"], net["dnsServiceIP"], net["podCidr"]) == (
        s.service_cidr, s.dns_service_ip, s.pod_cidr
    )
    assert c["autoUpgradeProfile"] == {"upgradeChannel": s.upgrade_channel,
                                       "nodeOSUpgradeChannel": s.node_os_upgrade_channel}
    [system] = c["agentPoolProfiles"]
    sp = s.system_pool
    assert system["name"] == sp.name and system["mode"] == "System" and system["vmSize"] == sp.vm_size
    assert system["enableAutoScaling"] is True
    assert (system["minCount"], system["maxCount"], system["count"]) == (
        sp.min_count, sp.max_count, sp.min_count
    )
    assert system.get("nodeTaints", []) == list(sp.taints)
    assert system["orchestratorVersion"] == s.kubernetes_version
    assert system["availabilityZones"] == ["1", "2", "3"]  # southafricanorth has zones


def test_prod_system_pool_is_reserved_for_critical_addons_and_has_the_sla():
    c = inputs(cluster(stack_run("prod")))
    assert "CriticalAddonsOnly=true:NoSchedule" in c["agentPoolProfiles"][0]["nodeTaints"]
    assert c["sku"]["tier"] == "Standard"


def test_only_the_fixed_system_pool_is_inline_and_others_are_agent_pools(env_stack, mode):
    """Azure can't update inline agent pools in place; autoscaled counts drift (ignored)."""
    r = stack_run(env_stack, mode)
    s = settings_of(r).aks
    c = cluster(r)
    assert [p["name"] for p in inputs(c)["agentPoolProfiles"]] == [s.system_pool.name]
    assert c.ignore_changes == ["agentPoolProfiles[0].count"]
    pools = {inputs(p)["agentPoolName"]: p for p in of_type(r, POOL)}
    assert set(pools) == {p.name for p in s.pools}
    for spec in s.pools:
        rec = pools[spec.name]
        got = inputs(rec)
        assert rec.ignore_changes == ["count"]
        assert got["resourceName"] == inputs(c)["resourceName"]
        assert got["mode"] == "User" and got["vmSize"] == spec.vm_size and got["enableAutoScaling"] is True
        assert (got["minCount"], got["maxCount"], got["count"]) == (
            spec.min_count, spec.max_count, spec.min_count
        )
        assert got.get("nodeTaints", []) == list(spec.taints)
        assert got.get("nodeLabels", {}) == dict(spec.labels)
        assert got["orchestratorVersion"] == s.kubernetes_version
        assert got["enableNodePublicIP"] is False
        assert got["securityProfile"] == {"sshAccess": "Disabled"}, "user pools lock SSH like the system pool"


def test_maintenance_windows_follow_settings(env_stack):
    r = stack_run(env_stack)
    w = settings_of(r).aks.maintenance_window
    configs = {inputs(m)["configName"]: inputs(m) for m in of_type(r, MAINT)}
    assert set(configs) == {"aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"}
    for cfg in configs.values():
        win = cfg["maintenanceWindow"]
        assert win["schedule"] == {"weekly": {"dayOfWeek": w.day, "intervalWeeks": 1}}
        assert win["startTime"] == f"{w.start_hour:02d}:00" and win["utcOffset"] == "+00:00"
        assert win["durationHours"] == w.duration_hours


def test_slow_resources_have_create_timeouts():
    r = stack_run("dev")
    assert cluster(r).custom_timeouts == {"create": "60m"}
    pools = of_type(r, POOL)
    assert pools and all(p.custom_timeouts.get("create") for p in pools)


NEWEST_K8S = lifecycle.supported("kubernetes", date.today())[-1]  # the lifecycle table's newest GA minor


def test_changed_settings_change_the_cluster():
    """One fresh build with every AKS setting changed, in a region without availability zones."""
    aks = aks_yaml("dev")
    aks.update({
        "tier": "Standard", "upgradeChannel": "none", "nodeOsUpgradeChannel": "SecurityPatch",
        "serviceCidr": "172.20.0.0/16", "dnsServiceIp": "172.20.0.10", "podCidr": "192.169.0.0/16",
        "kubernetesVersion": NEWEST_K8S,
        "maintenanceWindow": {"day": "Wednesday", "startHour": 22, "durationHours": 6},
        "adminGroupObjectIds": ["55555555-5555-4555-8555-555555555555"],
        "systemPool": {"name": "sys", "vmSize": "Standard_D8ds_v5", "minCount": 2, "maxCount": 4,
                       "taints": ["CriticalAddonsOnly=true:NoSchedule"], "maxPods": 50},
        "pools": [{"name": "batch", "vmSize": "Standard_E4ds_v5", "minCount": 1, "maxCount": 9}],
    })
    assert "southafricawest" not in naming.ZONAL_REGIONS
    r = build_stack("dev", overrides={"aks": aks, "region": "southafricawest"})
    assert r.ok, r.error
    c = inputs(cluster(r))
    assert c["sku"]["tier"] == "Standard"
    assert c["kubernetesVersion"] == NEWEST_K8S
    assert c["autoUpgradeProfile"] == {"upgradeChannel": "none", "nodeOSUpgradeChannel": "SecurityPatch"}
    assert c["networkProfile"]["serviceCidr"] == "172.20.0.0/16"
    assert c["networkProfile"]["dnsServiceIP"] == "172.20.0.10"
    assert c["networkProfile"]["podCidr"] == "192.169.0.0/16"
    [system] = c["agentPoolProfiles"]
    assert (system["name"], system["vmSize"], system["minCount"], system["maxCount"], system["maxPods"]) == (
        "sys", "Standard_D8ds_v5", 2, 4, 50)
    assert "availabilityZones" not in system, "southafricawest has no availability zones"
    [pool] = of_type(r, POOL)
    assert inputs(pool)["agentPoolName"] == "batch" and "availabilityZones" not in inputs(pool)
    # No auto-upgrade channel: only the node OS schedule remains, in the new window.
    [maint] = of_type(r, MAINT)
    win = inputs(maint)["maintenanceWindow"]
    assert inputs(maint)["configName"] == "aksManagedNodeOSUpgradeSchedule"
    assert (win["schedule"]["weekly"]["dayOfWeek"], win["startTime"], win["durationHours"]) == (
        "Wednesday", "22:00", 6
    )
    # The admin group is a break-glass AAD admin and holds cluster admin + user roles.
    assert c["aadProfile"]["adminGroupObjectIDs"] == ["55555555-5555-4555-8555-555555555555"]
    for role in ("Azure Kubernetes Service RBAC Cluster Admin", "Azure Kubernetes Service Cluster User Role"):
        grants = [g for g in role_assignments(r, role) if inputs(g)["principalType"] == "Group"]
        assert [inputs(g)["principalId"] for g in grants] == ["55555555-5555-4555-8555-555555555555"]


def test_unsupported_kubernetes_version_is_rejected():
    """Seed defect 6: the seed system pinned 1.28 in prod, long out of AKS support."""
    aks = aks_yaml("prod")
    aks["kubernetesVersion"] = "1.28"
    r = build_stack("prod", overrides={"aks": aks})
    assert not r.ok
    assert "Pulumi.prod.yaml: aks.kubernetesVersion: Kubernetes 1.28 was retired on 2025-01-31" in r.error
    assert f"pin instead Kubernetes {NEWEST_K8S}" in r.error
    assert not of_type(r, CLUSTER), "nothing is registered when settings are invalid"


# ------------------------------------------------------------------ access

def test_acr_pull_goes_to_the_kubelet_identity_not_the_cluster_identity(env_stack):
    """Seed defect 3: AcrPull on the cluster identity leaves image pulls unauthorised."""
    r = stack_run(env_stack, "update")
    shared = stack_run("shared", "update").outputs
    c = cluster(r)
    [grant] = role_assignments(r, "AcrPull")
    got = inputs(grant)
    kubelet = c.outputs["identityProfile"]["kubeletidentity"]["objectId"]
    control_plane = r.one("azure-native:managedidentity:UserAssignedIdentity", "aks-identity")
    assert got["principalId"] == kubelet
    assert got["principalId"] != control_plane.outputs["principalId"]
    assert got["principalType"] == "ServicePrincipal"
    assert got["scope"] == shared["registryId"], (
        "scope is the shared registry, read through the StackReference"
    )


def test_acr_pull_waits_for_the_cluster_in_preview(env_stack):
    r = stack_run(env_stack, "preview")
    [grant] = role_assignments(r, "AcrPull")
    assert is_unknown(inputs(grant)["principalId"])
    assert cluster(r).urn in grant.property_dependencies["principalId"]


def test_deployer_is_cluster_admin_through_azure_rbac(env_stack):
    r = stack_run(env_stack, "update")
    c = cluster(r)
    grants = [g for g in role_assignments(r, "Azure Kubernetes Service RBAC Cluster Admin")
              if inputs(g)["principalType"] == "ServicePrincipal"]
    assert [(inputs(g)["principalId"], inputs(g)["scope"]) for g in grants] == [
        (azure.DEPLOYER_OBJECT_ID, c.id)
    ]


def test_cluster_logs_and_container_insights_go_to_the_workspace(env_stack, mode):
    r = stack_run(env_stack, mode)
    c = cluster(r)
    workspace = r.one("azure-native:operationalinsights:Workspace")
    diag = [d for d in of_type(r, "azure-native:monitor:DiagnosticSetting") if d.parent == c.parent]
    [d] = [d for d in diag if c.urn in d.dependencies]
    assert [log["category"] for log in inputs(d)["logs"]] == list(AKS_LOG_CATEGORIES)
    got = inputs(c)
    if mode == "update":
        assert inputs(d)["workspaceId"] == workspace.id
        assert got["addonProfiles"]["omsagent"]["config"]["logAnalyticsWorkspaceResourceID"] == workspace.id
        assert got["securityProfile"]["defender"]["logAnalyticsWorkspaceResourceId"] == workspace.id
    assert got["addonProfiles"]["omsagent"]["enabled"] is True
    assert got["addonProfiles"]["omsagent"]["config"]["useAADAuth"] == "true"
    assert got["securityProfile"]["defender"]["securityMonitoring"] == {"enabled": True}
    # With Entra auth the agent collects only what an associated data collection rule says.
    dcr = r.one("azure-native:monitor:DataCollectionRule", "aks-insights-dcr")
    dcra = r.one("azure-native:monitor:DataCollectionRuleAssociation", "aks-insights-dcra")
    rule = inputs(dcr)
    [ext] = rule["dataSources"]["extensions"]
    assert ext["extensionName"] == "ContainerInsights"
    [dest] = rule["destinations"]["logAnalytics"]
    assert rule["dataFlows"] == [{"streams": ext["streams"], "destinations": [dest["name"]]}]
    assert c.urn in dcra.property_dependencies["resourceUri"]
    assert dcr.urn in dcra.property_dependencies["dataCollectionRuleId"]
    if mode == "update":
        assert dest["workspaceResourceId"] == workspace.id
        assert inputs(dcra)["resourceUri"] == c.id and inputs(dcra)["dataCollectionRuleId"] == dcr.id


# ------------------------------------------------------------------ the Kubernetes provider

def test_kubernetes_provider_uses_a_secret_non_interactive_kubeconfig(env_stack):
    r = stack_run(env_stack, "update")
    [provider] = [x for x in r.records if x.type == "pulumi:providers:kubernetes"]
    assert isinstance(provider.inputs["kubeconfig"], Secret), "the kubeconfig must stay a secret"
    doc = yaml.safe_load(inputs(provider)["kubeconfig"])
    [user] = doc["users"]
    args = user["user"]["exec"]["args"]
    assert args[:3] == ["get-token", "--login", "azurecli"]
    assert "devicecode" not in args and user["user"]["exec"]["interactiveMode"] == "Never"
    assert doc["clusters"][0]["name"] == inputs(cluster(r))["resourceName"]
    # It is used only after the deployer holds cluster admin (else the first apply gets 403).
    [admin] = [g for g in role_assignments(r, "Azure Kubernetes Service RBAC Cluster Admin")
               if inputs(g)["principalType"] == "ServicePrincipal"]
    assert admin.urn in provider.dependencies
    k8s = [x for x in r.resources() if x.type.startswith("kubernetes:")]
    assert k8s and all(x.provider.startswith(provider.urn + "::") for x in k8s)


DEVICE_CODE = azure.kubeconfig("mys-dev-core-aks-san", "mys-dev-core-aks-san.hcp.southafricanorth.azmk8s.io")


@pytest.mark.parametrize("mode", ["azurecli", "workloadidentity"])
def test_kubeconfig_conversion_matches_kubelogin_convert(mode):
    out = yaml.safe_load(noninteractive_kubeconfig(DEVICE_CODE, mode))
    src = yaml.safe_load(DEVICE_CODE)
    exec_ = out["users"][0]["user"]["exec"]
    # What `kubelogin convert-kubeconfig -l <mode>` writes: the server id only; the identity
    # comes from the az session or the AZURE_* environment, never from the kubeconfig.
    assert exec_["args"] == [
        "get-token", "--login", mode, "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"
    ]
    assert exec_["command"] == "kubelogin" and exec_["interactiveMode"] == "Never"
    assert out["clusters"] == src["clusters"] and out["contexts"] == src["contexts"]


def test_kubeconfig_conversion_rejects_what_it_cannot_convert():
    with pytest.raises(ValueError, match="unsupported kubelogin mode 'devicecode'"):
        noninteractive_kubeconfig(DEVICE_CODE, "devicecode")
    no_server = DEVICE_CODE.replace('"--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630", ', "")
    with pytest.raises(ValueError, match="no --server-id"):
        noninteractive_kubeconfig(no_server)
    static = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Config", "users": [{"name": "u", "user": {"token": "x"}}]}
    )
    with pytest.raises(ValueError, match="no kubelogin exec user"):
        noninteractive_kubeconfig(static)


def test_login_mode_from_the_environment():
    assert login_mode({}) == "azurecli"
    assert login_mode({"AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token"}) \
        == "workloadidentity"
    assert login_mode(
        {"MYSTIRA_KUBELOGIN_MODE": "azurecli", "AZURE_FEDERATED_TOKEN_FILE": "/x"}
    ) == "azurecli"
    with pytest.raises(ValueError, match="MYSTIRA_KUBELOGIN_MODE"):
        login_mode({"MYSTIRA_KUBELOGIN_MODE": "devicecode"})


def test_aks_component_outputs_feed_later_stages(env_stack):
    r = stack_run(env_stack, "update")
    c = cluster(r)
    assert r.outputs["aksClusterName"] == inputs(c)["resourceName"]
    assert r.outputs["aksOidcIssuerUrl"] == c.outputs["oidcIssuerProfile"]["issuerURL"]
    comp = r.one("mystira:aks:AksCluster")
    assert {x.name for x in children(r, comp)} >= {"aks-cluster", "aks-identity", "aks-kubelet-acr-pull"}
