"""The Kubernetes layer of an environment: its namespace, guard rails and service accounts.

- `noninteractive_kubeconfig`: AKS with local accounts off hands out a kubelogin exec kubeconfig
  in device-code mode (a person at a browser). CI has no person: the exec args are rewritten to a
  non-interactive login, the way `kubelogin convert-kubeconfig -l <mode>` does it.
- `AppNamespace`: the namespace (Pod Security "restricted" enforced), a default-deny
  NetworkPolicy (plus DNS egress), a ResourceQuota, a LimitRange, and one ServiceAccount per
  service, annotated with its managed identity's client id for workload identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import pulumi
import pulumi_kubernetes as k8s
import yaml

# `spec=cast(...ArgsDict, {...})` below: the specs use Kubernetes' camelCase keys, which the provider
# accepts; the SDK's generated *ArgsDict types only list the snake_case spelling.

# kubelogin login modes that need no person and no secret in the kubeconfig:
# - azurecli: reuse the `az login` session (CI logs in with OIDC federation: azure/login);
# - workloadidentity: read the federated token file (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID,
#   AZURE_TENANT_ID), e.g. when the deploy runs inside a Kubernetes pod.
LOGIN_MODES = ("azurecli", "workloadidentity")
DEFAULT_LOGIN_MODE = "azurecli"


def login_mode(environ: Mapping[str, str]) -> str:
    """The kubelogin mode for this process: `MYSTIRA_KUBELOGIN_MODE` when set, `workloadidentity`
    when a federated token file is present, else `azurecli`."""
    explicit = environ.get("MYSTIRA_KUBELOGIN_MODE", "").strip()
    if explicit:
        if explicit not in LOGIN_MODES:
            raise ValueError(f"MYSTIRA_KUBELOGIN_MODE='{explicit}': expected one of {', '.join(LOGIN_MODES)}")
        return explicit
    return "workloadidentity" if environ.get("AZURE_FEDERATED_TOKEN_FILE") else DEFAULT_LOGIN_MODE


def _arg(args: list[str], flag: str) -> str | None:
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def noninteractive_kubeconfig(kubeconfig: str, mode: str = DEFAULT_LOGIN_MODE) -> str:
    """Rewrite every kubelogin exec user of `kubeconfig` (YAML or JSON text) to `mode`.

    Keeps only `--server-id` (the AKS AAD server app every mode needs); drops the device-code
    client id, tenant and environment, which the non-interactive modes take from the `az` session
    or the AZURE_* environment (as `kubelogin convert-kubeconfig` does). Raises ValueError if the
    kubeconfig has no kubelogin user or a user lacks `--server-id`.
    """
    if mode not in LOGIN_MODES:
        raise ValueError(f"unsupported kubelogin mode '{mode}'; expected one of {', '.join(LOGIN_MODES)}")
    doc = yaml.safe_load(kubeconfig)
    if not isinstance(doc, dict):
        raise ValueError("not a kubeconfig document")
    converted = 0
    for user in doc.get("users") or []:
        exec_ = (user.get("user") or {}).get("exec")
        if not exec_ or "kubelogin" not in str(exec_.get("command", "")).lower():
            continue
        server_id = _arg(list(exec_.get("args") or []), "--server-id")
        if not server_id:
            raise ValueError(f"kubeconfig user '{user.get('name')}': kubelogin args have no --server-id")
        exec_["args"] = ["get-token", "--login", mode, "--server-id", server_id]
        exec_["interactiveMode"] = "Never"  # fail fast instead of waiting for a browser in CI
        converted += 1
    if not converted:
        raise ValueError("kubeconfig has no kubelogin exec user to convert")
    return yaml.safe_dump(doc, sort_keys=False)


@dataclass(frozen=True)
class NamespaceQuota:
    requests_cpu: str
    requests_memory: str
    limits_cpu: str
    limits_memory: str
    pods: int
    default_cpu_request: str
    default_memory_request: str
    default_cpu_limit: str
    default_memory_limit: str


@dataclass(frozen=True)
class AppNamespaceArgs:
    namespace: str  # services.namespace(env): the one source of the namespace name
    environment: str
    kubernetes_version: str  # pins the Pod Security Standards version
    quota: NamespaceQuota
    # Service-account name -> client id of the managed identity it federates with.
    service_accounts: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


class AppNamespace(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    service_account_names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: AppNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:kubernetes:AppNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {
            "app.kubernetes.io/part-of": "mystira",
            "app.kubernetes.io/managed-by": "pulumi",
            "mystira.app/environment": args.environment,
            **dict(args.labels),
            # Pod Security Standards: reject pods that run as root, escalate, or keep capabilities.
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": f"v{args.kubernetes_version}",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        }
        ns = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={"name": args.namespace, "labels": labels},
            opts=child,
        )
        ns_name = ns.metadata.apply(lambda m: m["name"])
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])

        # Zero trust inside the cluster: nothing in or out unless a workload's own policy allows it.
        self.default_deny = k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata={"name": "default-deny-all", "namespace": args.namespace},
            spec=cast(
                k8s.networking.v1.NetworkPolicySpecArgsDict,
                {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            ),
            opts=in_ns,
        )
        # ...except name resolution, which every pod needs (CoreDNS in kube-system).
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-dns",
            metadata={"name": "allow-dns-egress", "namespace": args.namespace},
            spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{
                    "to": [{
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }],
            }),
            opts=in_ns,
        )
        q = args.quota
        # A ceiling per environment, so one runaway workload can't starve the cluster.
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata={"name": "compute", "namespace": args.namespace},
            spec={"hard": {
                "requests.cpu": q.requests_cpu, "requests.memory": q.requests_memory,
                "limits.cpu": q.limits_cpu, "limits.memory": q.limits_memory, "pods": str(q.pods),
            }},
            opts=in_ns,
        )
        # Defaults for containers that don't say (a quota rejects pods without requests/limits).
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata={"name": "container-defaults", "namespace": args.namespace},
            spec=cast(k8s.core.v1.LimitRangeSpecArgsDict, {"limits": [{
                "type": "Container",
                "defaultRequest": {"cpu": q.default_cpu_request, "memory": q.default_memory_request},
                "default": {"cpu": q.default_cpu_limit, "memory": q.default_memory_limit},
            }]}),
            opts=in_ns,
        )

        self.service_accounts: dict[str, k8s.core.v1.ServiceAccount] = {}
        for sa_name, client_id in args.service_accounts.items():
            self.service_accounts[sa_name] = k8s.core.v1.ServiceAccount(
                f"{name}-sa-{sa_name}",
                metadata={
                    "name": sa_name,
                    "namespace": args.namespace,
                    "labels": {"app.kubernetes.io/name": sa_name, "app.kubernetes.io/part-of": "mystira"},
                    # Workload identity: the webhook gives pods of this account Entra tokens of this identity.
                    "annotations": {"azure.workload.identity/client-id": client_id},
                },
                # No Kubernetes API token in pods: they talk to Azure, not to the API server.
                automount_service_account_token=False,
                opts=in_ns,
            )

        self.ns = ns
        self.namespace = ns_name
        self.service_account_names = {
            k: sa.metadata.apply(lambda m: m["name"]) for k, sa in self.service_accounts.items()
        }
        self.register_outputs(
            {"namespace": self.namespace, "service_account_names": self.service_account_names}
        )
