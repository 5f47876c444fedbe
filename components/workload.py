"""A stateless HTTP workload on AKS: Deployment, Service, HorizontalPodAutoscaler,
PodDisruptionBudget and its NetworkPolicy. Built for story-generator; any service can use it.

The pod meets Pod Security "restricted" (the namespace enforces it): non-root, read-only root
filesystem, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp. It runs
under its service account with the workload-identity label, so it gets Entra tokens for its
managed identity and needs no secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

# `spec=cast(...ArgsDict, {...})` below: the specs use Kubernetes' camelCase keys, which the provider
# accepts; the SDK's generated *ArgsDict types only list the snake_case spelling.


@dataclass(frozen=True)
class WorkloadArgs:
    name: str  # workload name (also its labels' app.kubernetes.io/name)
    namespace: pulumi.Input[str]
    image: pulumi.Input[str]  # <registry login server>/<repository>:<immutable tag>
    service_account: pulumi.Input[str]
    # Sizes and replicas come from the stack's settings (settings.WorkloadSettings keeps the defaults).
    min_replicas: int
    max_replicas: int
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    port: int  # container port, named "http"
    service_port: int = 80
    health_path: str = "/health"
    cpu_target_percent: int = 70
    memory_target_percent: int = 80
    run_as_user: int = 10001  # any non-root uid; the image writes only to /tmp
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Egress the pod needs (TCP ports; 443 reaches Entra and the Azure services' private endpoints).
    egress_ports: tuple[int, ...] = (443,)
    # Namespaces besides its own allowed to call it (e.g. the ingress controller's).
    ingress_from_namespaces: tuple[str, ...] = ()


class Workload(pulumi.ComponentResource):
    deployment_name: pulumi.Output[str]
    service_name: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:kubernetes:Workload", name, None, opts)
        if args.min_replicas < 2:
            raise ValueError(f"{name}: at least 2 replicas keep the service up during a node drain")
        if args.max_replicas < args.min_replicas:
            raise ValueError(f"{name}: max_replicas must be at least min_replicas")
        child = pulumi.ResourceOptions(parent=self)
        selector = {"app.kubernetes.io/name": args.name}
        labels = {
            **selector, "app.kubernetes.io/part-of": "mystira", "app.kubernetes.io/managed-by": "pulumi"
        }
        probe = {"httpGet": {"path": args.health_path, "port": "http"}}

        container = {
            "name": args.name,
            "image": args.image,
            "imagePullPolicy": "IfNotPresent",  # tags are immutable (settings reject 'latest')
            "ports": [{"name": "http", "containerPort": args.port, "protocol": "TCP"}],
            "env": [{"name": k, "value": v} for k, v in args.env.items()] or None,
            "resources": {
                "requests": {"cpu": args.cpu_request, "memory": args.memory_request},
                "limits": {"cpu": args.cpu_limit, "memory": args.memory_limit},
            },
            "startupProbe": {**probe, "periodSeconds": 5, "failureThreshold": 30},
            "livenessProbe": {**probe, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
            "readinessProbe": {**probe, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 3},
            "securityContext": {
                "runAsNonRoot": True,  # Pod Security restricted: never uid 0
                "runAsUser": args.run_as_user,
                "readOnlyRootFilesystem": True,  # nothing can be dropped into the image at runtime
                "allowPrivilegeEscalation": False,  # no setuid escalation
                "capabilities": {"drop": ["ALL"]},  # an HTTP service needs no Linux capability
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # the only writable path
        }
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": args.name, "namespace": args.namespace, "labels": labels},
            spec=cast(k8s.apps.v1.DeploymentSpecArgsDict, {
                "replicas": args.min_replicas,
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {
                    "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}
                },
                "template": {
                    "metadata": {
                        # Workload identity: the webhook injects the token volume and AZURE_* env.
                        "labels": {**labels, "azure.workload.identity/use": "true"},
                    },
                    "spec": {
                        "serviceAccountName": args.service_account,
                        "automountServiceAccountToken": False,  # no Kubernetes API token in the pod
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": args.run_as_user,
                            "runAsGroup": args.run_as_user,
                            "fsGroup": args.run_as_user,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [container],
                        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                        # Replicas on different nodes and zones, so one failure never takes all.
                        "topologySpreadConstraints": [
                            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
                             "labelSelector": {"matchLabels": selector}}
                            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
                        ],
                    },
                },
            }),
            # The HPA owns the replica count after the first apply.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["spec.replicas"]),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": args.name, "namespace": args.namespace, "labels": labels},
            spec=cast(k8s.core.v1.ServiceSpecArgsDict, {
                "type": "ClusterIP",  # reachable inside the cluster only; ingress fronts it
                "selector": selector,
                "ports": [
                    {"name": "http", "port": args.service_port, "targetPort": "http", "protocol": "TCP"}
                ],
            }),
            opts=child,
        )
        self.hpa = k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata={"name": args.name, "namespace": args.namespace, "labels": labels},
            spec=cast(k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgsDict, {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": args.name},
                "minReplicas": args.min_replicas,
                "maxReplicas": args.max_replicas,
                "metrics": [
                    {"type": "Resource", "resource": {"name": resource, "target": {
                        "type": "Utilization", "averageUtilization": target}}}
                    for resource, target in (("cpu", args.cpu_target_percent),
                                             ("memory", args.memory_target_percent))
                ],
            }),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployment]),
        )
        self.pdb = k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata={"name": args.name, "namespace": args.namespace, "labels": labels},
            # Node drains (upgrades, scale-down) evict one pod at a time.
            spec=cast(
                k8s.policy.v1.PodDisruptionBudgetSpecArgsDict,
                {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
            ),
            opts=child,
        )
        peers: list[dict[str, Any]] = [{"podSelector": {}}] + [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
            for ns in args.ingress_from_namespaces
        ]
        # Opens exactly what this workload needs on top of the namespace's default deny.
        self.network_policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol",
            metadata={"name": f"{args.name}-traffic", "namespace": args.namespace, "labels": labels},
            spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": peers, "ports": [{"protocol": "TCP", "port": args.port}]}],
                "egress": [{"ports": [{"protocol": "TCP", "port": p} for p in args.egress_ports]}],
            }),
            opts=child,
        )
        self.deployment_name = self.deployment.metadata.apply(lambda m: m["name"])
        self.service_name = self.service.metadata.apply(lambda m: m["name"])
        self.register_outputs({"deployment_name": self.deployment_name, "service_name": self.service_name})
