"""Azure Container Registry.

References: MYS.ACR.<NNN>.
"""

from __future__ import annotations

from .framework import (
    ACR,
    HIGH,
    MEDIUM,
    SECURITY,
    eq,
    get,
    resource_policy,
    truthy,
)


@resource_policy(
    "registry-admin-user-disabled",
    "Container registries must disable the admin user.",
    HIGH,
    "Set admin_user_enabled=False; pull with AcrPull on the kubelet identity.",
    "adminUserEnabled",
    [ACR],
    reference="MYS.ACR.001",
    pillar=SECURITY,
)
def _acr_admin(args, report):
    if truthy(get(args.props, "adminUserEnabled")):
        report("adminUserEnabled is true: a shared username/password can push and pull every image.")


@resource_policy(
    "registry-anonymous-pull-disabled",
    "Container registries must disable anonymous pull.",
    HIGH,
    "Set anonymous_pull_enabled=False.",
    "anonymousPullEnabled",
    [ACR],
    reference="MYS.ACR.002",
    pillar=SECURITY,
)
def _acr_anon(args, report):
    if truthy(get(args.props, "anonymousPullEnabled")):
        report("anonymousPullEnabled is true: anyone on the internet can pull the images.")


@resource_policy(
    "registry-public-access-limited",
    "Container registries must disable public access or deny by default.",
    MEDIUM,
    "Set public_network_access='Disabled' (with a private endpoint) or "
    "network_rule_set.default_action='Deny' (Premium).",
    "publicNetworkAccess, networkRuleSet.defaultAction",
    [ACR],
    reference="MYS.ACR.003",
    pillar=SECURITY,
)
def _acr_public(args, report):
    if eq(get(args.props, "publicNetworkAccess"), "Disabled"):
        return
    if eq(get(args.props, "networkRuleSet", "defaultAction"), "Deny"):
        return
    report("publicNetworkAccess is not Disabled and networkRuleSet.defaultAction is not Deny.")
