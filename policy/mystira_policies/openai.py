"""Azure OpenAI / AI Services accounts (cognitiveservices:Account of kind OpenAI or AIServices).

References: MYS.OAI.<NNN>.
"""

from __future__ import annotations

from typing import Any

from .framework import (
    COG,
    HIGH,
    SECURITY,
    STRICT_ENVS,
    environment,
    eq,
    get,
    resource_policy,
    truthy,
)


def _is_openai(props: Any) -> bool:
    kind = get(props, "kind")
    return isinstance(kind, str) and kind.lower() in ("openai", "aiservices")


@resource_policy(
    "openai-local-auth-disabled",
    "OpenAI accounts must disable local (API key) auth.",
    HIGH,
    "Set properties.disable_local_auth=True; grant 'Cognitive Services OpenAI User'.",
    "properties.disableLocalAuth",
    [COG],
    reference="MYS.OAI.001",
    pillar=SECURITY,
)
def _oai_local(args, report):
    if _is_openai(args.props) and not truthy(get(args.props, "properties", "disableLocalAuth")):
        report("properties.disableLocalAuth is not true: API keys bypass Entra identities.")


@resource_policy(
    "openai-public-access-disabled",
    "OpenAI accounts in staging and production must disable public network access.",
    HIGH,
    "Set properties.public_network_access='Disabled' and add a private endpoint.",
    "properties.publicNetworkAccess",
    [COG],
    reference="MYS.OAI.002",
    pillar=SECURITY,
)
def _oai_public(args, report):
    env = environment(args.props)
    if (
        _is_openai(args.props)
        and env in STRICT_ENVS
        and not eq(get(args.props, "properties", "publicNetworkAccess"), "Disabled")
    ):
        report(f"properties.publicNetworkAccess is not Disabled in {env}.")


@resource_policy(
    "openai-custom-subdomain",
    "OpenAI accounts must set a custom subdomain (needed for Entra tokens and private endpoints).",
    HIGH,
    "Set properties.custom_sub_domain_name to the account's unique name.",
    "properties.customSubDomainName",
    [COG],
    reference="MYS.OAI.003",
    pillar=SECURITY,
)
def _oai_subdomain(args, report):
    value = get(args.props, "properties", "customSubDomainName")
    if _is_openai(args.props) and not (isinstance(value, str) and value):
        report("properties.customSubDomainName is not set: Entra auth and private endpoints won't work.")
