"""The service catalogue: one declared list that drives tier 2 end to end.

A service listed here gets its resource group, managed identity, federated credential, Key Vault,
Application Insights, secrets, role assignments, and Kubernetes service account. Nothing else
spells a service name; add a service by adding one `Service` row (README: "Adding a service").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    key: str  # short name in Azure names and tier-2 RG: mys-{env}-{key}-rg-{region}
    workload: str  # Kubernetes workload and service-account name
    description: str
    database: str | None = None  # PostgreSQL database it reads and writes (Entra role)
    uses_redis: bool = False  # Redis access policy assignment
    uses_service_bus: bool = False  # Service Bus Data Sender + Data Receiver
    uses_openai: bool = False  # Cognitive Services OpenAI User
    uses_entra_admin_apps: bool = False  # tenant id and Admin API / Admin UI client ids
    uses_chain_rpc: bool = False  # chain RPC endpoint


SERVICES: tuple[Service, ...] = (
    Service("chain", "chain", "Chain indexer and RPC gateway"),
    Service("publisher", "publisher", "Publishes stories; consumes and emits events",
            uses_service_bus=True, uses_chain_rpc=True),
    Service("story", "story-generator", "Generates interactive stories",
            database="storygenerator", uses_redis=True, uses_openai=True),
    Service("admin", "admin-api", "Admin API and UI back end",
            database="adminapi", uses_redis=True, uses_entra_admin_apps=True),
    Service("app", "app", "Consumer app back end"),
)

# Databases on the shared PostgreSQL server (the seed system's three).
DATABASES: tuple[str, ...] = ("storygenerator", "publisher", "adminapi")


def by_key(key: str) -> Service:
    for s in SERVICES:
        if s.key == key:
            return s
    raise KeyError(f"no service '{key}' in the catalogue")


def namespace(env: str) -> str:
    """The one Kubernetes namespace the environment's workloads run in."""
    return f"mys-{env}"


def workload_identity_subject(namespace_name: str, service_account: str) -> str:
    """The OIDC subject AKS issues for a pod's service account token."""
    return f"system:serviceaccount:{namespace_name}:{service_account}"
