"""Entra ID app registrations: the building blocks, and the workforce tenant's admin apps.

Building blocks (also used by `components/external_id.py`):
- `api_app`: an API registration whose app roles and delegated scopes are their own resources
  (`ApplicationAppRole`, `ApplicationPermissionScope` with `application_id=app.id`, the object
  path `/applications/{objectId}`, not the client id). The Application ignores its inline
  `appRoles` and `api.oauth2PermissionScopes`, as the azuread docs say, so the two forms never
  fight: roles and scopes are defined one way only. Their ids are uuid5 of the identifier URI,
  the kind and the value: stable across runs and stacks rebuilt from scratch, unique per app.
- `client_app`: a client registration (SPA and/or public client) that requests an API's scopes
  and Microsoft Graph sign-in scopes, with admin consent granted through
  `ServicePrincipalDelegatedPermissionGrant` so that users are never asked.

Workforce tenant (`AdminApps`, `AdminMfaPolicy`): "Mystira Admin API ({env})" and
"Mystira Admin UI ({env})", Entra groups assigned to the API's app roles, and a Conditional
Access policy requiring MFA for both apps.

azuread v6 notes (DESIGN.md section 5): `ServicePrincipal(client_id=...)`; roles and scopes take
`application_id=app.id`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread

# Microsoft Graph: the well-known application id and delegated scope ids (identical in every
# tenant), written as constants rather than looked up.
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_SCOPES: dict[str, str] = {
    "openid": "37f7f235-527c-4136-accd-4a02d197296e",
    "profile": "14dad69e-099b-42c9-810b-d002981feec1",
    "email": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
    "offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
}

# Inline lists on the Application that the standalone role and scope resources own.
INLINE_ROLE_AND_SCOPE_FIELDS = ["appRoles", "api.oauth2PermissionScopes"]

OPTIONAL_CLAIMS = ("email", "given_name", "family_name")


@dataclass(frozen=True)
class RoleSpec:
    value: str
    display_name: str
    description: str


@dataclass(frozen=True)
class ScopeSpec:
    value: str
    display_name: str
    description: str
    type: str = "Admin"  # who may consent: Admin (admins only) or User


ADMIN_ROLES: tuple[RoleSpec, ...] = (
    RoleSpec("Admin", "Admin", "Manage Mystira content, users and settings"),
    RoleSpec(
        "SuperAdmin", "Super admin", "Everything Admin can do, plus platform-wide settings and role changes"
    ),
    RoleSpec("Moderator", "Moderator", "Review and moderate user-generated content"),
    RoleSpec("Viewer", "Viewer", "Read-only access to the admin portal"),
)

ADMIN_SCOPES: tuple[ScopeSpec, ...] = (
    ScopeSpec("Admin.Read", "Read admin data", "Read Mystira admin data on behalf of the signed-in user"),
    ScopeSpec("Admin.Write", "Write admin data", "Change Mystira admin data on behalf of the signed-in user"),
    ScopeSpec("Users.Manage", "Manage users", "Manage Mystira users on behalf of the signed-in user"),
    ScopeSpec("Content.Moderate", "Moderate content", "Moderate content on behalf of the signed-in user"),
)

# What the Admin UI asks of Graph: sign-in and the user's basic profile.
ADMIN_UI_GRAPH_SCOPES = ("openid", "profile", "User.Read")


def stable_id(identifier_uri: str, kind: str, value: str) -> str:
    """Deterministic GUID for an app role or scope: never random, so a re-run changes nothing and
    tokens already issued keep their role and scope ids."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{identifier_uri}#{kind}/{value}"))


def mfa_policy_state(environment: str) -> str:
    """Enforced in prod; report-only elsewhere, so dev and staging show who would be prompted."""
    return "enabled" if environment == "prod" else "enabledForReportingButNotEnforced"


def _slug(value: str) -> str:
    return value.lower().replace(".", "-").replace("_", "-")


@dataclass
class ApiApp:
    application: azuread.Application
    service_principal: azuread.ServicePrincipal
    identifier_uri: str
    roles: dict[str, azuread.ApplicationAppRole]
    scopes: dict[str, azuread.ApplicationPermissionScope]


@dataclass
class ClientApp:
    application: azuread.Application
    service_principal: azuread.ServicePrincipal
    grants: list[azuread.ServicePrincipalDelegatedPermissionGrant]


def api_app(
    name: str,
    *,
    parent: pulumi.Resource,
    display_name: str,
    identifier_uri: str,
    owners: pulumi.Input[Sequence[pulumi.Input[str]]],
    roles: Sequence[RoleSpec] = (),
    scopes: Sequence[ScopeSpec] = (),
    optional_claims: Sequence[str] = OPTIONAL_CLAIMS,
    assignment_required: bool,
) -> ApiApp:
    """An API registration, its roles and scopes (own resources, stable ids) and its service principal."""
    ids = [stable_id(identifier_uri, "role", r.value) for r in roles]
    ids += [stable_id(identifier_uri, "scope", s.value) for s in scopes]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{name}: duplicate role or scope value")
    claims: list[azuread.ApplicationOptionalClaimsAccessTokenArgsDict] = [
        {"name": c, "essential": False} for c in optional_claims
    ]
    app = azuread.Application(
        name,
        display_name=display_name,
        identifier_uris=[identifier_uri],
        # Only accounts of this tenant sign in: the workforce tenant, or the External ID tenant.
        sign_in_audience="AzureADMyOrg",
        # v2 access tokens (issuer login.microsoftonline.com/{tenant}/v2.0), which MSAL expects.
        api={"requested_access_token_version": 2},
        optional_claims={"access_tokens": claims, "id_tokens": claims} if claims else None,
        owners=owners,
        # A lost state must fail loudly instead of creating a second app with the same name.
        prevent_duplicate_names=True,
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=INLINE_ROLE_AND_SCOPE_FIELDS),
    )
    role_res = {
        r.value: azuread.ApplicationAppRole(
            f"{name}-role-{_slug(r.value)}",
            application_id=app.id,  # the object path /applications/{objectId}, not the client id
            role_id=stable_id(identifier_uri, "role", r.value),
            value=r.value,
            display_name=r.display_name,
            description=r.description,
            # Users, and the groups they belong to, are assigned these roles.
            allowed_member_types=["User"],
            opts=pulumi.ResourceOptions(parent=app),
        )
        for r in roles
    }
    scope_res = {
        s.value: azuread.ApplicationPermissionScope(
            f"{name}-scope-{_slug(s.value)}",
            application_id=app.id,
            scope_id=stable_id(identifier_uri, "scope", s.value),
            value=s.value,
            type=s.type,
            admin_consent_display_name=s.display_name,
            admin_consent_description=s.description,
            user_consent_display_name=s.display_name,
            user_consent_description=s.description,
            opts=pulumi.ResourceOptions(parent=app),
        )
        for s in scopes
    }
    sp = azuread.ServicePrincipal(
        f"{name}-sp",
        client_id=app.client_id,
        # True: only users and groups assigned an app role get a token for this API.
        app_role_assignment_required=assignment_required,
        owners=owners,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return ApiApp(app, sp, identifier_uri, role_res, scope_res)


def client_app(
    name: str,
    *,
    parent: pulumi.Resource,
    display_name: str,
    owners: pulumi.Input[Sequence[pulumi.Input[str]]],
    api: ApiApp,
    api_scopes: Sequence[str],
    graph_scopes: Sequence[str],
    graph_object_id: pulumi.Input[str],
    spa_redirect_uris: Sequence[str] = (),
    public_redirect_uris: Sequence[str] = (),
) -> ClientApp:
    """A client registration requesting `api_scopes` of `api` and `graph_scopes` of Microsoft
    Graph, with admin consent for both (no consent prompt for users)."""
    unknown = [s for s in api_scopes if s not in api.scopes]
    if unknown:
        raise ValueError(f"{name}: scopes {unknown} are not exposed by {api.identifier_uri}")
    app = azuread.Application(
        name,
        display_name=display_name,
        sign_in_audience="AzureADMyOrg",
        # SPA redirect URIs: authorization code flow with PKCE, no implicit grant, no secret.
        single_page_application={"redirect_uris": list(spa_redirect_uris)} if spa_redirect_uris else None,
        # Native (mobile) redirect URIs: public client with PKCE, no secret.
        public_client={"redirect_uris": list(public_redirect_uris)} if public_redirect_uris else None,
        # No ROPC or device-code flows: they bypass the interactive sign-in and its MFA.
        fallback_public_client_enabled=False,
        required_resource_accesses=[
            {
                "resource_app_id": api.application.client_id,
                # The scope resources' ids, so these wait for the scopes to exist.
                "resource_accesses": [{"id": api.scopes[s].scope_id, "type": "Scope"} for s in api_scopes],
            },
            {
                "resource_app_id": GRAPH_APP_ID,
                "resource_accesses": [{"id": GRAPH_SCOPES[s], "type": "Scope"} for s in graph_scopes],
            },
        ],
        owners=owners,
        prevent_duplicate_names=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    sp = azuread.ServicePrincipal(
        f"{name}-sp",
        client_id=app.client_id,
        # The API it calls enforces role assignment; the client itself holds no roles.
        app_role_assignment_required=False,
        owners=owners,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    grants = [
        azuread.ServicePrincipalDelegatedPermissionGrant(
            f"{name}-consent-api",
            service_principal_object_id=sp.object_id,
            resource_service_principal_object_id=api.service_principal.object_id,
            claim_values=list(api_scopes),
            # Consent names scope values, which exist only once the scope resources do.
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[api.scopes[s] for s in api_scopes]),
        ),
        azuread.ServicePrincipalDelegatedPermissionGrant(
            f"{name}-consent-graph",
            service_principal_object_id=sp.object_id,
            resource_service_principal_object_id=graph_object_id,
            claim_values=list(graph_scopes),
            opts=pulumi.ResourceOptions(parent=parent),
        ),
    ]
    return ClientApp(app, sp, grants)


def graph_service_principal_id(parent: pulumi.Resource) -> pulumi.Output[str]:
    """Object id of Microsoft Graph's service principal in the parent's tenant (it differs per
    tenant; the app id doesn't). The invoke uses the parent's azuread provider."""
    graph = azuread.get_service_principal_output(
        client_id=GRAPH_APP_ID, opts=pulumi.InvokeOutputOptions(parent=parent)
    )
    return graph.object_id


def deployer_owners(parent: pulumi.Resource) -> pulumi.Output[list[str]]:
    """The principal running the deployment owns what it creates, so that a CI identity holding
    only Application.ReadWrite.OwnedBy can keep managing the apps."""
    client = azuread.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=parent))
    return client.object_id.apply(lambda oid: [oid])


# --------------------------------------------------------------------------------------------
# Workforce tenant: admin apps
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminAppsArgs:
    environment: str
    admin_ui_redirect_uris: Sequence[str]
    # App role value -> Entra group object ids assigned that role.
    group_roles: Mapping[str, Sequence[str]]


class AdminApps(pulumi.ComponentResource):
    admin_api_client_id: pulumi.Output[str]
    admin_ui_client_id: pulumi.Output[str]
    admin_api_identifier_uri: str
    admin_api_service_principal_id: pulumi.Output[str]
    role_ids: dict[str, str]
    scope_ids: dict[str, str]

    def __init__(self, name: str, args: AdminAppsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:entra:AdminApps", name, None, opts)
        known_roles = {r.value for r in ADMIN_ROLES}
        for role in args.group_roles:
            if role not in known_roles:
                raise ValueError(f"{name}: unknown app role '{role}'; expected one of {sorted(known_roles)}")
        if not args.admin_ui_redirect_uris:
            raise ValueError(f"{name}: the Admin UI needs at least one redirect URI")
        env = args.environment
        uri = f"api://mystira-admin-api-{env}"
        owners = deployer_owners(self)

        api = api_app(
            f"{name}-api",
            parent=self,
            display_name=f"Mystira Admin API ({env})",
            identifier_uri=uri,
            owners=owners,
            roles=ADMIN_ROLES,
            scopes=ADMIN_SCOPES,
            assignment_required=True,
        )
        ui = client_app(
            f"{name}-ui",
            parent=self,
            display_name=f"Mystira Admin UI ({env})",
            owners=owners,
            api=api,
            api_scopes=[s.value for s in ADMIN_SCOPES],
            graph_scopes=ADMIN_UI_GRAPH_SCOPES,
            graph_object_id=graph_service_principal_id(self),
            spa_redirect_uris=args.admin_ui_redirect_uris,
        )

        # Group -> app role: members of the group get the role claim in their Admin API tokens.
        self.group_assignments = [
            azuread.AppRoleAssignment(
                f"{name}-group-{_slug(role)}-{group_id}",
                app_role_id=api.roles[role].role_id,
                principal_object_id=group_id,
                resource_object_id=api.service_principal.object_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for role, groups in sorted(args.group_roles.items())
            for group_id in groups
        ]

        self.api = api
        self.ui = ui
        self.admin_api_client_id = api.application.client_id
        self.admin_ui_client_id = ui.application.client_id
        self.admin_api_identifier_uri = uri
        self.admin_api_service_principal_id = api.service_principal.object_id
        self.role_ids = {r.value: stable_id(uri, "role", r.value) for r in ADMIN_ROLES}
        self.scope_ids = {s.value: stable_id(uri, "scope", s.value) for s in ADMIN_SCOPES}
        self.register_outputs(
            {
                "admin_api_client_id": self.admin_api_client_id,
                "admin_ui_client_id": self.admin_ui_client_id,
                "admin_api_identifier_uri": self.admin_api_identifier_uri,
                "admin_api_service_principal_id": self.admin_api_service_principal_id,
                "role_ids": self.role_ids,
                "scope_ids": self.scope_ids,
            }
        )


@dataclass(frozen=True)
class AdminMfaPolicyArgs:
    environment: str
    # Client ids (appId) of the apps the policy covers.
    application_client_ids: Sequence[pulumi.Input[str]]


class AdminMfaPolicy(pulumi.ComponentResource):
    """Conditional Access: every sign-in to the admin apps needs MFA (Entra ID P1 licences)."""

    id: pulumi.Output[str]
    state: str

    def __init__(
        self, name: str, args: AdminMfaPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mystira:entra:AdminMfaPolicy", name, None, opts)
        state = mfa_policy_state(args.environment)
        policy = azuread.ConditionalAccessPolicy(
            f"{name}-policy",
            display_name=f"Mystira admin apps ({args.environment}): require MFA",
            # Enforced in prod; report-only elsewhere (sign-in logs show what would be blocked).
            state=state,
            conditions={
                # All users, every client type: scoping is by application, so nothing else is affected.
                "users": {"included_users": ["All"]},
                "client_app_types": ["all"],
                "applications": {"included_applications": list(args.application_client_ids)},
            },
            grant_controls={"operator": "OR", "built_in_controls": ["mfa"]},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.policy = policy
        self.id = policy.id
        self.state = state
        self.register_outputs({"id": self.id, "state": self.state})
