"""Kubernetes objects the platform deploys: workloads, Services, PodDisruptionBudgets.

References: MYS.K8S.<NNN>.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .framework import (
    HIGH,
    K8S_WORKLOADS,
    MEDIUM,
    OPERATIONAL_EXCELLENCE,
    RELIABILITY,
    SECURITY,
    PolicyResource,
    ResourceValidationArgs,
    eq,
    get,
    has,
    items,
    resource_policy,
    stack_policy,
)

LOADBALANCER_REASON_ANNOTATION = "mystira.app/loadbalancer-reason"


def _pod_spec(args: ResourceValidationArgs) -> Any:
    return get(args.props, "spec", "template", "spec")


def _containers(args: ResourceValidationArgs) -> list[Any]:
    spec = _pod_spec(args)
    return items(get(spec, "containers")) + items(get(spec, "initContainers"))


def _container_setting(
    args: ResourceValidationArgs,
    key: str,
    want: bool,
    why: str,
    report: Callable[..., None],
    pod_level: bool = False,
) -> None:
    pod_value = get(_pod_spec(args), "securityContext", key) if pod_level else None
    for c in _containers(args):
        value = get(c, "securityContext", key)
        if value is None:
            value = pod_value
        if value is not want:
            report(f"container {get(c, 'name')!r}: securityContext.{key} is {value!r}, want {want}: {why}")


@resource_policy(
    "k8s-run-as-non-root",
    "Pods must run as non-root.",
    HIGH,
    "Set securityContext.runAsNonRoot=True (pod or container) and a non-zero runAsUser in the image.",
    "spec.template.spec[.containers[]].securityContext.runAsNonRoot",
    K8S_WORKLOADS,
    reference="MYS.K8S.001",
    pillar=SECURITY,
)
def _k8s_nonroot(args, report):
    _container_setting(
        args, "runAsNonRoot", True, "a container escape starts as root.", report, pod_level=True
    )


@resource_policy(
    "k8s-read-only-root-fs",
    "Containers must use a read-only root filesystem.",
    HIGH,
    "Set securityContext.readOnlyRootFilesystem=True; mount an emptyDir for scratch space.",
    "spec.template.spec.containers[].securityContext.readOnlyRootFilesystem",
    K8S_WORKLOADS,
    reference="MYS.K8S.002",
    pillar=SECURITY,
)
def _k8s_rofs(args, report):
    _container_setting(
        args, "readOnlyRootFilesystem", True, "an attacker can write binaries into the image.", report
    )


@resource_policy(
    "k8s-no-privilege-escalation",
    "Containers must not allow privilege escalation.",
    HIGH,
    "Set securityContext.allowPrivilegeEscalation=False.",
    "spec.template.spec.containers[].securityContext.allowPrivilegeEscalation",
    K8S_WORKLOADS,
    reference="MYS.K8S.003",
    pillar=SECURITY,
)
def _k8s_priv_esc(args, report):
    _container_setting(args, "allowPrivilegeEscalation", False, "setuid binaries can gain root.", report)


@resource_policy(
    "k8s-resources-set",
    "Containers must set CPU and memory requests and a memory limit.",
    MEDIUM,
    "Set resources={'requests': {'cpu': ..., 'memory': ...}, 'limits': {'memory': ...}}.",
    "spec.template.spec.containers[].resources.requests/limits",
    K8S_WORKLOADS,
    reference="MYS.K8S.004",
    pillar=RELIABILITY,
)
def _k8s_resources(args, report):
    for c in items(get(_pod_spec(args), "containers")):
        missing = [
            p
            for p in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))
            if get(c, "resources", *p) in (None, "")
        ]
        if missing:
            report(
                f"container {get(c, 'name')!r} lacks resources "
                f"{', '.join('.'.join(p) for p in missing)}: the scheduler can't place it and one pod "
                "can starve a node."
            )


@resource_policy(
    "k8s-probes-set",
    "Containers must set readiness and liveness probes.",
    MEDIUM,
    "Set readiness_probe and liveness_probe on every container.",
    "spec.template.spec.containers[].readinessProbe/livenessProbe",
    K8S_WORKLOADS,
    reference="MYS.K8S.005",
    pillar=RELIABILITY,
)
def _k8s_probes(args, report):
    for c in items(get(_pod_spec(args), "containers")):
        missing = [p for p in ("readinessProbe", "livenessProbe") if not has(c, p)]
        if missing:
            report(
                f"container {get(c, 'name')!r} has no {' or '.join(missing)}: traffic reaches pods that "
                "aren't ready, and hung pods are never restarted."
            )


@resource_policy(
    "k8s-min-replicas",
    "Deployments and StatefulSets must run at least 2 replicas.",
    MEDIUM,
    "Set spec.replicas >= 2 (and a PodDisruptionBudget).",
    "spec.replicas",
    ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"],
    reference="MYS.K8S.006",
    pillar=RELIABILITY,
)
def _k8s_replicas(args, report):
    replicas = get(args.props, "spec", "replicas")
    if not isinstance(replicas, (int, float)) or replicas < 2:
        report(f"spec.replicas is {replicas!r}: one pod means downtime on every node drain or rollout.")


def _image_problem(image: Any) -> str | None:
    if not isinstance(image, str) or not image:
        return "no image"
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (means :latest)"
    if last.rsplit(":", 1)[1].lower() == "latest":
        return f"image {image!r} uses :latest"
    return None


@resource_policy(
    "k8s-no-latest-tag",
    "Container images must be pinned to a tag other than latest (or a digest).",
    MEDIUM,
    "Use an immutable version tag or @sha256 digest.",
    "spec.template.spec.containers[].image",
    K8S_WORKLOADS,
    reference="MYS.K8S.007",
    pillar=OPERATIONAL_EXCELLENCE,
)
def _k8s_latest(args, report):
    for c in _containers(args):
        problem = _image_problem(get(c, "image"))
        if problem:
            report(f"container {get(c, 'name')!r}: {problem}: rollouts are not reproducible.")


@resource_policy(
    "k8s-loadbalancer-reason",
    f"LoadBalancer Services must carry the annotation "
    f"{LOADBALANCER_REASON_ANNOTATION} saying why they need a load balancer.",
    MEDIUM,
    f"Use ClusterIP behind the ingress, or add metadata.annotations['{LOADBALANCER_REASON_ANNOTATION}'].",
    "Service.spec.type, metadata.annotations",
    ["kubernetes:core/v1:Service"],
    reference="MYS.K8S.008",
    pillar=SECURITY,
)
def _k8s_lb(args, report):
    if not eq(get(args.props, "spec", "type"), "LoadBalancer"):
        return
    reason = get(args.props, "metadata", "annotations", LOADBALANCER_REASON_ANNOTATION)
    if not (isinstance(reason, str) and reason.strip()):
        report(
            f"a LoadBalancer Service without the {LOADBALANCER_REASON_ANNOTATION} annotation: an unplanned "
            "public IP."
        )


def _labels_match(selector: Any, labels: Any) -> bool:
    match = get(selector, "matchLabels")
    if not isinstance(match, Mapping) or not isinstance(labels, Mapping) or not list(iter(match)):
        return False
    return all(get(labels, k) == match[k] for k in list(iter(match)))


def namespace_of(res: PolicyResource) -> str:
    return str(get(res.props, "metadata", "namespace") or "default")


@stack_policy(
    "k8s-deployment-pdb",
    "Every Deployment must have a PodDisruptionBudget selecting its pods.",
    MEDIUM,
    "Add a policy/v1 PodDisruptionBudget (min_available=1 or max_unavailable=1) with the Deployment's "
    "selector labels in the same namespace.",
    "PodDisruptionBudget.metadata.namespace, .spec.selector.matchLabels vs "
    "Deployment.spec.template.metadata.labels",
    reference="MYS.K8S.009",
    pillar=RELIABILITY,
)
def _k8s_pdb(args, report):
    pdbs = [r for r in args.resources if r.resource_type == "kubernetes:policy/v1:PodDisruptionBudget"]
    for dep in (r for r in args.resources if r.resource_type == "kubernetes:apps/v1:Deployment"):
        labels = get(dep.props, "spec", "template", "metadata", "labels")
        if not any(
            namespace_of(p) == namespace_of(dep) and _labels_match(get(p.props, "spec", "selector"), labels)
            for p in pdbs
        ):
            report(
                f"Deployment {dep.name!r} has no PodDisruptionBudget: a node drain can evict every "
                "replica at once.",
                dep.urn,
            )
