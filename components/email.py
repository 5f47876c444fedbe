"""Email for every environment: Communication Services with an Email Service and an Azure-managed
domain (tier 3).

Communication Services is a global resource: `location` is "global" and `data_location` says where
data at rest lives (Africa by default). The Azure-managed domain (`<guid>.azurecomm.net`) needs no
DNS verification; a custom domain can be linked later next to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import communication

from components import interfaces

# Azure requires this exact name for the Azure-managed domain of an Email Service.
AZURE_MANAGED_DOMAIN = "AzureManagedDomain"
# Azure-managed domains come with this sender username.
DEFAULT_SENDER = "DoNotReply"


@dataclass(frozen=True)
class EmailArgs:
    communication_name: str  # physical names from the naming module
    email_service_name: str
    resource_group_name: pulumi.Input[str]
    data_location: str  # e.g. "Africa", "Europe", "United States"
    tags: Mapping[str, str]
    workspace_id: pulumi.Input[str] | None = None


class Email(pulumi.ComponentResource):
    communication_service_id: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    sender_domain: pulumi.Output[str]
    sender_address: pulumi.Output[str]

    def __init__(self, name: str, args: EmailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:shared:Email", name, None, opts)
        email_service = communication.EmailService(
            f"{name}-ecs",
            email_service_name=args.email_service_name,
            resource_group_name=args.resource_group_name,
            location="global",  # Communication Services resources are global
            data_location=args.data_location,  # where mail data is stored at rest
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        domain = communication.Domain(
            f"{name}-domain",
            domain_name=AZURE_MANAGED_DOMAIN,
            email_service_name=email_service.name,
            resource_group_name=args.resource_group_name,
            location="global",
            domain_management="AzureManaged",  # Azure owns DNS and verification: usable at once
            user_engagement_tracking="Disabled",  # no open/click tracking of recipients
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=email_service),
        )
        acs = communication.CommunicationService(
            f"{name}-acs",
            communication_service_name=args.communication_name,
            resource_group_name=args.resource_group_name,
            location="global",
            data_location=args.data_location,
            linked_domains=[domain.id],  # the services send from the managed domain
            # No access keys or connection strings: senders use Entra identities with a role on it.
            disable_local_auth=True,
            # ACS has no private endpoint: the services reach it publicly, with Entra tokens only.
            public_network_access="Enabled",
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.workspace_id is not None:
            interfaces.diagnostics(
                f"{name}-acs", resource_id=acs.id, workspace_id=args.workspace_id, parent=acs
            )
        self.email_service = email_service
        self.domain = domain
        self.communication_service = acs
        self.communication_service_id = acs.id
        self.endpoint = acs.host_name.apply(lambda h: f"https://{h}/")
        self.sender_domain = domain.from_sender_domain
        self.sender_address = domain.from_sender_domain.apply(lambda d: f"{DEFAULT_SENDER}@{d}")
        self.register_outputs(
            {
                "communication_service_id": self.communication_service_id,
                "endpoint": self.endpoint,
                "sender_domain": self.sender_domain,
                "sender_address": self.sender_address,
            }
        )
