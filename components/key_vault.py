"""A service's Key Vault (RBAC mode, private) and the secrets the program writes into it.

- `ServiceVault`: the vault, its private endpoint, "Key Vault Secrets User" for the service's own
  identity only, AuditEvent diagnostics, a lock in prod. RBAC authorization, not access policies:
  on an access-policy vault the seed system's "Key Vault Secrets User" granted nothing (DESIGN.md
  section 4, defect 2).
- `VaultSecrets`: the secrets other stages collected (`Platform.add_secret`), written through
  Azure Resource Manager (`Microsoft.KeyVault/vaults/secrets`). ARM writes are management-plane
  operations: they are authorised by the deploying principal's resource write permission and are
  not subject to the vault's firewall, so the deployer needs no data-plane role and the vault can
  stay private. Values are Pulumi secrets (encrypted in state, `[secret]` in previews).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi
from pulumi_azure_native import keyvault

from components import interfaces

SECRET_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")


def check_secret_name(name: str) -> str:
    if not SECRET_NAME.fullmatch(name):
        raise ValueError(f"'{name}' is not a valid Key Vault secret name: 1 to 127 letters, digits and -")
    return name


@dataclass(frozen=True)
class ServiceVaultArgs:
    name: str  # physical name from the naming module
    resource_group_name: pulumi.Input[str]
    location: str
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    soft_delete_retention_days: int
    purge_protection: bool
    private_endpoint: interfaces.PrivateEndpointTarget
    reader_principal_id: pulumi.Input[str]  # the service's managed identity
    tags: Mapping[str, str]
    workspace_id: pulumi.Input[str] | None = None
    lock: bool = False
    sku: str = "standard"  # secrets only; no HSM-backed keys live here


class ServiceVault(pulumi.ComponentResource):
    id: pulumi.Output[str]
    name: pulumi.Output[str]
    uri: pulumi.Output[str]
    resource_group_name: pulumi.Input[str]

    def __init__(self, name: str, args: ServiceVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:security:ServiceVault", name, None, opts)
        properties: dict[str, Any] = {
            "tenant_id": args.tenant_id,
            "sku": {"family": "A", "name": args.sku},
            "enable_rbac_authorization": True,  # Azure RBAC, not access policies (defect 2)
            "enable_soft_delete": True,  # deleted secrets and vaults are recoverable
            "soft_delete_retention_in_days": args.soft_delete_retention_days,
            "public_network_access": "Disabled",  # reachable only through the private endpoint
            # Firewall denies by default; no "trusted Azure services" bypass either.
            "network_acls": {"default_action": "Deny", "bypass": "None"},
            # No VM, ARM-template or disk-encryption access to secrets: nothing here needs it.
            "enabled_for_deployment": False,
            "enabled_for_template_deployment": False,
            "enabled_for_disk_encryption": False,
        }
        if args.purge_protection:
            # Azure rejects enablePurgeProtection=false (it can only ever be turned on), so it is
            # omitted when off (dev), and true where settings require it (staging, prod).
            properties["enable_purge_protection"] = True
        vault = keyvault.Vault(
            f"{name}-kv",
            vault_name=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=cast(keyvault.VaultPropertiesArgsDict, properties),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.private_endpoint = interfaces.private_endpoint(
            name,
            resource_id=vault.id,
            group_id="vault",
            target=args.private_endpoint,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            parent=self,
        )
        # Read secrets: the service's own identity, on its own vault, and nobody else.
        self.reader = interfaces.role_assignment(
            f"{name}-secrets-user",
            scope=vault.id,
            role="Key Vault Secrets User",
            principal_id=args.reader_principal_id,
            principal_type="ServicePrincipal",  # a managed identity
            subscription_id=args.subscription_id,
            parent=self,
        )
        if args.workspace_id is not None:
            # AuditEvent: every secret read and write (PSRule KeyVault.Logs, CIS 6.1.4).
            interfaces.diagnostics(
                name,
                resource_id=vault.id,
                workspace_id=args.workspace_id,
                parent=self,
                log_categories=["AuditEvent"],
            )
        if args.lock:
            interfaces.lock(
                name, scope=vault.id, parent=self, reason="Service secrets: remove the lock on purpose."
            )

        self.vault = vault
        self.id = vault.id
        self.name = vault.name
        # The data-plane URI is fixed by the name (public cloud); known at preview, unlike vaultUri.
        self.uri = vault.name.apply(lambda n: f"https://{n}.vault.azure.net/")
        self.resource_group_name = args.resource_group_name
        self.register_outputs({"id": self.id, "name": self.name, "uri": self.uri})


@dataclass(frozen=True)
class VaultSecretsArgs:
    vault_name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    secrets: Mapping[str, pulumi.Input[str]]  # secret name -> value (never a password)
    tags: Mapping[str, str]
    content_type: str = "text/plain"


class VaultSecrets(pulumi.ComponentResource):
    """Writes secrets into an existing vault; every value is a Pulumi secret."""

    names: list[str]

    def __init__(self, name: str, args: VaultSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:security:VaultSecrets", name, None, opts)
        self.secrets: dict[str, keyvault.Secret] = {}
        for secret_name, value in sorted(args.secrets.items()):
            check_secret_name(secret_name)
            self.secrets[secret_name] = keyvault.Secret(
                f"{name}-{secret_name}",
                secret_name=secret_name,
                vault_name=args.vault_name,
                resource_group_name=args.resource_group_name,
                properties={
                    # Encrypted in state and shown as [secret], whatever the caller passed in.
                    "value": pulumi.Output.secret(value),
                    "content_type": args.content_type,  # CKV_AZURE_114
                },
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.names = sorted(self.secrets)
        self.register_outputs({"names": self.names})
