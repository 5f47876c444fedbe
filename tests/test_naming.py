"""Naming (ADR-0008): mys-{env}-{service}-{type}-{region}, squashed where dashes are forbidden,
each Azure type's length and charset rule enforced, a deterministic per-stack suffix on globally
unique names; and every name the four stacks really use passes its rule."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from mystira_infra import naming
from mystira_infra import settings as stack_settings
from mystira_infra.naming import RULES, NameError, Namer, check, stack_suffix
from mystira_infra.services import SERVICES
from tests.conftest import ALL_STACKS, stack_run

DEV = Namer("dev", "southafricanorth", "dev")


def test_dashed_pattern_and_region_code():
    assert DEV("resource_group", "core") == "mys-dev-core-rg-san"
    assert DEV("vnet", "core") == "mys-dev-core-vnet-san"
    assert Namer("prod", "westeurope", "prod")("nsg", "aks") == "mys-prod-aks-nsg-weu"


def test_squashed_kinds_have_no_dashes_and_end_in_the_suffix():
    for kind in ("key_vault", "storage", "registry"):
        name = DEV(kind, "core")
        assert "-" not in name and name == name.lower()
        assert name.startswith(f"mysdevcore{RULES[kind].abbrev}san") and name.endswith(DEV.suffix)
    # The longest service name fits Key Vault's 24 characters in staging (3-letter env code).
    assert len(Namer("staging", "southafricanorth", "staging")("key_vault", "publisher")) <= 24


def test_unique_dashed_kinds_end_in_the_suffix():
    for kind in ("postgres", "redis", "service_bus", "openai"):
        assert DEV(kind, "core").endswith(f"-san-{DEV.suffix}")


def test_suffix_is_deterministic_per_stack_and_changes_with_env_and_generation():
    assert stack_suffix("mystira-infra", "dev", 1) == stack_suffix("mystira-infra", "dev", 1)
    assert re.fullmatch(r"[0-9a-z]{4}", DEV.suffix)
    suffixes = {stack_suffix("mystira-infra", s, 1) for s in ALL_STACKS}
    assert len(suffixes) == 4
    assert stack_suffix("mystira-infra", "dev", 2) != DEV.suffix  # bump nameGeneration after a destroy
    assert Namer("dev", "southafricanorth", "dev", 2)("key_vault", "story") != DEV("key_vault", "story")


# One too-long and one bad-charset name per rule; the error says which rule and why.
@pytest.mark.parametrize("kind", sorted(RULES))
def test_each_rule_rejects_too_long_names(kind):
    rule = RULES[kind]
    with pytest.raises(NameError, match=rf"must be {rule.min_len} to {rule.max_len}"):
        check(kind, "a" * (rule.max_len + 1))


@pytest.mark.parametrize("kind", sorted(RULES))
def test_each_rule_rejects_bad_characters(kind):
    rule = RULES[kind]
    bad = "ab%cd" if "%" not in rule.charset or "anything but" not in rule.charset else "ab/cd"
    if kind in (
        "resource_group",
        "vnet",
        "subnet",
        "nsg",
        "private_endpoint",
        "identity",
        "federated_credential",
        "action_group",
        "lock",
        "aks",
    ):
        bad = "ab*cd" if kind != "lock" else "ab<cd"
    if kind in ("alert", "app_insights"):
        bad = "ab/cd"
    bad = bad.ljust(rule.min_len, "x")[: rule.max_len]
    with pytest.raises(NameError, match="is not a valid"):
        check(kind, bad)


@pytest.mark.parametrize(
    "kind, name",
    [
        ("key_vault", "MysDevKv"),
        ("storage", "mys-dev-st"),
        ("registry", "mys_cr"),
        ("aks_pool", "System"),
        ("aks_pool", "1pool"),
        ("postgres", "-psql"),
        ("redis", "redis-"),
        ("key_vault", "ab--cd"),
    ],
)
def test_specific_charset_rules(kind, name):
    with pytest.raises(NameError):
        check(kind, name)


def test_limits_from_the_issue():
    assert (RULES["key_vault"].min_len, RULES["key_vault"].max_len) == (3, 24)
    assert (RULES["storage"].min_len, RULES["storage"].max_len) == (3, 24)
    assert (RULES["registry"].min_len, RULES["registry"].max_len) == (5, 50)
    assert (RULES["aks_pool"].min_len, RULES["aks_pool"].max_len) == (1, 12)


def test_unsupported_region_is_an_error():
    with pytest.raises(NameError, match="unsupported region"):
        Namer("dev", "moon", "dev")("vnet", "core")


# Physical-name input per recorded type -> the naming rule it must pass.
NAME_INPUTS: dict[str, tuple[str, str]] = {
    "azure-native:resources:ResourceGroup": ("resourceGroupName", "resource_group"),
    "azure-native:network:VirtualNetwork": ("virtualNetworkName", "vnet"),
    "azure-native:network:Subnet": ("subnetName", "subnet"),
    "azure-native:network:NetworkSecurityGroup": ("networkSecurityGroupName", "nsg"),
    "azure-native:keyvault:Vault": ("vaultName", "key_vault"),
    "azure-native:containerservice:ManagedCluster": ("resourceName", "aks"),
    "azure-native:containerservice:AgentPool": ("agentPoolName", "aks_pool"),
    "azure-native:managedidentity:UserAssignedIdentity": ("resourceName", "identity"),
    "azure-native:dbforpostgresql:Server": ("serverName", "postgres"),
    "azure-native:redisenterprise:RedisEnterprise": ("clusterName", "redis"),
    "azure-native:servicebus:Namespace": ("namespaceName", "service_bus"),
    "azure-native:cognitiveservices:Account": ("accountName", "openai"),
    "azure-native:operationalinsights:Workspace": ("workspaceName", "log_analytics"),
    "azure-native:applicationinsights:Component": ("resourceName", "app_insights"),
    "azure-native:monitor:ActionGroup": ("actionGroupName", "action_group"),
    "azure-native:containerregistry:Registry": ("registryName", "registry"),
    "azure-native:storage:StorageAccount": ("accountName", "storage"),
    "azure-native:communication:CommunicationService": ("communicationServiceName", "communication"),
}


def _used_names(stack: str) -> list[tuple[str, str, str]]:
    out = []
    for rec in stack_run(stack).records:
        if rec.type in NAME_INPUTS:
            key, kind = NAME_INPUTS[rec.type]
            name = rec.inputs.get(key)
            assert isinstance(name, str), f"{stack}: {rec.type} {rec.name} has no literal {key}"
            out.append((kind, name, rec.name))
    return out


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_name_a_stack_uses_passes_its_rule(stack):
    used = _used_names(stack)
    assert used
    env = naming.ENV_SHORT[stack] if stack != "dev" else "dev"
    for kind, name, logical in used:
        check(kind, name)
        if kind != "aks_pool":  # pool names are settings (system, chain, ...), checked at parse time
            assert name.startswith((f"mys-{stack}-", f"mys{env}")), f"{logical}: {name} breaks ADR-0008"


def test_no_two_environments_share_a_globally_unique_name():
    owner: dict[tuple[str, str], str] = {}
    for stack in ALL_STACKS:
        for kind, name, _ in _used_names(stack):
            if RULES[kind].unique:
                assert (kind, name) not in owner, (
                    f"{kind} {name} used by {owner.get((kind, name))} and {stack}"
                )
                owner[(kind, name)] = stack
    assert owner


# ---- property-based (hypothesis): every generated name passes its type's rule ----------------

CHEAP = hypothesis_settings(max_examples=40, deadline=None)
ENVS = st.sampled_from(sorted(naming.ENV_SHORT))
REGIONS = st.sampled_from(sorted(naming.REGION_CODES))
PARTS = st.sampled_from([*(s.key for s in SERVICES), *stack_settings.INFRA_NAME_PARTS])
STACKS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=30)
KINDS = st.sampled_from(sorted(k for k in RULES if k != "aks_pool"))


@CHEAP
@given(ENVS, REGIONS, STACKS, st.integers(min_value=1, max_value=10_000), KINDS, PARTS)
def test_generated_names_pass_their_rule_or_settings_refuse_the_region(env, region, stack, gen, kind, part):
    namer = Namer(env, region, stack, gen)
    try:
        name = namer(kind, part)
    except NameError:
        # Only a region whose code makes a name too long, and settings refuse that region up front.
        assert stack_settings.names_problem(env, region, stack, gen) is not None
        return
    rule = RULES[kind]
    assert check(kind, name) == name and rule.min_len <= len(name) <= rule.max_len
    assert naming.region_code(region) in name
    if rule.squashed:
        assert "-" not in name and name == name.lower()
    if rule.unique:
        assert name.endswith(namer.suffix) and len(namer.suffix) == 4


@CHEAP
@given(ENVS, st.sampled_from([r for r, c in naming.REGION_CODES.items() if len(c) == 3]), STACKS,
       st.integers(min_value=1, max_value=10_000))
def test_every_name_fits_in_regions_with_three_letter_codes(env, region, stack, gen):
    assert stack_settings.names_problem(env, region, stack, gen) is None
    namer = Namer(env, region, stack, gen)
    squashed = [(k, namer(k, p.key)) for k in RULES if RULES[k].squashed for p in SERVICES]
    assert len(squashed) >= 3 * len(SERVICES)  # key vault, storage, registry
    assert all(len(n) <= RULES[k].max_len and "-" not in n for k, n in squashed)


@CHEAP
@given(st.text(min_size=0, max_size=40))
def test_key_vault_rule_accepts_exactly_azures_shape(name):
    ok = (3 <= len(name) <= 24 and re.fullmatch(r"[a-z][a-z0-9]*", name) is not None)
    try:
        check("key_vault", name)
        accepted = True
    except NameError:
        accepted = False
    assert accepted == ok


@CHEAP
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20))
def test_aks_pool_names_up_to_12_lowercase_starting_with_a_letter(name):
    try:
        check("aks_pool", name)
        accepted = True
    except NameError:
        accepted = False
    assert accepted == (len(name) <= 12 and name[0].isalpha())
