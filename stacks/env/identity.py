"""Stage 'identity': a user-assigned managed identity per service, in the service's tier-2 group."""

from __future__ import annotations

import pulumi

from components.identity import ServiceIdentity, ServiceIdentityArgs
from mystira_infra.services import SERVICES
from stacks.platform import Platform


def build(p: Platform) -> None:
    identities = {
        svc.key: ServiceIdentity(
            svc.key,
            ServiceIdentityArgs(
                name=p.namer("identity", svc.key),
                resource_group_name=p.service_rgs[svc.key].name,
                location=p.location,
                tags=p.service_tags(svc),
            ),
            opts=pulumi.ResourceOptions(parent=p.service_rgs[svc.key]),
        )
        for svc in SERVICES
    }
    p.components["identities"] = identities
    pulumi.export("serviceIdentityClientIds", {k: i.client_id for k, i in identities.items()})
