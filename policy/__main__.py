"""Builds the policy pack (and nothing else): the policies live in the package mystira_policies/.

Constructing PolicyPack starts the analyzer's gRPC server, so tests and the dry run import
mystira_policies instead of this file.
"""

from mystira_policies import DEFAULT_ENFORCEMENT, PACK_NAME, POLICIES
from pulumi_policy import PolicyPack

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=DEFAULT_ENFORCEMENT,
)
