"""The Kubernetes layer: namespace guard rails, service accounts and the story-generator workload.

Every object is validated against the Kubernetes OpenAPI schema of the cluster's own version
(kubernetes-validate, strict: unknown fields are errors), in update and preview mode.
"""

from __future__ import annotations

import re

import kubernetes_validate
import pytest

from mystira_infra import services
from mystira_infra.dryrun.mocks import plain
from tests.conftest import stack_run
from tests.helpers import of_type
from tests.test_aks import settings_of

NS = "kubernetes:core/v1:Namespace"
DEPLOY = "kubernetes:apps/v1:Deployment"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def manifest(record) -> dict:
    """The recorded inputs as a Kubernetes manifest (wire numbers are floats)."""

    def fix(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items() if not k.startswith("__")}
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v

    return fix(plain(record.inputs))


def k8s_objects(result) -> list:
    return [r for r in result.resources() if r.type.startswith("kubernetes:")]


def one(result, type_: str):
    [rec] = of_type(result, type_)
    return manifest(rec)


def test_every_kubernetes_object_is_valid_for_the_cluster_version(env_stack, mode):
    r = stack_run(env_stack, mode)
    version = settings_of(r).aks.kubernetes_version + ".0"
    objects = k8s_objects(r)
    kinds = {manifest(o)["kind"] for o in objects}
    assert kinds >= {"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "ServiceAccount",
                     "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    for o in objects:
        m = manifest(o)
        try:
            kubernetes_validate.validate(m, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(
                f"{o.name} ({m['kind']}) is not valid Kubernetes {version}: {e.message} at {list(e.path)}"
            )


def test_validation_can_fail():
    """The validator really rejects a wrong manifest (a misspelt field), so the test above means something."""
    bad = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x"}, "automountToken": False}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.33.0", strict=True)


def test_namespace_enforces_pod_security_restricted(env_stack):
    r = stack_run(env_stack)
    ns = one(r, NS)
    labels = ns["metadata"]["labels"]
    assert ns["metadata"]["name"] == services.namespace(env_stack) == f"mys-{env_stack}"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v" + settings_of(r).aks.kubernetes_version
    assert labels["mystira.app/environment"] == env_stack
    assert labels["app.kubernetes.io/part-of"] == "mystira"


def test_namespace_denies_all_traffic_by_default(env_stack):
    r = stack_run(env_stack)
    ns = one(r, NS)["metadata"]["name"]
    policies = {manifest(p)["metadata"]["name"]: manifest(p) for p in of_type(r, NETPOL)}
    deny = policies["default-deny-all"]
    assert deny["metadata"]["namespace"] == ns
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = policies["allow-dns-egress"]["spec"]
    assert dns["policyTypes"] == ["Egress"] and "ingress" not in dns
    [rule] = dns["egress"]
    # DNS over UDP, and TCP for large answers, to CoreDNS in kube-system only (not to any pod on 53).
    assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert rule["to"] == [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }]


def test_quota_and_limit_range_follow_settings(env_stack):
    r = stack_run(env_stack)
    q = settings_of(r).kubernetes.quota
    quota = one(r, "kubernetes:core/v1:ResourceQuota")["spec"]["hard"]
    assert quota == {"requests.cpu": q.requests_cpu, "requests.memory": q.requests_memory,
                     "limits.cpu": q.limits_cpu, "limits.memory": q.limits_memory, "pods": str(q.pods)}
    [limits] = one(r, "kubernetes:core/v1:LimitRange")["spec"]["limits"]
    assert limits["type"] == "Container"
    assert limits["defaultRequest"] == {"cpu": q.default_cpu_request, "memory": q.default_memory_request}
    assert limits["default"] == {"cpu": q.default_cpu_limit, "memory": q.default_memory_limit}


def _cpu(q: str) -> float:
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def _mem(q: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti)?", q)
    assert m, q
    return float(m.group(1)) * units.get(m.group(2) or "", 1)


def test_quota_leaves_room_for_story_generator_at_full_scale(env_stack):
    """An HPA scale-out the quota can't admit fails silently (pods never created)."""
    r = stack_run(env_stack)
    s = settings_of(r)
    q, wl = s.kubernetes.quota, s.kubernetes.story_generator
    assert wl.max_replicas * _cpu(wl.cpu_limit) <= _cpu(q.limits_cpu)
    assert wl.max_replicas * _mem(wl.memory_limit) <= _mem(q.limits_memory)
    assert wl.max_replicas * _cpu(wl.cpu_request) <= _cpu(q.requests_cpu)
    assert wl.max_replicas * _mem(wl.memory_request) <= _mem(q.requests_memory)
    assert wl.max_replicas <= q.pods


def test_story_generator_deployment(env_stack, mode):
    r = stack_run(env_stack, mode)
    wl = settings_of(r).kubernetes.story_generator
    shared = stack_run("shared").outputs
    dep = one(r, DEPLOY)
    story = services.by_key("story")
    assert dep["metadata"]["namespace"] == services.namespace(env_stack)
    assert dep["spec"]["replicas"] == wl.min_replicas >= 2
    pod = dep["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == story.workload
    assert dep["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    [c] = pod["containers"]
    assert c["image"] == f"{shared['registryLoginServer']}/story-generator:{wl.image_tag}"
    assert c["resources"] == {"requests": {"cpu": wl.cpu_request, "memory": wl.memory_request},
                              "limits": {"cpu": wl.cpu_limit, "memory": wl.memory_limit}}
    assert c["ports"] == [{"name": "http", "containerPort": wl.port, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    # A read-only root still needs a scratch directory.
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    # Replicas spread over zones and nodes: one zone or node failure never takes them all.
    spread = pod["topologySpreadConstraints"]
    assert {t["topologyKey"] for t in spread} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    assert all(t["labelSelector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"] for t in spread)


def test_hpa_owns_the_replica_count():
    r = stack_run("dev")
    [dep] = of_type(r, DEPLOY)
    assert dep.ignore_changes == ["spec.replicas"], "otherwise every update resets the HPA's scale"


def test_service_hpa_and_pdb_select_the_story_generator_pods(env_stack, mode):
    r = stack_run(env_stack, mode)
    wl = settings_of(r).kubernetes.story_generator
    dep = one(r, DEPLOY)
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()

    svc = one(r, "kubernetes:core/v1:Service")
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == "http"

    hpa = one(r, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": dep["metadata"]["name"]}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (wl.min_replicas, wl.max_replicas)
    assert {m["resource"]["name"] for m in hpa["spec"]["metrics"]} == {"cpu", "memory"}

    pdb = one(r, "kubernetes:policy/v1:PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1 < wl.min_replicas

    [netpol] = [
        manifest(p) for p in of_type(r, NETPOL)
        if manifest(p)["metadata"]["name"] == "story-generator-traffic"
    ]
    assert netpol["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert netpol["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": wl.port}]
    # story-generator reaches PostgreSQL, Redis and HTTPS (Entra, OpenAI, Key Vault) and nothing else.
    assert {p["port"] for p in netpol["spec"]["egress"][0]["ports"]} == {443, 5432, 10000}


def test_workload_settings_are_per_environment():
    maxima = {s: one(stack_run(s), "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")["spec"]["maxReplicas"]
              for s in ("dev", "staging", "prod")}
    assert maxima == {"dev": 4, "staging": 6, "prod": 10}
