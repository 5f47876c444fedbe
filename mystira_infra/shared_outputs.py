"""The contract between the shared stack and the environment stacks (and CI).

The shared stack exports exactly the keys in `SHARED_OUTPUTS` (stacks/shared.py checks it, and a
test compares its dry-run exports with this dict); environment stacks read them through a
`pulumi.StackReference` with `require_shared`, which fails with a clear message when the shared
stack doesn't (yet) export a key.
"""

from __future__ import annotations

from typing import Any

import pulumi

SHARED_OUTPUTS: dict[str, str] = {
    # Resource groups (tier 3).
    "platformResourceGroup": "resource group of the registry and Communication Services "
    "(mys-shared-platform-rg-*)",
    "stateResourceGroup": "resource group of the Pulumi state account and the secrets Key Vault "
    "(mys-shared-state-rg-*)",
    # Container registry: environment stacks.
    "registryId": "ARM id of the container registry (scope of AcrPull for each cluster's kubelet identity, "
    "target of each environment's registry private endpoint)",
    "registryName": "name of the container registry (for `az acr build --registry`)",
    "registryLoginServer": "login server of the container registry, e.g. myscr.azurecr.io (image references)",
    # Email: environment stacks (services that send mail).
    "communicationServiceId": "ARM id of the Communication Services resource (scope of the senders' role "
    "assignment)",
    "emailEndpoint": "Communication Services endpoint, https://<name>.<geo>.communication.azure.com/ "
    "(Entra auth only)",
    "emailSenderDomain": "the Azure-managed sender domain, <guid>.azurecomm.net",
    "emailSenderAddress": "default sender address, DoNotReply@<sender domain>",
    # Pulumi backend: CI and the bootstrap.
    "stateStorageAccount": "storage account holding Pulumi state (container `state`, Entra auth only)",
    "stateBackendUrl": "`pulumi login` URL of the state backend: azblob://state?storage_account=<account>",
    "secretsProvider": "secrets provider of every Pulumi.<stack>.yaml: "
    "azurekeyvault://<vault>.vault.azure.net/keys/pulumi-secrets",
    "secretsKeyId": "ARM id of the Key Vault key `pulumi-secrets`",
    # CI identities: GitHub Actions `azure/login` inputs.
    "tenantId": "Entra tenant id (AZURE_TENANT_ID)",
    "subscriptionId": "subscription id (AZURE_SUBSCRIPTION_ID)",
    "deployClientIds": "environment -> client id of its deploy identity (AZURE_CLIENT_ID of that GitHub "
    "environment)",
    "previewClientId": "client id of the pull-request preview identity (Reader)",
}


def require_shared(ref: pulumi.StackReference, key: str) -> pulumi.Output[Any]:
    if key not in SHARED_OUTPUTS:
        raise KeyError(
            f"'{key}' is not part of the shared stack's contract (mystira_infra/shared_outputs.py)"
        )

    def check(value: Any) -> Any:
        if value is None and not pulumi.runtime.is_dry_run():
            raise pulumi.RunError(
                f"the shared stack ({ref._name}) does not export '{key}' ({SHARED_OUTPUTS[key]}); "
                "run `pulumi up` on the shared stack first"
            )
        return value

    return ref.get_output(key).apply(check)
