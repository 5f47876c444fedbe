"""Stage 'entra': workforce admin apps (default azuread provider) and External ID consumer apps
(their own azuread provider, for the External ID tenant in settings).

Workforce: Admin API + Admin UI, groups from `entra.groupRoles` assigned to the API's app roles,
and the MFA Conditional Access policy (enforced in prod, report-only elsewhere). The admin service
gets the tenant id and both client ids in its Key Vault.

External ID: skipped, with one line in the run's diagnostics, when `externalId.tenantId` is empty.
"""

from __future__ import annotations

import pulumi
import pulumi_azuread as azuread

from components.entra import AdminApps, AdminAppsArgs, AdminMfaPolicy, AdminMfaPolicyArgs
from components.external_id import ExternalIdApps, ExternalIdAppsArgs
from mystira_infra.services import SERVICES
from stacks.platform import Platform


def build(p: Platform) -> None:
    s = p.settings
    assert s.entra is not None
    env = s.environment

    admin = AdminApps(
        "admin-apps",
        AdminAppsArgs(
            environment=env,
            admin_ui_redirect_uris=s.entra.admin_ui_redirect_uris,
            group_roles=s.entra.group_roles,
        ),
    )
    AdminMfaPolicy(
        "admin-mfa",
        AdminMfaPolicyArgs(
            environment=env,
            application_client_ids=[admin.admin_api_client_id, admin.admin_ui_client_id],
        ),
    )
    for svc in SERVICES:
        if svc.uses_entra_admin_apps:
            p.add_secret(svc.key, "entra-tenant-id", p.tenant_id)
            p.add_secret(svc.key, "entra-admin-api-client-id", admin.admin_api_client_id)
            p.add_secret(svc.key, "entra-admin-ui-client-id", admin.admin_ui_client_id)
    p.components["entra"] = admin
    pulumi.export("adminApiClientId", admin.admin_api_client_id)
    pulumi.export("adminUiClientId", admin.admin_ui_client_id)
    pulumi.export("adminApiIdentifierUri", admin.admin_api_identifier_uri)

    ext = s.external_id
    if not ext.tenant_id:
        pulumi.log.info(
            "External ID: externalId.tenantId is not set; the Public API, PWA and mobile apps are skipped"
        )
        return
    # The consumer tenant is not the subscription's tenant: its own provider. Credentials come
    # from the deployment's ARM_* / OIDC environment, for an identity registered in that tenant.
    provider = azuread.Provider("external-id", tenant_id=ext.tenant_id)
    apps = ExternalIdApps(
        "external-id",
        ExternalIdAppsArgs(
            environment=env,
            pwa_redirect_uris=ext.pwa_redirect_uris,
            mobile_redirect_uris=ext.mobile_redirect_uris,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    p.components["external_id"] = apps
    pulumi.export("externalIdTenantId", ext.tenant_id)
    pulumi.export("publicApiClientId", apps.public_api_client_id)
    pulumi.export("pwaClientId", apps.pwa_client_id)
    if apps.mobile_client_id is not None:
        pulumi.export("mobileClientId", apps.mobile_client_id)
