"""The shared stack (tier 3, cross-environment): registry, email, state backend, CI identities.

Everything here outlives any one environment, so it lives in its own stack with its own resource
groups (`mys-shared-*`). Environment stacks read its outputs through a StackReference; the keys
are the contract in `mystira_infra/shared_outputs.py`, and the stack exports exactly those.

CI deploy identities (docs/shared-and-bootstrap.md, "CI identities"):

- one per environment in `github.environments`, trusted for `repo:<owner>/<repo>:environment:<env>`
  only. It holds what `pulumi up` of that environment needs: Contributor on the subscription (its
  resource groups don't exist before its first `up`), Role Based Access Control Administrator
  constrained by an ABAC condition to the roles the program assigns and to service principals and
  groups, a custom role for management locks and registry private-endpoint approval (Contributor
  may do neither), AcrPush on the registry (the build pipeline), blob access to the state
  container, and Crypto User on the secrets key;
- one for pull-request previews, trusted for `repo:<owner>/<repo>:pull_request`: Reader, blob reads
  of the state (writes only under `.pulumi/locks/`), Crypto User on the secrets key.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pulumi
import pulumi_azuread as azuread
from pulumi_azure_native import authorization

from components.deploy_identity import (
    DEPLOY_EXTRA_ACTIONS,
    GRAPH_APPLICATION_READWRITE_OWNEDBY,
    MS_GRAPH_APP_ID,
    STATE_USER_ACTIONS,
    STATE_USER_DATA_ACTIONS,
    DeployIdentity,
    DeployIdentityArgs,
    Grant,
    delegable_roles,
    environment_subject,
    locks_only_write_condition,
    pull_request_subject,
    rbac_admin_condition,
)
from components.email import Email, EmailArgs
from components.registry import ContainerRegistry, ContainerRegistryArgs
from components.resource_group import ResourceGroup, ResourceGroupArgs
from components.shared_logs import SharedLogs, SharedLogsArgs
from components.state_backend import (
    SecretsKey,
    SecretsKeyArgs,
    StateBackend,
    StateBackendArgs,
    secrets_provider_url,
)
from mystira_infra import shared_outputs, tags
from mystira_infra.settings import PROJECT, Settings


def build(settings: Settings) -> None:
    assert settings.github is not None
    namer = settings.names()
    client = authorization.get_client_config_output()
    subscription_id = client.subscription_id
    subscription_scope = subscription_id.apply(lambda s: f"/subscriptions/{s}")
    repo = settings.github.repository

    def tagged(component: str) -> dict[str, str]:
        return tags.tags("shared", settings.cost_center, component=component)

    platform_rg = ResourceGroup(
        "platform",
        ResourceGroupArgs(
            name=namer("resource_group", "platform"),
            location=settings.region,
            tags=tagged("shared-platform"),
            tier=3,
            lock=True,  # holds the registry and email of every environment
        ),
    )
    state_rg = ResourceGroup(
        "state",
        ResourceGroupArgs(
            name=namer("resource_group", "state"),
            location=settings.region,
            tags=tagged("pulumi-state"),
            tier=3,
            lock=True,  # holds every stack's state and the key to its secrets
        ),
    )

    logs = SharedLogs(
        "logs",
        SharedLogsArgs(
            name=namer("log_analytics", "platform"),
            resource_group_name=platform_rg.name,
            location=settings.region,
            tags=tagged("monitoring"),
        ),
    )

    # protect: a `pulumi destroy` or an accidental replacement must never take these with it.
    protected = pulumi.ResourceOptions(protect=True)
    registry = ContainerRegistry(
        "registry",
        ContainerRegistryArgs(
            name=namer("registry", "platform"),
            resource_group_name=platform_rg.name,
            location=settings.region,
            tags=tagged("registry"),
            retention_days=settings.registry.retention_days,
            push_ip_ranges=settings.registry.push_ip_ranges,
            sku=settings.registry.sku,
            workspace_id=logs.workspace_id,
        ),
        opts=protected,
    )
    email = Email(
        "email",
        EmailArgs(
            communication_name=namer("communication", "platform"),
            email_service_name=namer("email", "platform"),
            resource_group_name=platform_rg.name,
            data_location=settings.email.data_location,
            tags=tagged("email"),
            workspace_id=logs.workspace_id,
        ),
    )
    state = StateBackend(
        "state",
        StateBackendArgs(
            account_name=namer("storage", "state"),
            resource_group_name=state_rg.name,
            location=settings.region,
            tags=tagged("pulumi-state"),
            workspace_id=logs.workspace_id,
        ),
        opts=protected,
    )
    vault_name = namer("key_vault", "platform")  # named in every Pulumi.<stack>.yaml secretsprovider
    secrets = SecretsKey(
        "secrets",
        SecretsKeyArgs(
            vault_name=vault_name,
            resource_group_name=state_rg.name,
            location=settings.region,
            tenant_id=client.tenant_id,
            tags=tagged("pulumi-secrets"),
            workspace_id=logs.workspace_id,
        ),
        opts=protected,
    )

    def custom_role(
        resource: str,
        key: str,
        role_name: str,
        description: str,
        actions: Sequence[str],
        data_actions: Sequence[str] = (),
    ) -> authorization.RoleDefinition:
        """A subscription-scoped custom role; its id is uuid5 of the project and `key`, so it is
        stable across rebuilds and never collides with a namesake from another stack."""
        return authorization.RoleDefinition(
            resource,
            role_definition_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{PROJECT}|{key}")),
            role_name=role_name,
            description=description,
            role_type="CustomRole",
            scope=subscription_scope,
            assignable_scopes=[subscription_scope],
            permissions=[
                {
                    "actions": list(actions),
                    "not_actions": [],
                    "data_actions": list(data_actions),
                    "not_data_actions": [],
                }
            ],
        )

    # Custom role for what Contributor can't do (locks, registry private-endpoint approval).
    extras_role = custom_role(
        "deploy-extras-role",
        "deploy-extras",
        "Mystira infra deployer extras",
        "Management locks (read, write; no delete) and registry private-endpoint approval "
        "for the CI deploy identities (mystira-infra).",
        DEPLOY_EXTRA_ACTIONS,
    )
    state_role = custom_role(
        "state-user-role",
        "state-user",
        "Mystira infra state user",
        "Read and write Pulumi state blobs; no container delete, no SAS keys (mystira-infra).",
        STATE_USER_ACTIONS,
        STATE_USER_DATA_ACTIONS,
    )

    graph = azuread.get_service_principal_output(client_id=MS_GRAPH_APP_ID)
    owners = [client.object_id]  # the operator who runs the shared stack manages the apps
    rbac_condition = rbac_admin_condition(tuple(delegable_roles().values()))

    deployers: dict[str, DeployIdentity] = {}
    for env in settings.github.environments:
        deployer = DeployIdentity(
            f"deploy-{env}",
            DeployIdentityArgs(
                display_name=f"{PROJECT}-deploy-{env}",
                description=f"GitHub Actions deploys of the {env} stack ({repo}, environment {env}).",
                subjects=(environment_subject(repo, env),),
                subscription_id=subscription_id,
                owners=owners,
                grants=(
                    # Its resource groups don't exist before its first `up`: subscription scope.
                    Grant("contributor", subscription_scope, "Contributor"),
                    Grant(
                        "rbac-admin",
                        subscription_scope,
                        "Role Based Access Control Administrator",
                        condition=rbac_condition,
                    ),
                    Grant(
                        "extras",
                        subscription_scope,
                        "Mystira infra deployer extras",
                        custom_role_id=extras_role.id,
                    ),
                    Grant("acr-push", registry.id, "AcrPush"),  # the environment's build pipeline
                    Grant(
                        "state", state.container_id, "Mystira infra state user", custom_role_id=state_role.id
                    ),
                    Grant("secrets", secrets.key_id, "Key Vault Crypto User"),
                ),
            ),
        )
        azuread.AppRoleAssignment(
            f"deploy-{env}-graph",
            app_role_id=GRAPH_APPLICATION_READWRITE_OWNEDBY,
            principal_object_id=deployer.principal_id,
            resource_object_id=graph.object_id,
            opts=pulumi.ResourceOptions(parent=deployer),
        )
        deployers[env] = deployer

    preview = DeployIdentity(
        "preview",
        DeployIdentityArgs(
            display_name=f"{PROJECT}-preview",
            description=f"GitHub Actions pull-request previews and drift checks of every stack ({repo}).",
            # Pull requests, and the scheduled drift check (it runs in the `drift` GitHub
            # environment, see .github/workflows/drift.yml): both only read.
            subjects=(pull_request_subject(repo), environment_subject(repo, "drift")),
            subscription_id=subscription_id,
            owners=owners,
            grants=(
                Grant("reader", subscription_scope, "Reader"),
                # Reads state; writes only the lock a preview takes.
                Grant(
                    "state",
                    state.container_id,
                    "Mystira infra state user",
                    custom_role_id=state_role.id,
                    condition=locks_only_write_condition(),
                ),
                Grant("secrets", secrets.key_id, "Key Vault Crypto User"),  # decrypts config secrets
            ),
        ),
    )

    exports: dict[str, pulumi.Input] = {
        "platformResourceGroup": platform_rg.name,
        "stateResourceGroup": state_rg.name,
        "registryId": registry.id,
        "registryName": registry.name,
        "registryLoginServer": registry.login_server,
        "communicationServiceId": email.communication_service_id,
        "emailEndpoint": email.endpoint,
        "emailSenderDomain": email.sender_domain,
        "emailSenderAddress": email.sender_address,
        "stateStorageAccount": state.account_name,
        "stateBackendUrl": state.account_name.apply(lambda a: f"azblob://state?storage_account={a}"),
        "secretsProvider": secrets_provider_url(vault_name),
        "secretsKeyId": secrets.key_id,
        "tenantId": client.tenant_id,
        "subscriptionId": subscription_id,
        "deployClientIds": {env: d.client_id for env, d in deployers.items()},
        "previewClientId": preview.client_id,
    }
    missing = set(shared_outputs.SHARED_OUTPUTS) ^ set(exports)
    if missing:
        raise pulumi.RunError(
            f"shared stack exports and mystira_infra/shared_outputs.py disagree on: {sorted(missing)}"
        )
    for key, value in exports.items():
        pulumi.export(key, value)
