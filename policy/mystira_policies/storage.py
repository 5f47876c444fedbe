"""Storage accounts, and the blob service of the account that holds the Pulumi state.

References: MYS.ST.<NNN>.
"""

from __future__ import annotations

from collections.abc import Sequence

from .framework import (
    HIGH,
    RELIABILITY,
    SECURITY,
    STORAGE,
    PolicyConfigSchema,
    PolicyResource,
    config,
    get,
    refers_to,
    resource_policy,
    stack_policy,
    truthy,
)


@resource_policy(
    "storage-https-only",
    "Storage accounts must accept HTTPS only.",
    HIGH,
    "Set enable_https_traffic_only=True.",
    "enableHttpsTrafficOnly",
    [STORAGE],
    reference="MYS.ST.001",
    pillar=SECURITY,
)
def _st_https(args, report):
    if get(args.props, "enableHttpsTrafficOnly") is False:
        report("enableHttpsTrafficOnly is false: data and SAS tokens travel in clear text.")


@resource_policy(
    "storage-tls12",
    "Storage accounts must require TLS 1.2.",
    HIGH,
    "Set minimum_tls_version='TLS1_2'.",
    "minimumTlsVersion",
    [STORAGE],
    reference="MYS.ST.002",
    pillar=SECURITY,
)
def _st_tls(args, report):
    if get(args.props, "minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
        report(f"minimumTlsVersion is {get(args.props, 'minimumTlsVersion')!r}: set 'TLS1_2'.")


@resource_policy(
    "storage-no-public-blob",
    "Storage accounts must disallow anonymous blob access.",
    HIGH,
    "Set allow_blob_public_access=False.",
    "allowBlobPublicAccess",
    [STORAGE],
    reference="MYS.ST.003",
    pillar=SECURITY,
)
def _st_public_blob(args, report):
    if get(args.props, "allowBlobPublicAccess") is not False:
        report("allowBlobPublicAccess is not false: a container can be made public with one click.")


@resource_policy(
    "storage-shared-key-disabled",
    "Storage accounts must disable shared key access (Entra only).",
    HIGH,
    "Set allow_shared_key_access=False; grant Storage Blob Data roles.",
    "allowSharedKeyAccess",
    [STORAGE],
    reference="MYS.ST.004",
    pillar=SECURITY,
)
def _st_shared_key(args, report):
    if get(args.props, "allowSharedKeyAccess") is not False:
        report("allowSharedKeyAccess is not false: the account keys give full access without an identity.")


def _is_state_account(res: PolicyResource, markers: Sequence[str]) -> bool:
    try:
        names = [
            get(res.props, "accountName"),
            get(res.props, "tags", "Component"),
            get(res.props, "tags", "Purpose"),
        ]
    except Exception:
        return False
    return any(isinstance(n, str) and any(m in n.lower() for m in markers) for n in names)


@stack_policy(
    "storage-state-versioning-soft-delete",
    "The state storage account must have blob versioning and soft delete (blobs and containers) on.",
    HIGH,
    "Add a storage.BlobServiceProperties for the account with is_versioning_enabled=True, "
    "delete_retention_policy and container_delete_retention_policy enabled.",
    "BlobServiceProperties.isVersioningEnabled, .deleteRetentionPolicy.enabled, "
    ".containerDeleteRetentionPolicy.enabled (accounts whose name or Component/Purpose tag contains "
    "'state')",
    PolicyConfigSchema(properties={"markers": {"type": "array", "items": {"type": "string"}}}),
    reference="MYS.ST.005",
    pillar=RELIABILITY,
)
def _st_state(args, report):
    markers = [m.lower() for m in config(args, "markers", ["state"])]
    accounts = [r for r in args.resources if r.resource_type == STORAGE and _is_state_account(r, markers)]
    blob_services = [
        r for r in args.resources if r.resource_type == "azure-native:storage:BlobServiceProperties"
    ]
    for account in accounts:
        services = [b for b in blob_services if refers_to(b, account, "accountName")]
        ok = any(
            truthy(get(b.props, "isVersioningEnabled"))
            and truthy(get(b.props, "deleteRetentionPolicy", "enabled"))
            and truthy(get(b.props, "containerDeleteRetentionPolicy", "enabled"))
            for b in services
        )
        if not ok:
            report(
                f"state account {account.name!r} has no blob service properties with versioning and soft "
                "delete on: a bad `pulumi up` or a deleted blob can't be rolled back.",
                account.urn,
            )
