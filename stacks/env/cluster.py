"""Stage 'cluster': AKS, registry pull for its kubelet identity, workload-identity federation,
and the Kubernetes provider later stages use.

One source of truth for workload identity (the seed system's defect 1): the namespace and service
account of each service are decided here, once, as `ServiceAccountRef`s. The federated credential
subject is computed from them, and the kubernetes stage creates exactly those objects from
`p.components["service_accounts"]`.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import containerservice

from components.aks import AksCluster, AksClusterArgs, MaintenanceSpec, PoolSpec, admin_dependencies
from components.identity import FederatedSubject, WorkloadFederation, WorkloadFederationArgs
from components.kubernetes_layer import login_mode, noninteractive_kubeconfig
from components.monitoring import Monitoring
from mystira_infra import naming, services
from mystira_infra.services import SERVICES
from mystira_infra.settings import NodePool
from mystira_infra.shared_outputs import require_shared
from stacks.platform import Platform


@dataclass(frozen=True)
class ServiceAccountRef:
    namespace: str
    name: str

    @property
    def subject(self) -> str:
        return services.workload_identity_subject(self.namespace, self.name)


def service_accounts(environment: str) -> dict[str, ServiceAccountRef]:
    """Service key -> the namespace and service account its pods run as."""
    ns = services.namespace(environment)
    return {svc.key: ServiceAccountRef(ns, svc.workload) for svc in SERVICES}


def _pool(pool: NodePool) -> PoolSpec:
    return PoolSpec(name=pool.name, vm_size=pool.vm_size, min_count=pool.min_count, max_count=pool.max_count,
                    taints=tuple(pool.taints), labels=dict(pool.labels), max_pods=pool.max_pods)


def build(p: Platform) -> None:
    s = p.settings
    assert s.aks is not None
    aks_settings = s.aks
    # Monitoring is required and built first (observability stage): a missing one is a stage-order
    # bug, so fail here rather than build a cluster silently without Defender, Insights and logs.
    monitoring: Monitoring = p.components["monitoring"]
    assert p.shared is not None

    aks = AksCluster(
        "aks",
        AksClusterArgs(
            name=p.namer("aks", "core"),
            identity_name=p.namer("identity", "aks"),
            node_resource_group=p.namer("resource_group", "aksnodes"),
            resource_group_name=p.core_rg.name,
            location=p.location,
            tags=p.component_tags("aks"),
            subscription_id=p.subscription_id,
            tenant_id=p.tenant_id,
            kubernetes_version=aks_settings.kubernetes_version,
            tier=aks_settings.tier,
            node_subnet_id=p.network.subnet_ids["aks"],
            system_pool=_pool(aks_settings.system_pool),
            pools=tuple(_pool(x) for x in aks_settings.pools),
            zones=("1", "2", "3") if s.region in naming.ZONAL_REGIONS else (),
            service_cidr=aks_settings.service_cidr,
            dns_service_ip=aks_settings.dns_service_ip,
            pod_cidr=aks_settings.pod_cidr,
            upgrade_channel=aks_settings.upgrade_channel,
            node_os_upgrade_channel=aks_settings.node_os_upgrade_channel,
            maintenance=MaintenanceSpec(
                day=aks_settings.maintenance_window.day,
                start_hour=aks_settings.maintenance_window.start_hour,
                duration_hours=aks_settings.maintenance_window.duration_hours,
            ),
            admin_group_object_ids=tuple(aks_settings.admin_group_object_ids),
            deployer_object_id=p.deployer_object_id,
            workspace_id=monitoring.workspace_id,
            registry_id=require_shared(p.shared, "registryId"),
            data_collection_rule_name=p.namer("data_collection_rule", "aks"),
        ),
        opts=pulumi.ResourceOptions(parent=p.core_rg),
    )
    p.components["aks"] = aks

    # Workload identity: one federated credential per service, subject from the same refs that
    # the kubernetes stage turns into the namespace and service accounts.
    refs = service_accounts(s.environment)
    p.components["service_accounts"] = refs
    identities = p.components["identities"]
    federations = {}
    for svc in SERVICES:
        ident = identities[svc.key]
        federations[svc.key] = WorkloadFederation(
            f"{svc.key}-federation",
            WorkloadFederationArgs(
                identity_name=ident.name,
                resource_group_name=ident.resource_group_name,
                issuer=aks.oidc_issuer_url,
                subjects=(FederatedSubject(p.namer("federated_credential", svc.key), refs[svc.key].subject),),
            ),
            opts=pulumi.ResourceOptions(parent=ident),
        )
    p.components["federations"] = federations

    # The Kubernetes provider: the cluster's user kubeconfig (local accounts are off, so it is a
    # kubelogin exec config) converted to a non-interactive login (docs/aks-and-ci-auth.md).
    mode = login_mode(os.environ)
    creds = containerservice.list_managed_cluster_user_credentials_output(
        resource_group_name=aks.resource_group_name, resource_name=aks.cluster_name)
    kubeconfig = creds.kubeconfigs.apply(
        lambda kcs: noninteractive_kubeconfig(base64.b64decode(kcs[0].value).decode(), mode))
    # Annotated: mypy can't infer Output.secret's type parameter from an Output argument on its own.
    secret_kubeconfig: pulumi.Output[str] = pulumi.Output.secret(kubeconfig)
    provider = k8s.Provider(
        "aks",
        kubeconfig=secret_kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=aks, depends_on=list(admin_dependencies(aks))),
    )
    p.components["k8s_provider"] = provider

    pulumi.export("aksClusterName", aks.cluster_name)
    pulumi.export("aksOidcIssuerUrl", aks.oidc_issuer_url)
    pulumi.export("workloadIdentitySubjects", {k: r.subject for k, r in refs.items()})
