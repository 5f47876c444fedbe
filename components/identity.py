"""A service's workload identity: a user-assigned managed identity in its tier-2 resource group.

Its federated credential (the trust between the AKS OIDC issuer and this identity) is added by the
cluster stage once the issuer URL exists; see `components/aks.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import managedidentity


@dataclass(frozen=True)
class ServiceIdentityArgs:
    name: str  # physical name from the naming module
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]


class ServiceIdentity(pulumi.ComponentResource):
    id: pulumi.Output[str]
    name: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    client_id: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mystira:identity:ServiceIdentity", name, None, opts)
        uami = managedidentity.UserAssignedIdentity(
            f"{name}-id",
            resource_name_=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.identity = uami
        self.id = uami.id
        self.name = uami.name
        self.principal_id = uami.principal_id
        self.client_id = uami.client_id
        self.resource_group_name = args.resource_group_name
        self.register_outputs(
            {"id": self.id, "name": self.name, "principal_id": self.principal_id, "client_id": self.client_id}
        )
