"""Stage 'kubernetes': the environment's namespace and guard rails, a service account per
service (workload identity), and the story-generator workload."""

from __future__ import annotations

import pulumi

from components.kubernetes_layer import AppNamespace, AppNamespaceArgs, NamespaceQuota
from components.redis import REDIS_PORT
from components.workload import Workload, WorkloadArgs
from mystira_infra import services
from mystira_infra.shared_outputs import require_shared
from stacks.platform import Platform

POSTGRES_PORT = 5432
HTTPS_PORT = 443  # Entra token exchange, Key Vault, OpenAI, App Insights


def build(p: Platform) -> None:
    s = p.settings
    assert s.kubernetes is not None and s.aks is not None and p.shared is not None
    provider = p.components["k8s_provider"]
    refs = p.components["service_accounts"]  # set by the cluster stage: the FIC subjects' source
    identities = p.components["identities"]
    namespaces = {r.namespace for r in refs.values()}
    if len(namespaces) != 1:
        raise ValueError(f"expected one namespace per environment, got {sorted(namespaces)}")
    namespace = namespaces.pop()

    q = s.kubernetes.quota
    layer = AppNamespace(
        "env",
        AppNamespaceArgs(
            namespace=namespace,
            environment=s.environment,
            kubernetes_version=s.aks.kubernetes_version,
            quota=NamespaceQuota(
                requests_cpu=q.requests_cpu, requests_memory=q.requests_memory, limits_cpu=q.limits_cpu,
                limits_memory=q.limits_memory, pods=q.pods, default_cpu_request=q.default_cpu_request,
                default_memory_request=q.default_memory_request, default_cpu_limit=q.default_cpu_limit,
                default_memory_limit=q.default_memory_limit,
            ),
            service_accounts={refs[k].name: identities[k].client_id for k in refs},
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    p.components["k8s_namespace"] = layer

    story = services.by_key("story")
    wl = s.kubernetes.story_generator
    ports = [HTTPS_PORT]
    if story.database:
        ports.append(POSTGRES_PORT)
    if story.uses_redis:
        ports.append(REDIS_PORT)
    login_server = require_shared(p.shared, "registryLoginServer")
    workload = Workload(
        story.workload,
        WorkloadArgs(
            name=story.workload,
            namespace=namespace,  # plain names: known at preview; depends_on orders the apply
            image=pulumi.Output.concat(login_server, "/", story.workload, ":", wl.image_tag),
            service_account=refs[story.key].name,
            min_replicas=wl.min_replicas,
            max_replicas=wl.max_replicas,
            cpu_request=wl.cpu_request,
            cpu_limit=wl.cpu_limit,
            memory_request=wl.memory_request,
            memory_limit=wl.memory_limit,
            port=wl.port,
            egress_ports=tuple(ports),
        ),
        opts=pulumi.ResourceOptions(providers=[provider], depends_on=[layer]),
    )
    p.components["workloads"] = {story.key: workload}
    pulumi.export("kubernetesNamespace", layer.namespace)
