"""Azure OpenAI: one Cognitive Services account per environment and its model deployments.

Security posture (azure-platform-facts.md 2.6, security-checklist.md 2.8):
- a unique account name AND custom subdomain per environment (the seed system reused one name in
  every environment, and a soft-deleted account blocks its name for up to 48 h / until purged);
- Entra-only: `disableLocalAuth` is on, so no key exists to leak; callers get the data-plane role
  "Cognitive Services OpenAI User" instead;
- private: public network access off and a private endpoint in the VNet (the custom subdomain is
  what makes both Entra tokens and the private endpoint's DNS name work);
- deployments written one at a time: parallel writes on one account answer 409 Conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import pulumi
from pulumi_azure_native import cognitiveservices

from components import interfaces

# Pinned model versions stay put until Azure retires them; then Azure moves the deployment to the
# current default instead of letting it stop serving. A retirement shows up as drift on the next
# refresh, which is the prompt to bump the pinned version in the stack file. (NoAutoUpgrade keeps
# the pin even past retirement, when the deployment stops answering: an outage in prod;
# OnceNewDefaultVersionAvailable would move off the pinned version silently.)
VERSION_UPGRADE_OPTION = "OnceCurrentVersionExpired"


@dataclass(frozen=True)
class ModelDeploymentSpec:
    name: str  # deployment name callers use in the API path
    model: str
    version: str  # pinned model version
    capacity: int  # thousands of tokens per minute
    sku: str = "GlobalStandard"


@dataclass(frozen=True)
class OpenAIAccountArgs:
    name: str  # physical name from the naming module; also the custom subdomain
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
    subscription_id: pulumi.Input[str]
    deployments: Sequence[ModelDeploymentSpec]
    public_network_access: bool = False
    # Where the private endpoint goes; None only when public access is on (dev, by choice).
    private_endpoint: interfaces.PrivateEndpointTarget | None = None
    # Service key -> principal id of its managed identity: gets "Cognitive Services OpenAI User".
    users: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    workspace_id: pulumi.Input[str] | None = None


class OpenAIAccount(pulumi.ComponentResource):
    id: pulumi.Output[str]
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    deployment_names: list[str]

    def __init__(
        self, name: str, args: OpenAIAccountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mystira:ai:OpenAIAccount", name, None, opts)
        if not args.public_network_access and args.private_endpoint is None:
            raise ValueError(f"{name}: public access is off, so the account needs a private endpoint target")

        account = cognitiveservices.Account(
            f"{name}-account",
            account_name=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="OpenAI",
            sku={"name": "S0"},
            # System-assigned identity: for customer-managed keys and outbound calls to other Azure
            # services without secrets.
            # cast: the provider takes the plain string; the generated TypedDict wants the enum type.
            identity=cast(cognitiveservices.IdentityArgsDict, {"type": "SystemAssigned"}),
            properties={
                # Required for Entra ID tokens and for the private endpoint's DNS name; unique per env.
                "custom_sub_domain_name": args.name,
                # No API keys: callers authenticate with Entra ID and an RBAC role (CKV_AZURE_236).
                "disable_local_auth": True,
                # Reached through the private endpoint only (CKV_AZURE_134, AI.PublicAccess).
                "public_network_access": "Enabled" if args.public_network_access else "Disabled",
                # Deny by default; with public access on (dev only) Entra auth is still required.
                "network_acls": {
                    "default_action": "Allow" if args.public_network_access else "Deny",
                    "ip_rules": [],
                    "virtual_network_rules": [],
                },
                # The account may not call out to arbitrary hosts (data exfiltration).
                "restrict_outbound_network_access": True,
                "allowed_fqdn_list": [],
            },
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m", delete="30m"),
            ),
        )

        # One at a time: parallel deployment writes on one account answer 409 Conflict
        # (azure-platform-facts.md pitfall 11; AVM's deployment_serialization_enabled).
        deployments: list[cognitiveservices.Deployment] = []
        for spec in args.deployments:
            dep = cognitiveservices.Deployment(
                f"{name}-{spec.name}",
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                deployment_name=spec.name,
                sku={"name": spec.sku, "capacity": spec.capacity},
                properties={
                    "model": {"format": "OpenAI", "name": spec.model, "version": spec.version},
                    "version_upgrade_option": VERSION_UPGRADE_OPTION,
                },
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=deployments[-1:],
                    # Congested regions have taken 30 min or more for one deployment.
                    custom_timeouts=pulumi.CustomTimeouts(create="45m", update="45m", delete="30m"),
                ),
            )
            deployments.append(dep)

        if args.private_endpoint is not None:
            interfaces.private_endpoint(
                name,
                resource_id=account.id,
                group_id="account",
                target=args.private_endpoint,
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=args.tags,
                parent=self,
            )

        for service_key, principal_id in args.users.items():
            interfaces.role_assignment(
                f"{name}-{service_key}-openai-user",
                scope=account.id,
                role="Cognitive Services OpenAI User",
                principal_id=principal_id,
                principal_type="ServicePrincipal",
                subscription_id=args.subscription_id,
                parent=self,
            )

        if args.workspace_id is not None:
            interfaces.diagnostics(name, resource_id=account.id, workspace_id=args.workspace_id, parent=self)

        self.account = account
        self.deployments = deployments
        self.id = account.id
        self.name = account.name
        # An OpenAI account with a custom subdomain answers at https://<subdomain>.openai.azure.com/
        # (the value Azure reports in properties.endpoint). Built from the account's name, which is
        # the subdomain, so it is known at preview (properties.endpoint is not known
        # until the account exists) and still waits for the account.
        self.endpoint = pulumi.Output.concat("https://", account.name, ".openai.azure.com/")
        # cast: the SDK types the identity optional; the account is created with a system-assigned one.
        self.principal_id = cast(
            pulumi.Output[str], account.identity.apply(lambda i: i.principal_id if i else None)
        )
        self.deployment_names = [d.name for d in args.deployments]
        self.register_outputs(
            {
                "id": self.id,
                "name": self.name,
                "endpoint": self.endpoint,
                "principal_id": self.principal_id,
                "deployment_names": self.deployment_names,
            }
        )
