"""What Azure (and Entra, and AKS) would answer, for the dry run's mocks.

Ids are ARM-shaped and deterministic; principal, client and tenant ids are GUIDs derived from the
resource's URN, so two runs give the same answers and two resources never share one. Computed
outputs are only returned in update mode: in preview mode (as in a real `pulumi preview` of a new
stack) they are unknown, and so is every id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
TENANT_ID = "00000000-0000-4000-8000-0000000000aa"
DEPLOYER_CLIENT_ID = "00000000-0000-4000-8000-0000000000c1"
DEPLOYER_OBJECT_ID = "00000000-0000-4000-8000-0000000000d1"


def guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "mystira-dryrun:" + "|".join(parts)))


def short_hash(*parts: str, n: int = 8) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:n]


# token -> (ARM path below the resource group or scope, input key holding the physical name).
# `{x}` in a path is filled from the input `x`. Extension resources start with `{scope}`.
ARM_PATHS: dict[str, tuple[str, str]] = {
    "azure-native:resources:ResourceGroup": ("", "resourceGroupName"),
    "azure-native:network:VirtualNetwork": ("Microsoft.Network/virtualNetworks/{}", "virtualNetworkName"),
    "azure-native:network:Subnet": (
        "Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{}", "subnetName"),
    "azure-native:network:NetworkSecurityGroup": (
        "Microsoft.Network/networkSecurityGroups/{}", "networkSecurityGroupName"),
    "azure-native:network:PrivateEndpoint": ("Microsoft.Network/privateEndpoints/{}", "privateEndpointName"),
    "azure-native:network:PrivateDnsZoneGroup": (
        "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{}",
        "privateDnsZoneGroupName"),
    "azure-native:privatedns:PrivateZone": ("Microsoft.Network/privateDnsZones/{}", "privateZoneName"),
    "azure-native:privatedns:VirtualNetworkLink": (
        "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks/{}",
        "virtualNetworkLinkName"),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities/{}", "resourceName"),
    "azure-native:managedidentity:FederatedIdentityCredential": (
        "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials/{}",
        "federatedIdentityCredentialResourceName"),
    "azure-native:containerservice:ManagedCluster": (
        "Microsoft.ContainerService/managedClusters/{}", "resourceName"),
    "azure-native:containerservice:AgentPool": (
        "Microsoft.ContainerService/managedClusters/{resourceName}/agentPools/{}", "agentPoolName"),
    "azure-native:containerservice:MaintenanceConfiguration": (
        "Microsoft.ContainerService/managedClusters/{resourceName}/maintenanceConfigurations/{}",
        "configName"),
    "azure-native:dbforpostgresql:Server": ("Microsoft.DBforPostgreSQL/flexibleServers/{}", "serverName"),
    "azure-native:dbforpostgresql:Database": (
        "Microsoft.DBforPostgreSQL/flexibleServers/{serverName}/databases/{}", "databaseName"),
    "azure-native:dbforpostgresql:Configuration": (
        "Microsoft.DBforPostgreSQL/flexibleServers/{serverName}/configurations/{}", "configurationName"),
    "azure-native:dbforpostgresql:FirewallRule": (
        "Microsoft.DBforPostgreSQL/flexibleServers/{serverName}/firewallRules/{}", "firewallRuleName"),
    "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra": (
        "Microsoft.DBforPostgreSQL/flexibleServers/{serverName}/administrators/{}", "objectId"),
    "azure-native:redisenterprise:RedisEnterprise": ("Microsoft.Cache/redisEnterprise/{}", "clusterName"),
    "azure-native:redisenterprise:Database": (
        "Microsoft.Cache/redisEnterprise/{clusterName}/databases/{}", "databaseName"),
    "azure-native:redisenterprise:AccessPolicyAssignment": (
        "Microsoft.Cache/redisEnterprise/{clusterName}/databases/{databaseName}/accessPolicyAssignments/{}",
        "accessPolicyAssignmentName"),
    "azure-native:servicebus:Namespace": ("Microsoft.ServiceBus/namespaces/{}", "namespaceName"),
    "azure-native:servicebus:Queue": (
        "Microsoft.ServiceBus/namespaces/{namespaceName}/queues/{}", "queueName"),
    "azure-native:servicebus:NamespaceNetworkRuleSet": (
        "Microsoft.ServiceBus/namespaces/{namespaceName}/networkRuleSets/default", ""),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault/vaults/{}", "vaultName"),
    "azure-native:keyvault:Secret": ("Microsoft.KeyVault/vaults/{vaultName}/secrets/{}", "secretName"),
    "azure-native:keyvault:Key": ("Microsoft.KeyVault/vaults/{vaultName}/keys/{}", "keyName"),
    "azure-native:operationalinsights:Workspace": (
        "Microsoft.OperationalInsights/workspaces/{}", "workspaceName"),
    "azure-native:applicationinsights:Component": ("Microsoft.Insights/components/{}", "resourceName"),
    "azure-native:applicationinsights:Workbook": ("Microsoft.Insights/workbooks/{}", "resourceName"),
    "azure-native:portal:Dashboard": ("Microsoft.Portal/dashboards/{}", "dashboardName"),
    "azure-native:monitor:ActionGroup": ("Microsoft.Insights/actionGroups/{}", "actionGroupName"),
    "azure-native:monitor:MetricAlert": ("Microsoft.Insights/metricAlerts/{}", "ruleName"),
    "azure-native:monitor:ScheduledQueryRule": ("Microsoft.Insights/scheduledQueryRules/{}", "ruleName"),
    "azure-native:monitor:ActivityLogAlert": (
        "Microsoft.Insights/activityLogAlerts/{}", "activityLogAlertName"),
    "azure-native:monitor:DiagnosticSetting": (
        "{scope}/providers/Microsoft.Insights/diagnosticSettings/{}", "name"),
    "azure-native:monitor:SubscriptionDiagnosticSetting": (
        "/subscriptions/{sub}/providers/Microsoft.Insights/diagnosticSettings/{}", "name"),
    "azure-native:cognitiveservices:Account": ("Microsoft.CognitiveServices/accounts/{}", "accountName"),
    "azure-native:cognitiveservices:Deployment": (
        "Microsoft.CognitiveServices/accounts/{accountName}/deployments/{}", "deploymentName"),
    "azure-native:containerregistry:Registry": ("Microsoft.ContainerRegistry/registries/{}", "registryName"),
    "azure-native:storage:StorageAccount": ("Microsoft.Storage/storageAccounts/{}", "accountName"),
    "azure-native:storage:BlobContainer": (
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{}",
        "containerName"),
    "azure-native:storage:BlobServiceProperties": (
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default", ""),
    "azure-native:communication:CommunicationService": (
        "Microsoft.Communication/communicationServices/{}", "communicationServiceName"),
    "azure-native:communication:EmailService": (
        "Microsoft.Communication/emailServices/{}", "emailServiceName"),
    "azure-native:communication:Domain": (
        "Microsoft.Communication/emailServices/{emailServiceName}/domains/{}", "domainName"),
    "azure-native:monitor:DataCollectionRule": (
        "Microsoft.Insights/dataCollectionRules/{}", "dataCollectionRuleName"),
    "azure-native:monitor:DataCollectionRuleAssociation": (
        "{resourceUri}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{}", "associationName"),
    "azure-native:authorization:RoleAssignment": (
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{}", "roleAssignmentName"),
    "azure-native:authorization:ManagementLockByScope": (
        "{scope}/providers/Microsoft.Authorization/locks/{}", "lockName"),
    "azure-native:authorization:RoleDefinition": (
        "{scope}/providers/Microsoft.Authorization/roleDefinitions/{}", "roleDefinitionId"),
}


def physical_name(token: str, name: str, inputs: dict[str, Any]) -> str:
    """The name Azure would give: the explicit name input, else an auto-name (logical name + hash)."""
    key = ARM_PATHS.get(token, ("", "name"))[1]
    explicit = inputs.get(key) if key else None
    if isinstance(explicit, str) and explicit:
        return explicit
    if token == "azure-native:resources:ResourceGroup" and not explicit:
        return f"{name}{short_hash(token, name)}"
    return f"{name}{short_hash(token, name)}" if key else "default"


def arm_id(token: str, name: str, inputs: dict[str, Any]) -> str:
    sub = f"/subscriptions/{SUBSCRIPTION_ID}"
    path, _ = ARM_PATHS.get(token, (None, "name"))
    phys = physical_name(token, name, inputs)
    rg = inputs.get("resourceGroupName") or "unknown-rg"
    if token == "azure-native:resources:ResourceGroup":
        return f"{sub}/resourceGroups/{phys}"
    if path is None:  # an azure-native type not in the table: a plausible generic id
        module, typ = token.split(":")[1], token.split(":")[2]
        path = f"Microsoft.{module.capitalize()}/{typ[0].lower()}{typ[1:]}s/{{}}"
    filled = re.sub(r"\{(\w+)\}", lambda m: str(inputs.get(m.group(1), m.group(1))), path.replace("{}", phys))
    filled = filled.replace("{sub}", SUBSCRIPTION_ID)
    if path.startswith(("{scope}", "{resourceUri}", "/subscriptions")):  # extension resources
        return filled.replace("/subscriptions/sub/", f"/subscriptions/{SUBSCRIPTION_ID}/")
    return f"{sub}/resourceGroups/{rg}/providers/{filled}"


def _kubeconfig(cluster: str, fqdn: str) -> str:
    # What listClusterUserCredential returns for an AAD cluster with local accounts off: a kubelogin
    # exec config in device-code mode, which CI must convert to a non-interactive login.
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {
            "server": f"https://{fqdn}:443",
            "certificate-authority-data": base64.b64encode(b"dry-run-ca").decode()}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": f"clusterUser_{cluster}"}}],
        "current-context": cluster,
        "users": [{"name": f"clusterUser_{cluster}", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "kubelogin",
            "args": ["get-token", "--login", "devicecode",
                     "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630",
                     "--client-id", "80faf920-1908-4b52-b5ef-a8e7bedfc67a", "--tenant-id", TENANT_ID,
                     "--environment", "AzurePublicCloud"],
            "interactiveMode": "IfAvailable", "provideClusterInfo": False}}}],
    }
    return json.dumps(doc)


def cluster_fqdn(name: str, inputs: dict[str, Any], region: str) -> str:
    """AKS's API server FQDN, `{dnsPrefix}-{hash}.hcp.{region}.azmk8s.io`; the cluster's `fqdn`
    output and its kubeconfig's server must agree, so both come from here (keyed on the name)."""
    prefix = inputs.get("dnsPrefix") or name
    return f"{prefix}-{short_hash(name)}.hcp.{region}.azmk8s.io"


def _identity(urn: str) -> dict[str, str]:
    return {"principalId": guid(urn, "principal"), "clientId": guid(urn, "client"), "tenantId": TENANT_ID}


def _system_identity(inputs: dict[str, Any], urn: str) -> dict[str, Any]:
    ident = inputs.get("identity")
    if isinstance(ident, dict) and "SystemAssigned" in str(ident.get("type", "")):
        return {"identity": {**ident, "principalId": guid(urn, "system-principal"), "tenantId": TENANT_ID}}
    return {}


def user_assigned_identities(inputs: dict[str, Any], urn: str) -> dict[str, Any]:
    """azure-native v3 takes `identity.userAssignedIdentities` as a list of ids but returns a map
    id -> {principalId, clientId}: echoing the list back breaks the SDK's output types."""
    ident = inputs.get("identity")
    if not isinstance(ident, dict) or not isinstance(ident.get("userAssignedIdentities"), list):
        return {}
    ids = [i for i in ident["userAssignedIdentities"] if isinstance(i, str)]  # unknown at preview: left out
    return {"identity": {**ident, "userAssignedIdentities": {
        i: {"principalId": guid(urn, i, "principal"), "clientId": guid(urn, i, "client")} for i in ids}}}


# Read-only properties that a preview of a new resource shows as unknown even though their parent
# object is an input (the echoed input would otherwise make them look known, and absent).
def mark_preview_unknowns(state: dict[str, Any], computed: dict[str, Any], unknown: str) -> dict[str, Any]:
    """At preview, every value Azure computes is unknown, also inside objects the program passed
    (a vault's properties.vaultUri, a cluster's oidcIssuerProfile.issuerURL); values the program
    set itself stay known. `computed` is what update mode would return for the resource."""
    for key, value in computed.items():
        if isinstance(value, dict) and isinstance(state.get(key), dict):
            state[key] = mark_preview_unknowns(dict(state[key]), value, unknown)
        elif state.get(key) != value:
            state[key] = unknown
    return state


# Computed outputs per type (update mode). Each gets (physical name, inputs, urn, region).
Computed = Callable[[str, dict[str, Any], str, str], dict[str, Any]]
COMPUTED: dict[str, Computed] = {
    "azure-native:managedidentity:UserAssignedIdentity": lambda n, i, u, r: _identity(u),
    "azure-native:containerservice:ManagedCluster": lambda n, i, u, r: {
        "fqdn": cluster_fqdn(n, i, r),
        "oidcIssuerProfile": {
            **(i.get("oidcIssuerProfile") or {}),
            "issuerURL": f"https://{r}.oic.prod-aks.azure.com/{TENANT_ID}/{guid(u, 'oidc')}/"},
        "identityProfile": {"kubeletidentity": {
            "resourceId": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/MC_{n}/providers/"
                          f"Microsoft.ManagedIdentity/userAssignedIdentities/{n}-agentpool",
            "clientId": guid(u, "kubelet-client"), "objectId": guid(u, "kubelet-object")}},
        "nodeResourceGroup": i.get("nodeResourceGroup") or f"MC_{n}",
        "currentKubernetesVersion": i.get("kubernetesVersion"),
        "provisioningState": "Succeeded",
        **_system_identity(i, u),
    },
    "azure-native:dbforpostgresql:Server": lambda n, i, u, r: {
        "fullyQualifiedDomainName": f"{n}.postgres.database.azure.com", "state": "Ready"},
    "azure-native:redisenterprise:RedisEnterprise": lambda n, i, u, r: {
        "hostName": f"{n}.{r}.redis.azure.net", "provisioningState": "Succeeded"},
    "azure-native:redisenterprise:Database": lambda n, i, u, r: {"port": i.get("port", 10000)},
    "azure-native:servicebus:Namespace": lambda n, i, u, r: {
        "serviceBusEndpoint": f"https://{n}.servicebus.windows.net:443/", **_system_identity(i, u)},
    "azure-native:keyvault:Vault": lambda n, i, u, r: {
        "properties": {**(i.get("properties") or {}), "vaultUri": f"https://{n}.vault.azure.net/"}},
    "azure-native:keyvault:Secret": lambda n, i, u, r: {
        "properties": {
            "secretUri": f"https://{i.get('vaultName')}.vault.azure.net/secrets/{n}",
            "secretUriWithVersion":
                f"https://{i.get('vaultName')}.vault.azure.net/secrets/{n}/{short_hash(u, n=32)}"}},
    "azure-native:keyvault:Key": lambda n, i, u, r: {
        "keyUri": f"https://{i.get('vaultName')}.vault.azure.net/keys/{n}",
        "keyUriWithVersion": f"https://{i.get('vaultName')}.vault.azure.net/keys/{n}/{short_hash(u, n=32)}"},
    "azure-native:operationalinsights:Workspace": lambda n, i, u, r: {"customerId": guid(u, "customer")},
    "azure-native:applicationinsights:Component": lambda n, i, u, r: {
        "instrumentationKey": guid(u, "ikey"),
        "connectionString": f"InstrumentationKey={guid(u, 'ikey')};"
                            f"IngestionEndpoint=https://{r}-1.in.applicationinsights.azure.com/;"
                            f"LiveEndpoint=https://{r}.livediagnostics.monitor.azure.com/;"
                            f"ApplicationId={guid(u, 'appid')}",
        "appId": guid(u, "appid")},
    "azure-native:cognitiveservices:Account": lambda n, i, u, r: {
        "properties": {
            **(i.get("properties") or {}),
            "endpoint":
                f"https://{(i.get('properties') or {}).get('customSubDomainName') or n}.openai.azure.com/"},
        **_system_identity(i, u)},
    "azure-native:containerregistry:Registry": lambda n, i, u, r: {"loginServer": f"{n}.azurecr.io"},
    "azure-native:storage:StorageAccount": lambda n, i, u, r: {
        "primaryEndpoints": {"blob": f"https://{n}.blob.core.windows.net/"}},
    "azure-native:communication:CommunicationService": lambda n, i, u, r: {
        "hostName": f"{n}.africa.communication.azure.com", "immutableResourceId": guid(u, "acs")},
    "azure-native:communication:Domain": lambda n, i, u, r: {
        "fromSenderDomain": f"{short_hash(u)}.azurecomm.net",
        "mailFromSenderDomain": f"{short_hash(u)}.azurecomm.net"},
    "azure-native:network:PrivateEndpoint": lambda n, i, u, r: {
        "customDnsConfigs": [],
        "networkInterfaces": [{"id": f"/subscriptions/{SUBSCRIPTION_ID}/nic/{n}-nic"}]},
    # Entra (azuread) objects: object ids and client ids.
    "azuread:index/application:Application": lambda n, i, u, r: {
        "clientId": guid(u, "client"), "objectId": guid(u, "object"),
        "id": f"/applications/{guid(u, 'object')}"},
    "azuread:index/servicePrincipal:ServicePrincipal": lambda n, i, u, r: {
        "objectId": guid(u, "object"), "applicationTenantId": TENANT_ID},
    "azuread:index/group:Group": lambda n, i, u, r: {"objectId": guid(u, "object")},
}


def computed_outputs(token: str, name: str, inputs: dict[str, Any], urn: str, region: str) -> dict[str, Any]:
    fn = COMPUTED.get(token)
    return fn(physical_name(token, name, inputs), inputs, urn, region) if fn else {}


def resource_id(token: str, name: str, inputs: dict[str, Any], urn: str) -> str:
    if token.startswith("azure-native:"):
        return arm_id(token, name, inputs)
    if token.startswith("azuread:"):
        return guid(urn, "object")
    if token.startswith("kubernetes:"):
        meta = inputs.get("metadata") or {}
        ns = meta.get("namespace")
        return f"{ns}/{meta.get('name', name)}" if ns else str(meta.get("name", name))
    return f"{name}-{short_hash(urn)}"


def kubeconfig(cluster: str, fqdn: str) -> str:
    return _kubeconfig(cluster, fqdn)
