"""What an environment stack has built so far, handed from one stage to the next.

Each stage module in `stacks/env/` reads what earlier stages set and fills its own fields; the
order is in `stacks/environment.py`. Nothing here is module-level state: one `Platform` per run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.network import CoreNetwork
from components.resource_group import ResourceGroup
from mystira_infra import tags as tagging
from mystira_infra.naming import Namer
from mystira_infra.services import Service
from mystira_infra.settings import Settings


@dataclass
class Platform:
    settings: Settings
    namer: Namer
    subscription_id: pulumi.Output[str]
    tenant_id: pulumi.Output[str]
    deployer_object_id: pulumi.Output[str]
    core_rg: ResourceGroup
    service_rgs: dict[str, ResourceGroup]
    network: CoreNetwork
    # Outputs of the shared stack (registry, email, ...), read through a StackReference.
    shared: pulumi.StackReference | None = None
    # Filled by later stages. Typed loosely here so that stage modules own their component types.
    components: dict[str, Any] = field(default_factory=dict)
    # Service key -> secret name -> value: every stage adds what its service needs; the Key Vault
    # stage writes them. Values stay pulumi secrets.
    secrets: dict[str, dict[str, pulumi.Input[str]]] = field(default_factory=dict)

    @property
    def location(self) -> str:
        return self.settings.region

    def component_tags(self, component: str) -> dict[str, str]:
        return tagging.tags(self.settings.environment, self.settings.cost_center, component=component)

    def service_tags(self, service: Service) -> dict[str, str]:
        return tagging.tags(self.settings.environment, self.settings.cost_center, service=service.workload)

    def add_secret(self, service: str, name: str, value: pulumi.Input[str]) -> None:
        bucket = self.secrets.setdefault(service, {})
        if name in bucket:
            raise ValueError(f"secret '{name}' for service '{service}' is set twice")
        bucket[name] = value
