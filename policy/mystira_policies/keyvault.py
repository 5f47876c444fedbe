"""Key Vault: vaults and their secrets.

References: MYS.KV.<NNN>.
"""

from __future__ import annotations

from .framework import (
    HIGH,
    LOW,
    OPERATIONAL_EXCELLENCE,
    RELIABILITY,
    SECURITY,
    STRICT_ENVS,
    VAULT,
    environment,
    eq,
    get,
    resource_policy,
    truthy,
)


@resource_policy(
    "keyvault-rbac-authorization",
    "Key Vaults must use Azure RBAC, not access policies.",
    HIGH,
    "Set properties.enable_rbac_authorization=True and grant data-plane roles.",
    "properties.enableRbacAuthorization",
    [VAULT],
    reference="MYS.KV.001",
    pillar=SECURITY,
)
def _kv_rbac(args, report):
    if not truthy(get(args.props, "properties", "enableRbacAuthorization")):
        report(
            "properties.enableRbacAuthorization is not true: role assignments like 'Key Vault Secrets User' "
            "grant nothing on an access-policy vault."
        )


@resource_policy(
    "keyvault-soft-delete",
    "Key Vaults must keep soft delete on.",
    HIGH,
    "Remove enable_soft_delete=False (or set it True).",
    "properties.enableSoftDelete",
    [VAULT],
    reference="MYS.KV.002",
    pillar=RELIABILITY,
)
def _kv_soft_delete(args, report):
    if get(args.props, "properties", "enableSoftDelete") is False:
        report("properties.enableSoftDelete is false: deleted secrets can't be recovered.")


@resource_policy(
    "keyvault-purge-protection",
    "Key Vaults in staging and production must enable purge protection.",
    HIGH,
    "Set properties.enable_purge_protection=True (it can't be turned off again).",
    "properties.enablePurgeProtection",
    [VAULT],
    reference="MYS.KV.003",
    pillar=RELIABILITY,
)
def _kv_purge(args, report):
    if environment(args.props) in STRICT_ENVS and not truthy(
        get(args.props, "properties", "enablePurgeProtection")
    ):
        report(
            f"properties.enablePurgeProtection is not true in {environment(args.props)}: a deleted vault can "
            "be purged before anyone notices."
        )


@resource_policy(
    "keyvault-network-restricted",
    "Key Vaults must disable public network access or deny by default.",
    HIGH,
    "Set properties.public_network_access='Disabled' (with a private endpoint) or "
    "properties.network_acls.default_action='Deny'.",
    "properties.publicNetworkAccess, properties.networkAcls.defaultAction",
    [VAULT],
    reference="MYS.KV.004",
    pillar=SECURITY,
)
def _kv_network(args, report):
    if eq(get(args.props, "properties", "publicNetworkAccess"), "Disabled"):
        return
    if eq(get(args.props, "properties", "networkAcls", "defaultAction"), "Deny"):
        return
    report(
        "public network access is enabled and networkAcls.defaultAction is not Deny: the vault is reachable "
        "from the internet."
    )


@resource_policy(
    "keyvault-secret-content-type",
    "Key Vault secrets must set a content type.",
    LOW,
    "Set properties.content_type (e.g. 'text/plain', 'connection-string').",
    "Secret.properties.contentType",
    ["azure-native:keyvault:Secret"],
    reference="MYS.KV.005",
    pillar=OPERATIONAL_EXCELLENCE,
)
def _kv_content_type(args, report):
    value = get(args.props, "properties", "contentType")
    if not (isinstance(value, str) and value.strip()):
        report("properties.contentType is not set: readers can't tell how to interpret the secret.")
