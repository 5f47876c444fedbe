"""Workload identity end to end: managed identity -> federated credential -> service account.

Seed defect 1: the seed system's subjects named namespace `mystira` while its workloads ran in
`mys-{env}`, so no pod ever got a token. Here the subject is checked against the namespace and
service account objects actually created in the Kubernetes layer.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from mystira_infra import services
from mystira_infra.services import SERVICES
from tests.conftest import build_stack, stack_run
from tests.helpers import children, depends_on, inputs, is_unknown, of_type

FIC = "azure-native:managedidentity:FederatedIdentityCredential"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"


def created_service_accounts(result) -> dict[str, tuple[str, str, str]]:
    """SA name -> (namespace, name, client-id annotation), from the recorded Kubernetes objects."""
    [ns] = of_type(result, "kubernetes:core/v1:Namespace")
    namespaces = {inputs(ns)["metadata"]["name"]}
    out = {}
    for sa in of_type(result, "kubernetes:core/v1:ServiceAccount"):
        meta = inputs(sa)["metadata"]
        assert meta["namespace"] in namespaces, "every service account lives in a namespace we create"
        # Pods talk to Azure with Entra tokens, never to the API server with the account's token.
        assert inputs(sa)["automountServiceAccountToken"] is False
        out[meta["name"]] = (
            meta["namespace"], meta["name"], meta["annotations"]["azure.workload.identity/client-id"]
        )
    return out


def fic_of(result, svc) -> list:
    fed = result.one("mystira:identity:WorkloadFederation", f"{svc.key}-federation")
    return [r for r in children(result, fed) if r.type == FIC]


def test_subject_equals_the_namespace_and_service_account_created(env_stack, mode):
    r = stack_run(env_stack, mode)
    sas = created_service_accounts(r)
    for svc in SERVICES:
        namespace, name, _ = sas[svc.workload]
        [fic] = fic_of(r, svc)
        assert inputs(fic)["subject"] == f"system:serviceaccount:{namespace}:{name}"
        assert namespace == services.namespace(env_stack) == f"mys-{env_stack}"
        assert namespace != "mystira", "seed defect 1: the seed system's subjects named 'mystira'"


def test_federated_credential_trusts_the_cluster_issuer_for_token_exchange(env_stack):
    r = stack_run(env_stack, "update")
    issuer = r.one("azure-native:containerservice:ManagedCluster").outputs["oidcIssuerProfile"]["issuerURL"]
    assert issuer.startswith("https://")
    for svc in SERVICES:
        [fic] = fic_of(r, svc)
        got = inputs(fic)
        ident = r.one(UAMI, f"{svc.key}-id")
        assert got["issuer"] == issuer
        assert got["audiences"] == ["api://AzureADTokenExchange"]
        assert got["resourceName"] == inputs(ident)["resourceName"], (
            "credential sits on the service's own identity"
        )
        assert got["resourceGroupName"] == inputs(ident)["resourceGroupName"]
        assert got["federatedIdentityCredentialResourceName"] == f"mys-{env_stack}-{svc.key}-fic-san"


def test_issuer_is_unknown_until_the_cluster_exists_in_preview(env_stack):
    r = stack_run(env_stack, "preview")
    cluster = r.one("azure-native:containerservice:ManagedCluster")
    for svc in SERVICES:
        [fic] = fic_of(r, svc)
        assert is_unknown(inputs(fic)["issuer"])
        assert cluster.urn in fic.property_dependencies["issuer"]


def test_service_account_carries_its_own_identity_client_id(env_stack):
    r = stack_run(env_stack, "update")
    sas = created_service_accounts(r)
    assert set(sas) == {svc.workload for svc in SERVICES}
    client_ids = set()
    for svc in SERVICES:
        ident = r.one(UAMI, f"{svc.key}-id")
        assert sas[svc.workload][2] == ident.outputs["clientId"]
        client_ids.add(ident.outputs["clientId"])
    assert len(client_ids) == len(SERVICES), "no two services share an identity"


def test_story_generator_pods_run_as_the_federated_service_account(env_stack, mode):
    r = stack_run(env_stack, mode)
    story = services.by_key("story")
    dep = inputs(r.one("kubernetes:apps/v1:Deployment"))
    pod = dep["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    namespace, name, _ = created_service_accounts(r)[story.workload]
    assert (dep["metadata"]["namespace"], pod["spec"]["serviceAccountName"]) == (namespace, name)
    [fic] = fic_of(r, story)
    assert inputs(fic)["subject"] == (
        f"system:serviceaccount:{dep['metadata']['namespace']}:{pod['spec']['serviceAccountName']}"
    )


MINI_PROGRAM = dedent("""
    import pulumi
    from components.identity import FederatedSubject, WorkloadFederation, WorkloadFederationArgs

    WorkloadFederation("many", WorkloadFederationArgs(
        identity_name="mys-dev-story-id-san",
        resource_group_name="mys-dev-story-rg-san",
        issuer="https://southafricanorth.oic.prod-aks.azure.com/t/c/",
        subjects=tuple(FederatedSubject(f"fic-{i}", f"system:serviceaccount:ns{i}:sa") for i in range(4)),
    ))
""")


def test_federated_credentials_on_one_identity_are_written_one_after_another(tmp_path: Path):
    """Azure rejects concurrent credential writes on one identity
    (ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity)."""
    (tmp_path / "Pulumi.yaml").write_text("name: fic-chain\nruntime: python\n")
    (tmp_path / "Pulumi.test.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(MINI_PROGRAM)
    r = build_stack("test", directory=tmp_path)  # `components` imports from the repo root (rootdir)
    assert r.ok, r.error
    fics = of_type(r, FIC)
    assert [inputs(f)["federatedIdentityCredentialResourceName"] for f in fics] == [
        f"fic-{i}" for i in range(4)
    ]
    assert not fics[0].dependencies or all(f.type != FIC for f in map(r.get, fics[0].dependencies))
    for before, after in zip(fics, fics[1:], strict=False):
        assert depends_on(after, before), f"{after.name} must wait for {before.name}"

