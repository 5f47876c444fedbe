"""The AKS cluster, secure by default in the way of the AKS baseline reference architecture.

One ComponentResource: the control-plane identity and its subnet role, the cluster with one fixed
inline system pool, every other pool as its own `AgentPool`, the maintenance windows, Azure RBAC
cluster-admin grants, AcrPull for the kubelet identity, and the baseline's diagnostic categories.

Azure rules this component relies on (DESIGN.md section 5, each named in tests/test_aks.py):
- inline agent pools can't be updated in place: the inline pool is the fixed system pool and every
  other pool is an `AgentPool`; autoscaled counts drift, so `count` changes are ignored;
- image pulls use the kubelet identity, not the cluster (control-plane) identity: AcrPull goes to
  `identityProfile.kubeletidentity.objectId` (the seed system's defect 3);
- with local accounts off, only Entra identities with an Azure RBAC role reach the API server: the
  deployer gets 'Azure Kubernetes Service RBAC Cluster Admin' so CI can apply the Kubernetes layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import pulumi
from pulumi_azure_native import containerservice, managedidentity, monitor

from components import interfaces

# The baseline's diagnostic categories: audit of admin actions, Entra auth (guard), the autoscaler
# and the controller manager. kube-audit (all reads) and kube-scheduler stay off: cost.
AKS_LOG_CATEGORIES: tuple[str, ...] = (
    "kube-audit-admin", "guard", "cluster-autoscaler", "kube-controller-manager",
)

# Azure's built-in maintenance configuration names: AKS only honours these two.
AUTO_UPGRADE_SCHEDULE = "aksManagedAutoUpgradeSchedule"
NODE_OS_UPGRADE_SCHEDULE = "aksManagedNodeOSUpgradeSchedule"


@dataclass(frozen=True)
class PoolSpec:
    name: str
    vm_size: str
    min_count: int
    max_count: int
    taints: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    max_pods: int = 30


@dataclass(frozen=True)
class MaintenanceSpec:
    day: str  # weekday name
    start_hour: int  # UTC
    duration_hours: int


@dataclass(frozen=True)
class AksClusterArgs:
    name: str  # physical cluster name (naming module)
    identity_name: str  # physical name of the control-plane managed identity
    node_resource_group: str  # physical name of the node resource group
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
    subscription_id: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    kubernetes_version: str  # a minor ("1.33"), checked against the supported list by settings
    tier: str  # Free | Standard | Premium
    node_subnet_id: pulumi.Input[str]
    system_pool: PoolSpec
    maintenance: MaintenanceSpec
    pools: tuple[PoolSpec, ...] = ()
    zones: tuple[str, ...] = ()  # empty where the region has no availability zones
    service_cidr: str = "172.16.0.0/16"
    dns_service_ip: str = "172.16.0.10"
    pod_cidr: str = "192.168.0.0/16"
    upgrade_channel: str = "patch"
    node_os_upgrade_channel: str = "NodeImage"
    admin_group_object_ids: tuple[str, ...] = ()
    # Service principal (CI deploy identity) that applies the Kubernetes layer.
    deployer_object_id: pulumi.Input[str] | None = None
    workspace_id: pulumi.Input[str] | None = None  # Log Analytics: Container Insights, Defender, diagnostics
    registry_id: pulumi.Input[str] | None = None  # shared registry: AcrPull for the kubelet identity
    data_collection_rule_name: str = ""  # Container Insights DCR (needed with a workspace)
    create_timeout: str = "60m"


class AksCluster(pulumi.ComponentResource):
    id: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    fqdn: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    kubelet_object_id: pulumi.Output[str]
    kubelet_client_id: pulumi.Output[str]
    control_plane_principal_id: pulumi.Output[str]

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:aks:AksCluster", name, None, opts)
        tags = dict(args.tags)

        # A user-assigned control-plane identity (baseline): it exists, with its subnet role, before
        # the cluster, so the first create never races Entra replication for a system identity.
        control_plane = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The control plane joins nodes and internal load balancers to our (not AKS-owned) subnet.
        subnet_role = interfaces.role_assignment(
            f"{name}-subnet-network-contributor",
            scope=args.node_subnet_id,
            role="Network Contributor",
            principal_id=control_plane.principal_id,
            principal_type="ServicePrincipal",
            subscription_id=args.subscription_id,
            parent=self,
        )

        zones = list(args.zones) or None
        system = args.system_pool
        cluster = containerservice.ManagedCluster(
            f"{name}-cluster",
            resource_name_=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            dns_prefix=args.name,
            node_resource_group=args.node_resource_group,
            # Nobody but AKS may change the node resource group (no hand-edited VMSS or NICs).
            node_resource_group_profile={"restriction_level": "ReadOnly"},
            kubernetes_version=args.kubernetes_version,
            sku={"name": "Base", "tier": args.tier},  # Standard = uptime SLA (prod)
            # cast: the provider takes the plain string; the generated TypedDict wants the enum type.
            identity=cast(
                containerservice.ManagedClusterIdentityArgsDict,
                {"type": "UserAssigned", "user_assigned_identities": [control_plane.id]},
            ),
            # Entra-managed AAD with Azure RBAC: access is granted by Azure role assignments only.
            aad_profile={
                "managed": True,
                "enable_azure_rbac": True,
                "tenant_id": args.tenant_id,
                "admin_group_object_ids": list(args.admin_group_object_ids) or None,
            },
            disable_local_accounts=True,  # no static admin kubeconfig: every call is an Entra identity
            enable_rbac=True,  # Kubernetes RBAC on (required by Azure RBAC for Kubernetes)
            oidc_issuer_profile={"enabled": True},  # issues service-account tokens Entra can trust
            security_profile={
                "workload_identity": {"enabled": True},  # pods get Entra tokens without secrets
                # Remove stale, vulnerable images weekly.
                "image_cleaner": {"enabled": True, "interval_hours": 168},
                **(
                    {"defender": {"log_analytics_workspace_resource_id": args.workspace_id,
                                  "security_monitoring": {"enabled": True}}}  # runtime threat detection
                    if args.workspace_id is not None else {}
                ),
            },
            api_server_access_profile={
                "disable_run_command": True,  # cluster access only through RBAC-checked kubectl
                # Public endpoint with Entra auth: CI runs on GitHub-hosted runners outside the VNet
                # (docs/aks-and-ci-auth.md). A private cluster needs runners inside the VNet.
                "enable_private_cluster": False,
            },
            public_network_access="Enabled",  # the API server endpoint above; Entra + Azure RBAC guard it
            network_profile={
                "network_plugin": "azure",
                "network_plugin_mode": "overlay",  # pods get overlay IPs: the /22 only holds nodes
                "network_dataplane": "cilium",  # eBPF dataplane; Azure NPM is being retired
                "network_policy": "cilium",  # NetworkPolicy is enforced (default-deny per namespace)
                "pod_cidr": args.pod_cidr,
                "service_cidr": args.service_cidr,  # outside the VNet (checked by settings)
                "dns_service_ip": args.dns_service_ip,
                "load_balancer_sku": "standard",
                "outbound_type": "loadBalancer",
            },
            agent_pool_profiles=[{
                # The one fixed inline pool: never renamed or resized here (inline pools can't be
                # updated in place); everything else is an AgentPool below.
                "name": system.name,
                "mode": "System",
                "vm_size": system.vm_size,
                "os_type": "Linux",
                "os_sku": "AzureLinux",
                "type": "VirtualMachineScaleSets",
                "vnet_subnet_id": args.node_subnet_id,
                "availability_zones": zones,  # spread over zones where the region has them
                "enable_auto_scaling": True,
                "min_count": system.min_count,
                "max_count": system.max_count,
                "count": system.min_count,  # required at create; drift ignored (autoscaler owns it)
                "max_pods": system.max_pods,
                "node_taints": list(system.taints) or None,  # e.g. CriticalAddonsOnly in prod
                "node_labels": dict(system.labels) or None,
                "orchestrator_version": args.kubernetes_version,  # pools aligned with the control plane
                "enable_node_public_ip": False,  # nodes are reachable only inside the VNet
                "security_profile": {"ssh_access": "Disabled"},  # no SSH into nodes
                "upgrade_settings": {"max_surge": "33%"},
            }],
            auto_scaler_profile={
                "expander": "random",
                "scale_down_unneeded_time": "10m",
                "max_node_provision_time": "15m",
            },
            auto_upgrade_profile={
                "upgrade_channel": args.upgrade_channel,  # patch releases within the pinned minor
                "node_os_upgrade_channel": args.node_os_upgrade_channel,  # node OS security fixes
            },
            addon_profiles={
                # Key Vault secrets-store CSI driver; rotation picks up new secret versions.
                "azureKeyvaultSecretsProvider": {
                    "enabled": True,
                    "config": {"enableSecretRotation": "true", "rotationPollInterval": "2m"},
                },
                # Azure Policy for Kubernetes (Gatekeeper): audit and deny pod-security violations.
                "azurepolicy": {"enabled": True, "config": {"version": "v2"}},
                # Container Insights, with Entra (not key) auth to the workspace.
                "omsagent": (
                    {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": args.workspace_id,
                                                 "useAADAuth": "true"}}
                    if args.workspace_id is not None else {"enabled": False}
                ),
            },
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[subnet_role],
                # Autoscaled: the autoscaler owns the inline pool's node count.
                ignore_changes=["agentPoolProfiles[0].count"],
                custom_timeouts=pulumi.CustomTimeouts(create=args.create_timeout),
            ),
        )

        # Every other pool is its own resource: it can change without touching the cluster.
        self.pools: dict[str, containerservice.AgentPool] = {}
        for pool in args.pools:
            self.pools[pool.name] = containerservice.AgentPool(
                f"{name}-pool-{pool.name}",
                agent_pool_name=pool.name,
                resource_group_name=args.resource_group_name,
                resource_name_=cluster.name,
                mode="User",
                vm_size=pool.vm_size,
                os_type="Linux",
                os_sku="AzureLinux",
                type="VirtualMachineScaleSets",
                vnet_subnet_id=args.node_subnet_id,
                availability_zones=zones,
                enable_auto_scaling=True,
                min_count=pool.min_count,
                max_count=pool.max_count,
                count=pool.min_count,  # required at create (azure-native#2943); drift ignored
                max_pods=pool.max_pods,
                node_taints=list(pool.taints) or None,
                node_labels=dict(pool.labels) or None,
                orchestrator_version=args.kubernetes_version,
                enable_node_public_ip=False,  # nodes are reachable only inside the VNet
                security_profile={"ssh_access": "Disabled"},  # no SSH into nodes
                upgrade_settings={"max_surge": "33%"},
                tags=tags,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    ignore_changes=["count"],  # the autoscaler owns the count
                    custom_timeouts=pulumi.CustomTimeouts(create="30m"),
                ),
            )

        # Planned maintenance: cluster upgrades and node OS updates only in the weekly window.
        window: containerservice.MaintenanceWindowArgsDict = {
            "schedule": {"weekly": {"day_of_week": args.maintenance.day, "interval_weeks": 1}},
            "duration_hours": args.maintenance.duration_hours,
            "start_time": f"{args.maintenance.start_hour:02d}:00",
            "utc_offset": "+00:00",
        }
        self.maintenance: list[containerservice.MaintenanceConfiguration] = []
        schedules = []
        if args.upgrade_channel != "none":
            schedules.append(("auto-upgrade", AUTO_UPGRADE_SCHEDULE))
        if args.node_os_upgrade_channel not in ("None", "Unmanaged"):
            schedules.append(("node-os", NODE_OS_UPGRADE_SCHEDULE))
        previous: list[pulumi.Resource] = []
        for role, config_name in schedules:
            mc = containerservice.MaintenanceConfiguration(
                f"{name}-maintenance-{role}",
                config_name=config_name,
                resource_group_name=args.resource_group_name,
                resource_name_=cluster.name,
                maintenance_window=window,
                # One write at a time on the cluster (it answers 409 while another operation runs).
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            self.maintenance.append(mc)
            previous = [mc]

        self.cluster = cluster
        self.id = cluster.id
        self.cluster_name = cluster.name
        self.resource_group_name = pulumi.Output.from_input(args.resource_group_name)
        self.fqdn = cluster.fqdn
        # cast: the SDK types these outputs optional; Azure reports them for every cluster it creates.
        self.oidc_issuer_url = cast(
            pulumi.Output[str], cluster.oidc_issuer_profile.apply(lambda o: o.issuer_url if o else None)
        )
        kubelet = cluster.identity_profile.apply(lambda p: (p or {}).get("kubeletidentity"))
        self.kubelet_object_id = cast(pulumi.Output[str], kubelet.apply(lambda k: k.object_id if k else None))
        self.kubelet_client_id = cast(pulumi.Output[str], kubelet.apply(lambda k: k.client_id if k else None))
        self.control_plane_principal_id = control_plane.principal_id

        # Azure RBAC for Kubernetes: who may administer the cluster through the API server.
        self.admin_assignments: list[pulumi.Resource] = []
        for i, group in enumerate(args.admin_group_object_ids):
            for role, suffix in (("Azure Kubernetes Service RBAC Cluster Admin", "admin"),
                                 ("Azure Kubernetes Service Cluster User Role", "user")):
                self.admin_assignments.append(interfaces.role_assignment(
                    f"{name}-group{i}-{suffix}", scope=cluster.id, role=role, principal_id=group,
                    principal_type="Group", subscription_id=args.subscription_id, parent=self))
        self.deployer_admin: pulumi.Resource | None = None
        if args.deployer_object_id is not None:
            # CI's deploy identity applies the Kubernetes layer (namespaces, RBAC-bound objects).
            self.deployer_admin = interfaces.role_assignment(
                f"{name}-deployer-admin", scope=cluster.id,
                role="Azure Kubernetes Service RBAC Cluster Admin",
                principal_id=args.deployer_object_id, principal_type="ServicePrincipal",
                subscription_id=args.subscription_id, parent=self)

        # Image pulls: the KUBELET identity pulls, so it (not the control plane) gets AcrPull.
        self.acr_pull: pulumi.Resource | None = None
        if args.registry_id is not None:
            self.acr_pull = interfaces.role_assignment(
                f"{name}-kubelet-acr-pull", scope=args.registry_id, role="AcrPull",
                principal_id=self.kubelet_object_id, principal_type="ServicePrincipal",
                subscription_id=args.subscription_id, parent=self)

        self.data_collection_rule: monitor.DataCollectionRule | None = None
        if args.workspace_id is not None:
            # With Entra auth (useAADAuth) the Container Insights agent reads what to collect from
            # a data collection rule associated with the cluster: without one it sends nothing.
            if not args.data_collection_rule_name:
                raise ValueError(
                    f"{name}: a workspace needs data_collection_rule_name for Container Insights"
                )
            streams = ["Microsoft-ContainerInsights-Group-Default"]
            dcr = monitor.DataCollectionRule(
                f"{name}-insights-dcr",
                data_collection_rule_name=args.data_collection_rule_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                kind="Linux",
                description="Container Insights for the AKS cluster (mystira-infra)",
                data_sources={"extensions": [{
                    "name": "ContainerInsightsExtension",
                    "extension_name": "ContainerInsights",
                    "streams": streams,
                    "extension_settings": {"dataCollectionSettings": {
                        "interval": "1m", "namespaceFilteringMode": "Off", "enableContainerLogV2": True}},
                }]},
                destinations={
                    "log_analytics": [{"name": "workspace", "workspace_resource_id": args.workspace_id}]
                },
                data_flows=[{"streams": streams, "destinations": ["workspace"]}],
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            monitor.DataCollectionRuleAssociation(
                f"{name}-insights-dcra",
                association_name="ContainerInsightsExtension",
                resource_uri=cluster.id,
                data_collection_rule_id=dcr.id,
                description="Container Insights data collection for this cluster",
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.data_collection_rule = dcr
            interfaces.diagnostics(name, resource_id=cluster.id, workspace_id=args.workspace_id, parent=self,
                                   log_categories=AKS_LOG_CATEGORIES)

        self.register_outputs({
            "id": self.id,
            "cluster_name": self.cluster_name,
            "resource_group_name": self.resource_group_name,
            "fqdn": self.fqdn,
            "oidc_issuer_url": self.oidc_issuer_url,
            "kubelet_object_id": self.kubelet_object_id,
            "kubelet_client_id": self.kubelet_client_id,
            "control_plane_principal_id": self.control_plane_principal_id,
        })


def admin_dependencies(cluster: AksCluster) -> Sequence[pulumi.Resource]:
    """What the Kubernetes provider waits for: the deployer's cluster-admin grant."""
    return [cluster.deployer_admin] if cluster.deployer_admin is not None else []
