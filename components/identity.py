"""A service's workload identity: a user-assigned managed identity in its tier-2 resource group.

Its federated credentials (the trust between the AKS OIDC issuer and this identity) are a
`WorkloadFederation` below, added by the cluster stage (`stacks/env/cluster.py`) once the issuer
URL exists.
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
    resource_group_name: pulumi.Input[str]  # where federated credentials on this identity go

    def __init__(
        self, name: str, args: ServiceIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
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


@dataclass(frozen=True)
class FederatedSubject:
    name: str  # physical credential name (naming rule "federated_credential")
    subject: str  # system:serviceaccount:<namespace>:<service account>


@dataclass(frozen=True)
class WorkloadFederationArgs:
    identity_name: pulumi.Input[str]  # the managed identity that trusts the issuer
    resource_group_name: pulumi.Input[str]
    issuer: pulumi.Input[str]  # the AKS cluster's OIDC issuer URL
    subjects: tuple[FederatedSubject, ...]
    audience: str = "api://AzureADTokenExchange"  # the only audience Entra accepts for token exchange


class WorkloadFederation(pulumi.ComponentResource):
    """Federated credentials on one managed identity: the trust between a Kubernetes service
    account and the identity. Azure rejects concurrent writes of credentials on one identity
    (ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity), so each credential
    depends on the one before it."""

    credential_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: WorkloadFederationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mystira:identity:WorkloadFederation", name, None, opts)
        if len({s.subject for s in args.subjects}) != len(args.subjects):
            raise ValueError(f"{name}: a subject is federated twice")
        self.credentials: list[managedidentity.FederatedIdentityCredential] = []
        previous: list[pulumi.Resource] = []
        for i, s in enumerate(args.subjects):
            fic = managedidentity.FederatedIdentityCredential(
                f"{name}-fic{i}",
                federated_identity_credential_resource_name=s.name,
                resource_name_=args.identity_name,
                resource_group_name=args.resource_group_name,
                issuer=args.issuer,
                subject=s.subject,
                audiences=[args.audience],
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),  # one write at a time
            )
            self.credentials.append(fic)
            previous = [fic]
        self.credential_names = pulumi.Output.all(*[c.name for c in self.credentials]).apply(list)
        self.register_outputs({"credential_names": self.credential_names})
