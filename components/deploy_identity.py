"""A CI deploy identity: an Entra application trusted by exact GitHub Actions OIDC subjects, its
service principal, and the role assignments it holds (tier 3).

GitHub signs a token whose `sub` is `repo:<owner>/<repo>:environment:<env>` for a job that runs in
a GitHub environment, and `repo:<owner>/<repo>:pull_request` for a pull-request job. Each subject
is one federated credential, written out in full: Entra matches subjects exactly, and a wildcard
would trust every branch and fork workflow.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_azuread as azuread

from components import interfaces

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"

_REPO = r"[\w.-]+/[\w.-]+"


def environment_subject(repository: str, environment: str) -> str:
    return f"repo:{repository}:environment:{environment}"


def pull_request_subject(repository: str) -> str:
    return f"repo:{repository}:pull_request"


def check_subject(subject: str) -> str:
    """Exact subjects only: no wildcards, and one of the two shapes above."""
    if "*" in subject or "?" in subject:
        raise ValueError(f"'{subject}': federated subjects are matched exactly; wildcards are not allowed")
    if not re.fullmatch(rf"repo:{_REPO}:(environment:[\w.-]+|pull_request)", subject):
        raise ValueError(f"'{subject}' is not a GitHub environment or pull_request subject")
    return subject


# Roles the deploy identities may hand out: every role the program assigns (interfaces.ROLES),
# except the privileged ones, delegation itself, and AcrPush (only the build pipeline pushes).
NOT_DELEGABLE = frozenset(
    {
        "Owner",
        "Contributor",
        "User Access Administrator",
        "Role Based Access Control Administrator",
        "AcrPush",
    }
)
DELEGABLE_PRINCIPAL_TYPES = ("ServicePrincipal", "Group")

# Microsoft Graph and its application permission Application.ReadWrite.OwnedBy (same in every
# tenant): lets an environment's identity create the Entra apps of that environment and manage
# only the apps it owns.
MS_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_APPLICATION_READWRITE_OWNEDBY = "18a4783c-866b-4cc7-a460-3d5e5662c884"

# What Contributor can't do but an environment's `pulumi up` needs.
DEPLOY_EXTRA_ACTIONS = (
    "Microsoft.Authorization/locks/read",
    "Microsoft.Authorization/locks/write",  # prod locks; deleting a lock stays a human decision
    # Auto-approve the environment's private endpoint to the shared registry.
    "Microsoft.ContainerRegistry/registries/privateEndpointConnectionsApproval/action",
)

# The state container's custom role: Storage Blob Data Contributor without its control-plane
# container write/delete (a CI identity must never be able to delete the state container; a lock
# on the account doesn't stop a data-plane delete), and without user-delegation SAS keys.
STATE_USER_ACTIONS = ("Microsoft.Storage/storageAccounts/blobServices/containers/read",)
STATE_USER_DATA_ACTIONS = (
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
)

BLOB_WRITE_ACTIONS = (
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
)
LOCKS_PREFIX = ".pulumi/locks/"


def delegable_roles() -> dict[str, str]:
    """Role name -> GUID of the roles an environment deploy identity may assign."""
    return {
        name: guid
        for name, guid in interfaces.ROLES.items()
        if name not in NOT_DELEGABLE and guid not in interfaces.PRIVILEGED_ROLES
    }


def rbac_admin_condition(
    role_guids: list[str] | tuple[str, ...], principal_types: tuple[str, ...] = DELEGABLE_PRINCIPAL_TYPES
) -> str:
    """ABAC condition (version 2.0) for 'Role Based Access Control Administrator': create and delete
    only assignments of `role_guids`, only to `principal_types`."""
    guids = ", ".join(sorted(role_guids))
    types = ", ".join(f"'{t}'" for t in principal_types)

    def clause(action: str, source: str) -> str:
        return (
            f"((!(ActionMatches{{'Microsoft.Authorization/roleAssignments/{action}'}})) OR "
            f"(@{source}[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
            f"ForAnyOfAnyValues:GuidEquals {{{guids}}} "
            f"AND @{source}[Microsoft.Authorization/roleAssignments:PrincipalType] "
            f"ForAnyOfAnyValues:StringEqualsIgnoreCase {{{types}}}))"
        )

    return f"{clause('write', 'Request')} AND {clause('delete', 'Resource')}"


def locks_only_write_condition() -> str:
    """ABAC condition for the state role: reads anywhere, writes and deletes only lock files."""
    not_writes = " AND ".join(f"!(ActionMatches{{'{a}'}})" for a in BLOB_WRITE_ACTIONS)
    return (
        f"(({not_writes}) OR "
        f"(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] "
        f"StringLike '{LOCKS_PREFIX}*'))"
    )


@dataclass(frozen=True)
class Grant:
    """One role assignment of the identity."""

    key: str  # short logical name, e.g. "contributor"
    scope: pulumi.Input[str]
    role: str  # a key of interfaces.ROLES, or a custom role's display name with custom_role_id
    condition: str | None = None  # ABAC condition (version 2.0)
    custom_role_id: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class DeployIdentityArgs:
    display_name: str  # e.g. "mystira-infra-deploy-dev"
    description: str
    subjects: Sequence[str]  # exact GitHub OIDC subjects
    subscription_id: pulumi.Input[str]
    grants: Sequence[Grant] = field(default_factory=tuple)
    owners: Sequence[pulumi.Input[str]] = field(default_factory=tuple)  # object ids that may manage the app


class DeployIdentity(pulumi.ComponentResource):
    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    application_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: DeployIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mystira:shared:DeployIdentity", name, None, opts)
        if not args.subjects:
            raise ValueError(f"{name}: a deploy identity needs at least one federated subject")
        subjects = [check_subject(s) for s in args.subjects]
        if len(set(subjects)) != len(subjects):
            raise ValueError(f"{name}: duplicate federated subjects")
        owners = list(args.owners)
        app = azuread.Application(
            f"{name}-app",
            display_name=args.display_name,
            description=args.description,
            sign_in_audience="AzureADMyOrg",  # single tenant: only this directory's tokens
            owners=owners or None,
            prevent_duplicate_names=True,  # a second app of the same name is a mistake, not a feature
            opts=pulumi.ResourceOptions(parent=self),
        )
        sp = azuread.ServicePrincipal(
            f"{name}-sp",
            client_id=app.client_id,
            owners=owners or None,
            app_role_assignment_required=False,  # nobody signs in to it; it only exchanges GitHub tokens
            opts=pulumi.ResourceOptions(parent=app),
        )
        previous: pulumi.Resource | None = None
        for i, subject in enumerate(subjects):
            # One at a time: concurrent credential writes on one application conflict.
            previous = azuread.ApplicationFederatedIdentityCredential(
                f"{name}-fic-{i}",
                application_id=app.id,  # the object path /applications/{objectId}, not the client id
                display_name=re.sub(r"[^\w-]", "-", subject)[:120],
                description=f"GitHub Actions OIDC: {subject}",
                issuer=GITHUB_ISSUER,
                audiences=[TOKEN_EXCHANGE_AUDIENCE],
                subject=subject,  # exact match, no wildcard
                opts=pulumi.ResourceOptions(parent=app, depends_on=[previous] if previous else []),
            )
        self.assignments = {
            g.key: interfaces.role_assignment(
                f"{name}-{g.key}",
                scope=g.scope,
                role=g.role,
                principal_id=sp.object_id,
                principal_type="ServicePrincipal",
                subscription_id=args.subscription_id,
                parent=sp,
                condition=g.condition,
                custom_role_id=g.custom_role_id,
            )
            for g in args.grants
        }
        self.application = app
        self.service_principal = sp
        self.client_id = app.client_id
        self.principal_id = sp.object_id
        self.application_id = app.id
        self.register_outputs(
            {
                "client_id": self.client_id,
                "principal_id": self.principal_id,
                "application_id": self.application_id,
            }
        )
