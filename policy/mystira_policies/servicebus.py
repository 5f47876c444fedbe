"""Service Bus namespaces.

References: MYS.SB.<NNN>.
"""

from __future__ import annotations

from .framework import (
    HIGH,
    PROD_ENVS,
    SB,
    SECURITY,
    environment,
    eq,
    get,
    resource_policy,
    truthy,
)


@resource_policy(
    "servicebus-local-auth-disabled",
    "Service Bus namespaces must disable local (SAS key) auth.",
    HIGH,
    "Set disable_local_auth=True and grant Azure Service Bus Data roles.",
    "disableLocalAuth",
    [SB],
    reference="MYS.SB.001",
    pillar=SECURITY,
)
def _sb_local(args, report):
    if not truthy(get(args.props, "disableLocalAuth")):
        report("disableLocalAuth is not true: SAS keys bypass Entra identities.")


@resource_policy(
    "servicebus-tls12",
    "Service Bus namespaces must require TLS 1.2.",
    HIGH,
    "Set minimum_tls_version='1.2'.",
    "minimumTlsVersion",
    [SB],
    reference="MYS.SB.002",
    pillar=SECURITY,
)
def _sb_tls(args, report):
    if get(args.props, "minimumTlsVersion") not in ("1.2", "1.3"):
        report(f"minimumTlsVersion is {get(args.props, 'minimumTlsVersion')!r}: set '1.2'.")


@resource_policy(
    "servicebus-public-access-prod",
    "Production Service Bus namespaces must disable public network access.",
    HIGH,
    "Set public_network_access='Disabled' (Premium) and add a private endpoint.",
    "publicNetworkAccess",
    [SB],
    reference="MYS.SB.003",
    pillar=SECURITY,
)
def _sb_public(args, report):
    env = environment(args.props)
    if env in PROD_ENVS and not eq(get(args.props, "publicNetworkAccess"), "Disabled"):
        report(f"publicNetworkAccess is {get(args.props, 'publicNetworkAccess')!r} in {env}.")
