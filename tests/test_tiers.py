"""Resource-group tiers (DESIGN.md section 2): tier 1 core RG per environment, tier 2 one RG per
service in the catalogue, tier 3 only in the shared stack; tags; CanNotDelete locks in prod."""

from __future__ import annotations

import importlib
import inspect

import pytest

from mystira_infra.services import SERVICES
from tests.conftest import ENV_STACKS, stack_run
from tests.helpers import of_type

RG = "azure-native:resources:ResourceGroup"
LOCK = "azure-native:authorization:ManagementLockByScope"
BASE_TAGS = {"Project": "Mystira", "ManagedBy": "pulumi", "CostCenter": "mystira-platform"}


def _groups(stack: str) -> dict[str, dict]:
    return {r.inputs["resourceGroupName"]: r for r in of_type(stack_run(stack), RG)}


def test_env_stack_has_core_group_and_one_group_per_service(env_stack):
    groups = _groups(env_stack)
    expected = {f"mys-{env_stack}-core-rg-san"} | {f"mys-{env_stack}-{s.key}-rg-san" for s in SERVICES}
    assert set(groups) == expected
    assert groups[f"mys-{env_stack}-core-rg-san"].inputs["tags"]["Tier"] == "1"
    for svc in SERVICES:
        tags = groups[f"mys-{env_stack}-{svc.key}-rg-san"].inputs["tags"]
        assert tags["Tier"] == "2" and tags["Service"] == svc.workload


def test_shared_stack_has_only_shared_tier3_groups():
    groups = _groups("shared")
    assert groups and all(name.startswith("mys-shared-") for name in groups)
    assert all(r.inputs["tags"]["Tier"] == "3" for r in groups.values())
    for env in ENV_STACKS:  # and no environment stack creates a shared group
        assert not any(name.startswith("mys-shared-") for name in _groups(env))


@pytest.mark.parametrize("stack", ["shared", *ENV_STACKS])
def test_group_tags(stack):
    for name, rec in _groups(stack).items():
        tags = rec.inputs["tags"]
        assert tags["Environment"] == stack
        assert BASE_TAGS.items() <= tags.items(), name
        assert ("Component" in tags) != ("Service" in tags), name
        assert tags.get("Critical") == ("true" if stack == "prod" else None), name


def _taggable(token: str) -> bool:
    """Whether the azure-native resource type accepts `tags` (read from the SDK's own signature)."""
    _, module, cls = token.split(":")
    resource = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), cls)
    return "tags" in inspect.signature(resource._internal_init).parameters


@pytest.mark.parametrize("stack", ["shared", *ENV_STACKS])
def test_everything_taggable_carries_the_tags(stack):
    records = stack_run(stack).records
    taggable = [r for r in records if r.type.startswith("azure-native:") and _taggable(r.type)]
    assert len(taggable) >= 10  # the shared stack has the fewest
    for rec in taggable:
        tags = rec.inputs.get("tags")
        assert isinstance(tags, dict), f"{rec.type} {rec.name} accepts tags but has none"
        assert tags.get("Environment") == stack, f"{rec.type} {rec.name}"
        assert BASE_TAGS.items() <= tags.items(), f"{rec.type} {rec.name}: {tags}"
        assert ("Component" in tags) or ("Service" in tags), f"{rec.type} {rec.name}"
        assert tags.get("Critical") == ("true" if stack == "prod" else None), f"{rec.type} {rec.name}"


def _locked_groups(stack: str) -> set[str]:
    result = stack_run(stack)
    return {
        result.get(lock.parent).inputs["resourceGroupName"]
        for lock in of_type(result, LOCK)
        if result.get(lock.parent).type == RG
    }


def test_prod_groups_are_locked_cannot_delete():
    assert _locked_groups("prod") == set(_groups("prod"))
    for lock in of_type(stack_run("prod"), LOCK):
        assert lock.inputs["level"] == "CanNotDelete"


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_non_prod_groups_are_not_locked(stack):
    # Resource-group locks are a prod rule; a component may still lock its own data elsewhere.
    assert _locked_groups(stack) == set()
