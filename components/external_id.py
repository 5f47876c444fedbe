"""Entra External ID (the consumer tenant): the Public API and its clients.

- "Mystira Public API ({env})" exposes API.Access, Stories.Read, Stories.Write and Profile.Read
  (scope ids stable: uuid5 of the identifier URI and value; see `components/entra.py`);
- "Mystira PWA ({env})", a single-page app requesting those scopes and Graph sign-in;
- "Mystira Mobile ({env})", a public (native) client, only when mobile redirect URIs are given.

These apps live in another tenant than the Azure subscription: the caller passes an
`azuread.Provider` for the External ID tenant in `opts.providers`, and every child (and each
invoke, through `parent=self`) inherits it. Consumers sign themselves up, so no app-role
assignment is required on the API; consent is granted by the admin, once, for all users.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.entra import (
    ApiApp,
    ClientApp,
    ScopeSpec,
    api_app,
    client_app,
    deployer_owners,
    graph_service_principal_id,
    stable_id,
)

# Scopes act on the signed-in consumer's own data: "User" consent type.
PUBLIC_SCOPES: tuple[ScopeSpec, ...] = (
    ScopeSpec(
        "API.Access", "Access the Mystira API", "Call the Mystira public API as the signed-in user", "User"
    ),
    ScopeSpec("Stories.Read", "Read stories", "Read the signed-in user's stories", "User"),
    ScopeSpec("Stories.Write", "Write stories", "Create and change the signed-in user's stories", "User"),
    ScopeSpec("Profile.Read", "Read profile", "Read the signed-in user's Mystira profile", "User"),
)

# Sign-in and refresh tokens for the consumer clients.
CONSUMER_GRAPH_SCOPES = ("openid", "offline_access")


@dataclass(frozen=True)
class ExternalIdAppsArgs:
    environment: str
    pwa_redirect_uris: Sequence[str]
    mobile_redirect_uris: Sequence[str] = ()


class ExternalIdApps(pulumi.ComponentResource):
    public_api_client_id: pulumi.Output[str]
    public_api_identifier_uri: str
    pwa_client_id: pulumi.Output[str]
    mobile_client_id: pulumi.Output[str] | None
    scope_ids: dict[str, str]

    def __init__(
        self, name: str, args: ExternalIdAppsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mystira:entra:ExternalIdApps", name, None, opts)
        if not args.pwa_redirect_uris:
            raise ValueError(f"{name}: the PWA needs at least one redirect URI")
        env = args.environment
        uri = f"api://mystira-public-api-{env}"
        owners = deployer_owners(self)
        graph = graph_service_principal_id(self)
        scopes = [s.value for s in PUBLIC_SCOPES]

        api: ApiApp = api_app(
            f"{name}-public-api",
            parent=self,
            display_name=f"Mystira Public API ({env})",
            identifier_uri=uri,
            owners=owners,
            scopes=PUBLIC_SCOPES,
            # Consumers self-register; they can't be assigned roles one by one.
            assignment_required=False,
        )
        pwa: ClientApp = client_app(
            f"{name}-pwa",
            parent=self,
            display_name=f"Mystira PWA ({env})",
            owners=owners,
            api=api,
            api_scopes=scopes,
            graph_scopes=CONSUMER_GRAPH_SCOPES,
            graph_object_id=graph,
            spa_redirect_uris=args.pwa_redirect_uris,
        )
        mobile: ClientApp | None = None
        if args.mobile_redirect_uris:
            mobile = client_app(
                f"{name}-mobile",
                parent=self,
                display_name=f"Mystira Mobile ({env})",
                owners=owners,
                api=api,
                api_scopes=scopes,
                graph_scopes=CONSUMER_GRAPH_SCOPES,
                graph_object_id=graph,
                public_redirect_uris=args.mobile_redirect_uris,
            )

        self.api = api
        self.pwa = pwa
        self.mobile = mobile
        self.public_api_client_id = api.application.client_id
        self.public_api_identifier_uri = uri
        self.pwa_client_id = pwa.application.client_id
        self.mobile_client_id = mobile.application.client_id if mobile else None
        self.scope_ids = {s.value: stable_id(uri, "scope", s.value) for s in PUBLIC_SCOPES}
        self.register_outputs(
            {
                "public_api_client_id": self.public_api_client_id,
                "public_api_identifier_uri": self.public_api_identifier_uri,
                "pwa_client_id": self.pwa_client_id,
                "mobile_client_id": self.mobile_client_id,
                "scope_ids": self.scope_ids,
            }
        )
