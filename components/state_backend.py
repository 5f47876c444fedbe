"""Where Pulumi keeps state and the key that encrypts its secrets (tier 3).

- `StateBackend`: the storage account behind `pulumi login azblob://state?storage_account=<name>`.
  Shared keys are off, so the CLI must authenticate with Entra: set `AZURE_STORAGE_AUTH_MODE=login`
  (docs/shared-and-bootstrap.md). Versioning plus blob and container soft delete make a bad write
  or a deleted stack recoverable.
- `SecretsKey`: an RBAC Key Vault with purge protection and the RSA key that
  `azurekeyvault://<vault>.vault.azure.net/keys/pulumi-secrets` names in every `Pulumi.<stack>.yaml`.

Both are protected and locked: losing either loses every stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault, storage

from components import interfaces

STATE_CONTAINER = "state"
SECRETS_KEY = "pulumi-secrets"


def secrets_provider_url(vault_name: str) -> str:
    """The `secretsprovider:` value of every Pulumi.<stack>.yaml (no key version: the latest)."""
    return f"azurekeyvault://{vault_name}.vault.azure.net/keys/{SECRETS_KEY}"


@dataclass(frozen=True)
class StateBackendArgs:
    account_name: str  # physical name from the naming module ("storage" rule)
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
    soft_delete_days: int = 30  # blob and container soft delete
    lock: bool = True
    workspace_id: pulumi.Input[str] | None = None  # audit of every state read and write


class StateBackend(pulumi.ComponentResource):
    account_id: pulumi.Output[str]
    account_name: pulumi.Output[str]
    container_id: pulumi.Output[str]
    container_name: pulumi.Output[str]

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:shared:StateBackend", name, None, opts)
        account = storage.StorageAccount(
            f"{name}-st",
            account_name=args.account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku={"name": "Standard_GZRS"},  # zone- and geo-redundant: state outlives a zone or a region
            minimum_tls_version="TLS1_2",  # no legacy TLS
            enable_https_traffic_only=True,  # no plain HTTP
            allow_blob_public_access=False,  # no anonymous reads of state, ever
            allow_shared_key_access=False,  # Entra auth only: no account keys, no SAS signed with them
            default_to_o_auth_authentication=True,  # the portal and tools use Entra too
            allow_cross_tenant_replication=False,  # state never replicates into another tenant
            allowed_copy_scope="AAD",  # copies only to accounts in this tenant
            is_local_user_enabled=False,  # no SFTP/local users
            is_sftp_enabled=False,
            public_network_access="Enabled",  # GitHub-hosted runners have no fixed IPs or VNet ...
            network_rule_set={
                # ... so the firewall stays open; access is Entra-only with RBAC on the container.
                "default_action": storage.DefaultAction.ALLOW,
                "bypass": "AzureServices",
            },
            encryption={
                "key_source": "Microsoft.Storage",
                "require_infrastructure_encryption": True,  # double encryption at rest
                "services": {"blob": {"enabled": True, "key_type": "Account"}},
            },
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        blob_service = storage.BlobServiceProperties(
            f"{name}-blob",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            blob_services_name="default",
            is_versioning_enabled=True,  # every state write keeps the previous version
            delete_retention_policy={
                "enabled": True,
                "days": args.soft_delete_days,
            },  # deleted blobs recoverable
            container_delete_retention_policy={"enabled": True, "days": args.soft_delete_days},
            opts=pulumi.ResourceOptions(parent=account),
        )
        container = storage.BlobContainer(
            f"{name}-state",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            container_name=STATE_CONTAINER,
            public_access=storage.PublicAccess.NONE,  # private container
            opts=pulumi.ResourceOptions(parent=account, depends_on=[blob_service]),
        )
        if args.workspace_id is not None:
            # Blob reads, writes and deletes (who touched which stack's state); blob services have
            # their own metric categories, so no AllMetrics here.
            interfaces.diagnostics(
                f"{name}-blob",
                resource_id=blob_service.id,
                workspace_id=args.workspace_id,
                parent=blob_service,
                metrics=False,
            )
        if args.lock:
            interfaces.lock(
                f"{name}-st",
                scope=account.id,
                parent=account,
                reason="Holds the Pulumi state of every stack: remove the lock deliberately before deleting.",
            )
        self.account = account
        self.container = container
        self.account_id = account.id
        self.account_name = account.name
        self.container_id = container.id
        self.container_name = container.name
        self.register_outputs(
            {
                "account_id": self.account_id,
                "account_name": self.account_name,
                "container_id": self.container_id,
                "container_name": self.container_name,
            }
        )


@dataclass(frozen=True)
class SecretsKeyArgs:
    vault_name: str  # physical name from the naming module ("key_vault" rule)
    resource_group_name: pulumi.Input[str]
    location: str
    tenant_id: pulumi.Input[str]
    tags: Mapping[str, str]
    key_size: int = 3072
    soft_delete_retention_days: int = 90
    lock: bool = True
    workspace_id: pulumi.Input[str] | None = None  # AuditEvent: every use of the key


class SecretsKey(pulumi.ComponentResource):
    vault_id: pulumi.Output[str]
    vault_name: pulumi.Output[str]
    key_id: pulumi.Output[str]
    key_uri: pulumi.Output[str]

    def __init__(self, name: str, args: SecretsKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:shared:SecretsKey", name, None, opts)
        if args.key_size not in (3072, 4096):
            raise ValueError(f"{name}: key_size must be 3072 or 4096 bits")
        vault = keyvault.Vault(
            f"{name}-kv",
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties={
                "tenant_id": args.tenant_id,
                "sku": {"family": "A", "name": keyvault.SkuName.PREMIUM},  # premium: HSM-protected keys
                "enable_rbac_authorization": True,  # Azure RBAC, no access policies (they grant silently)
                "enable_soft_delete": True,  # a deleted vault or key is recoverable ...
                "soft_delete_retention_in_days": args.soft_delete_retention_days,
                # ... and nobody can purge it early: losing the key loses every secret.
                "enable_purge_protection": True,
                "enabled_for_deployment": False,  # no VM, ARM-template or disk-encryption access
                "enabled_for_template_deployment": False,
                "enabled_for_disk_encryption": False,
                "public_network_access": "Enabled",  # CI runners have no fixed IPs: Entra + RBAC guard it
                "network_acls": {"default_action": "Allow", "bypass": "AzureServices"},
            },
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        key = keyvault.Key(
            f"{name}-key",
            key_name=SECRETS_KEY,
            vault_name=vault.name,
            resource_group_name=args.resource_group_name,
            properties={
                "kty": "RSA-HSM",  # key material never leaves the HSM
                "key_size": args.key_size,
                # What Pulumi's azurekeyvault provider needs to wrap and unwrap each stack's data key.
                "key_ops": ["wrapKey", "unwrapKey", "encrypt", "decrypt"],
                # Enabled and without expiry or rotation policy: the secrets URL names no key version,
                # and a disabled, expired or rotated-away key would make every stack's secrets unreadable.
                "attributes": {"enabled": True},
            },
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=vault),
        )
        if args.workspace_id is not None:
            interfaces.diagnostics(
                f"{name}-kv", resource_id=vault.id, workspace_id=args.workspace_id, parent=vault
            )
        if args.lock:
            interfaces.lock(
                f"{name}-kv",
                scope=vault.id,
                parent=vault,
                reason="Holds the key to every stack's secrets: remove the lock deliberately before deleting",
            )
        self.vault = vault
        self.key = key
        self.vault_id = vault.id
        self.vault_name = vault.name
        self.key_id = key.id
        self.key_uri = key.key_uri
        self.register_outputs(
            {
                "vault_id": self.vault_id,
                "vault_name": self.vault_name,
                "key_id": self.key_id,
                "key_uri": self.key_uri,
            }
        )
