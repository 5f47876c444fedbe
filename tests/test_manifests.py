"""Kubernetes objects of a dry run, written as manifests for checkov and kubernetes-validate."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from mystira_infra import manifests
from mystira_infra.dryrun.mocks import UNKNOWN, Record, Secret
from tests.conftest import stack_run

VERSION = "1.33.0"


def rec(type_: str, name: str, inputs: dict[str, Any], *, custom: bool = True,
        outputs: dict[str, Any] | None = None) -> Record:
    return Record(urn=f"urn:pulumi:dev::mystira-infra::{type_}::{name}", type=type_, name=name, custom=custom,
                  parent="", inputs=inputs, outputs=outputs or {})


def sample_records() -> list[Record]:
    labels = {"app.kubernetes.io/name": "story"}
    return [
        rec("kubernetes:core/v1:Namespace", "ns", {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": "mys-dev"}}),
        rec("kubernetes:apps/v1:Deployment", "story", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "story", "namespace": "mys-dev"},
            "spec": {
                "replicas": 2.0,  # numbers cross the wire as floats
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                    "name": "story", "image": "example.azurecr.io/story:1.0.0",
                    "ports": [{"containerPort": 8080.0}],
                    "env": [{"name": "AI_ENDPOINT", "value": UNKNOWN}],
                }]}},
            },
        }),
        rec("kubernetes:core/v1:Secret", "db", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "mys-dev"},
            "stringData": {"password": Secret("hunter2-very-secret")},
        }),
        # auto-named: no metadata.name in the inputs; the provider reported the name
        rec("kubernetes:core/v1:ConfigMap", "settings",
            {"metadata": {"namespace": "mys-dev"}, "data": {"a": "b"}},
            outputs={"metadata": {"name": "settings-x1y2z3"}}),
        # not Kubernetes objects: skipped
        rec("pulumi:providers:kubernetes", "k8s", {"kubeconfig": Secret("...")}),
        rec("kubernetes:helm.sh/v3:Release", "ingress", {"chart": "ingress-nginx"}),
        rec("kubernetes:yaml/v2:ConfigGroup", "crds", {}, custom=False),
        rec("mystira:k8s:Workload", "story", {}, custom=False),
    ]


@pytest.mark.parametrize("token,expected", [
    ("kubernetes:core/v1:Namespace", ("v1", "Namespace")),
    ("kubernetes:apps/v1:Deployment", ("apps/v1", "Deployment")),
    ("kubernetes:networking.k8s.io/v1:NetworkPolicy", ("networking.k8s.io/v1", "NetworkPolicy")),
    ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", ("autoscaling/v2", "HorizontalPodAutoscaler")),
    ("kubernetes:core/v1:ConfigMapList", None),
    ("kubernetes:apps/v1:DeploymentPatch", None),
    ("kubernetes:helm.sh/v3:Release", None),
    ("kubernetes:yaml/v2:ConfigGroup", None),
])
def test_api_version_and_kind(token, expected):
    assert manifests.api_version_and_kind(token) == expected


def test_writer_writes_one_plain_manifest_per_object(tmp_path):
    files = manifests.write(sample_records(), tmp_path)
    assert [f.name for f in files] == [
        "configmap-mys-dev-settings-x1y2z3.yaml", "deployment-mys-dev-story.yaml",
        "namespace-mys-dev.yaml", "secret-mys-dev-db.yaml"]
    deployment = yaml.safe_load((tmp_path / "deployment-mys-dev-story.yaml").read_text())
    assert list(deployment)[:2] == ["apiVersion", "kind"]
    assert deployment["spec"]["replicas"] == 2 and isinstance(deployment["spec"]["replicas"], int)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["env"][0]["value"] == manifests.UNKNOWN_PLACEHOLDER
    configmap = yaml.safe_load(files[0].read_text())
    assert configmap["metadata"]["name"] == "settings-x1y2z3" and configmap["kind"] == "ConfigMap"


def test_no_secret_value_reaches_a_manifest(tmp_path):
    manifests.write(sample_records(), tmp_path)
    text = "".join(p.read_text() for p in tmp_path.glob("*.yaml"))
    assert "hunter2" not in text
    assert manifests.SECRET_PLACEHOLDER in text


def test_rewrite_removes_stale_manifests(tmp_path):
    (tmp_path / "deployment-mys-dev-gone.yaml").write_text("kind: Deployment\n")
    manifests.write(sample_records()[:1], tmp_path)
    assert [p.name for p in tmp_path.glob("*.yaml")] == ["namespace-mys-dev.yaml"]


def test_hand_built_manifests_pass_kubernetes_validate_strict():
    objs = manifests.manifests(sample_records())
    assert len(objs) == 4
    assert manifests.validate(objs, VERSION) == []


def test_kubernetes_validate_strict_rejects_a_misspelt_field():
    [ns] = manifests.manifests(sample_records()[:1])
    bad = {**ns, "spec": {"finalizer": ["kubernetes"]}}  # the field is `finalizers`
    [error] = manifests.validate([bad], VERSION)
    assert "Namespace" in error and "finalizer" in error


def test_dev_dry_run_kubernetes_objects_are_valid_manifests(tmp_path):
    result = stack_run("dev")
    k8s = [r for r in result.records if r.custom and r.type.startswith("kubernetes:")
           and manifests.api_version_and_kind(r.type)]
    objs = manifests.manifests(result.records)
    assert len(objs) == len(k8s)  # every Kubernetes object the dry run records, none twice
    version = manifests.kubernetes_version(result)
    assert version.count(".") == 2
    assert manifests.validate(objs, version) == []
    files = manifests.write(result.records, tmp_path)
    assert len(files) == len(objs)
