"""The cross-cutting interfaces every Azure component offers, written once (the AVM idea).

- `diagnostics`: one diagnostic setting to Log Analytics, category group `allLogs` + `AllMetrics`
  (or an explicit category list where a baseline asks for one, e.g. AKS).
- `lock`: a CanNotDelete management lock (on in prod for anything holding data).
- `private_endpoint`: a private endpoint in the private-endpoint subnet plus its DNS zone group,
  so the service's FQDN resolves to the private address inside the VNet.
- `role_assignment`: deterministic name, `principal_type` set, subscription-qualified role id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, monitor, network

# Built-in role definition GUIDs (identical in every tenant). Data-plane roles first: those are the
# ones that really grant data access (DESIGN.md section 4, defect 2).
ROLES: dict[str, str] = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "Azure Service Bus Data Sender": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
    "Azure Service Bus Data Receiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Azure Kubernetes Service RBAC Cluster Admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
    "Azure Kubernetes Service Cluster User Role": "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
    "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
    "Private DNS Zone Contributor": "b12aa53e-6015-4669-85d0-8515ebb3ae7f",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
}

# Roles a workload identity must never hold (policy identity-no-privileged-workload-roles).
PRIVILEGED_ROLES = frozenset({ROLES["Owner"], ROLES["Contributor"], ROLES["User Access Administrator"]})


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    """Subscription-qualified id: the form Azure stores, so it never shows as a diff."""
    guid = ROLES[role]
    return pulumi.Output.from_input(subscription_id).apply(
        lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    )


def assignment_name(scope: str, role: str, principal_id: str) -> str:
    """Deterministic GUID (uuid5 of scope, role and principal): re-runs never hit RoleAssignmentExists."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope.lower()}|{ROLES[role]}|{principal_id.lower()}"))


def role_assignment(
    name: str,
    *,
    scope: pulumi.Input[str],
    role: str,
    principal_id: pulumi.Input[str],
    principal_type: str,
    subscription_id: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
    condition: str | None = None,
    custom_role_id: pulumi.Input[str] | None = None,
) -> authorization.RoleAssignment:
    """`condition`: an ABAC condition (version 2.0) narrowing the role. `custom_role_id`: the full id
    of a custom role definition, for roles not in `ROLES` (`role` then only names it)."""
    if principal_type not in ("ServicePrincipal", "Group", "User"):
        raise ValueError(f"{name}: principal_type must be ServicePrincipal, Group or User")
    if custom_role_id is None:
        role_id: pulumi.Input[str] = role_definition_id(subscription_id, role)
        assignment = pulumi.Output.all(scope, principal_id).apply(lambda a: assignment_name(a[0], role, a[1]))
    else:
        role_id = custom_role_id
        assignment = pulumi.Output.all(scope, principal_id, custom_role_id).apply(
            lambda a: str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"{a[0].lower()}|{a[2].rsplit('/', 1)[-1]}|{a[1].lower()}")
            )
        )
    return authorization.RoleAssignment(
        name,
        scope=scope,
        role_assignment_name=assignment,
        role_definition_id=role_id,
        principal_id=principal_id,
        # Without a type the SDK sends "User", and Azure rejects a managed identity
        # (UnmatchedPrincipalType); with it, new identities also skip PrincipalNotFound retries.
        principal_type=principal_type,
        condition=condition,
        condition_version="2.0" if condition else None,
        description=f"{role} for {name} (mystira-infra)",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )


def diagnostics(
    name: str,
    *,
    resource_id: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    parent: pulumi.Resource,
    log_categories: Sequence[str] | None = None,
    metrics: bool = True,
) -> monitor.DiagnosticSetting:
    """Send a resource's logs and metrics to Log Analytics (resource-specific tables)."""
    logs: list[monitor.DiagnosticsLogSettingsArgsDict]
    if log_categories is None:
        logs = [{"category_group": "allLogs", "enabled": True}]
    else:
        logs = [{"category": c, "enabled": True} for c in log_categories]
    return monitor.DiagnosticSetting(
        f"{name}-diag",
        name="to-log-analytics",
        resource_uri=resource_id,
        workspace_id=workspace_id,
        log_analytics_destination_type="Dedicated",
        logs=logs,
        metrics=[{"category": "AllMetrics", "enabled": True}] if metrics else None,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def lock(
    name: str, *, scope: pulumi.Input[str], parent: pulumi.Resource, reason: str
) -> authorization.ManagementLockByScope:
    """CanNotDelete: reads and updates still work; a delete needs the lock removed first, on purpose."""
    return authorization.ManagementLockByScope(
        f"{name}-lock",
        scope=scope,
        lock_name="mys-cannot-delete",
        level="CanNotDelete",
        notes=reason,
        opts=pulumi.ResourceOptions(parent=parent),
    )


# The argument types of the interfaces, declared once. Every component that owns an Azure resource
# takes them under the same field names: `tags`, `diagnostics`, `lock`, `private_endpoint`,
# `role_assignments` (the common types of Azure Verified Modules, in Python).


@dataclass(frozen=True)
class Lock:
    """A CanNotDelete lock on the component's main resource. Off by default; stacks turn it on in
    prod (settings.is_prod) for anything that holds data or that other environments depend on."""

    enabled: bool = False
    reason: str = "Remove the lock on purpose before deleting."


NO_LOCK = Lock()


@dataclass(frozen=True)
class Diagnostics:
    """Where the component's diagnostic setting sends logs and metrics. `log_categories=None` means
    the evergreen category group `allLogs`; a list names categories where a baseline asks for them."""

    workspace_id: pulumi.Input[str]
    log_categories: Sequence[str] | None = None
    metrics: bool = True


@dataclass(frozen=True)
class RoleGrant:
    """A data-plane (or control-plane) grant on the component's main resource. `key` names the child
    resource (`{name}-{key}`), so two grants on one component never collide."""

    key: str
    principal_id: pulumi.Input[str]
    role: str
    principal_type: str = "ServicePrincipal"


@dataclass(frozen=True)
class PrivateEndpoint:
    """Where a component puts its private endpoint: the subnet and the zone its FQDN lives in."""

    subnet_id: pulumi.Input[str]
    dns_zone_id: pulumi.Input[str]


# The name the components used before the interface types were declared together.
PrivateEndpointTarget = PrivateEndpoint


def private_endpoint(
    name: str,
    *,
    resource_id: pulumi.Input[str],
    group_id: str,
    target: PrivateEndpointTarget,
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> network.PrivateEndpoint:
    pe = network.PrivateEndpoint(
        f"{name}-pe",
        resource_group_name=resource_group_name,
        location=location,
        subnet={"id": target.subnet_id},
        private_link_service_connections=[
            {"name": f"{name}-plsc", "private_link_service_id": resource_id, "group_ids": [group_id]}
        ],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    # The zone group writes the A record into the linked private DNS zone and keeps it current.
    network.PrivateDnsZoneGroup(
        f"{name}-pe-dns",
        resource_group_name=resource_group_name,
        private_endpoint_name=pe.name,
        private_dns_zone_group_name="default",
        private_dns_zone_configs=[{"name": group_id, "private_dns_zone_id": target.dns_zone_id}],
        opts=pulumi.ResourceOptions(parent=pe),
    )
    return pe


def apply_diagnostics(
    name: str, *, resource_id: pulumi.Input[str], spec: Diagnostics | None, parent: pulumi.Resource
) -> monitor.DiagnosticSetting | None:
    """The `diagnostics` interface: one setting when the stack gives a workspace, none otherwise."""
    if spec is None:
        return None
    return diagnostics(
        name,
        resource_id=resource_id,
        workspace_id=spec.workspace_id,
        parent=parent,
        log_categories=spec.log_categories,
        metrics=spec.metrics,
    )


def apply_lock(
    name: str, *, scope: pulumi.Input[str], spec: Lock, parent: pulumi.Resource
) -> authorization.ManagementLockByScope | None:
    """The `lock` interface: a CanNotDelete lock when enabled."""
    return lock(name, scope=scope, parent=parent, reason=spec.reason) if spec.enabled else None


def apply_role_grants(
    name: str,
    *,
    scope: pulumi.Input[str],
    grants: Sequence[RoleGrant],
    subscription_id: pulumi.Input[str],
    parent: pulumi.Resource,
) -> list[authorization.RoleAssignment]:
    """The `role_assignments` interface: one RBAC assignment per grant, on the component's resource."""
    return [
        role_assignment(
            f"{name}-{g.key}",
            scope=scope,
            role=g.role,
            principal_id=g.principal_id,
            principal_type=g.principal_type,
            subscription_id=subscription_id,
            parent=parent,
        )
        for g in grants
    ]
