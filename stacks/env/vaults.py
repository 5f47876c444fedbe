"""Stage 'vaults' (runs last): write every secret the earlier stages collected into its service's
Key Vault (the vaults themselves are built in the data stage, so that the cluster and kubernetes
stages can point workloads at them).

Each value goes in as a Pulumi secret with a content type. No password is ever among them: the
connection settings are host, database and user names, and the apps authenticate with Entra tokens.
"""

from __future__ import annotations

import pulumi

from components.key_vault import VaultSecrets, VaultSecretsArgs
from mystira_infra.services import SERVICES
from stacks.platform import Platform


def build(p: Platform) -> None:
    vaults = p.components["key_vaults"]
    unknown = set(p.secrets) - {svc.key for svc in SERVICES}
    if unknown:
        raise ValueError(
            f"secrets were added for services not in the catalogue: {', '.join(sorted(unknown))}"
        )
    written: dict[str, list[str]] = {}
    for svc in SERVICES:
        secrets = p.secrets.get(svc.key, {})
        if not secrets:
            continue
        vault = vaults[svc.key]
        VaultSecrets(
            f"{svc.key}-secrets",
            VaultSecretsArgs(
                vault_name=vault.name,
                resource_group_name=vault.resource_group_name,
                secrets=secrets,
                tags=p.service_tags(svc),
            ),
            opts=pulumi.ResourceOptions(parent=vault),
        )
        written[svc.key] = sorted(secrets)
    pulumi.export("keyVaultSecretNames", written)
