"""Identity: role assignments, federated identity credentials, privileged roles of workloads.

References: MYS.ID.<NNN>.
"""

from __future__ import annotations

from typing import Any

from .framework import (
    CRITICAL,
    FIC_TYPES,
    HIGH,
    ROLE_ASSIGNMENT,
    SECURITY,
    PolicyConfigSchema,
    PolicyResource,
    config,
    eq,
    get,
    known,
    refers_to,
    resource_policy,
    stack_policy,
)

# Built-in role definition GUIDs a workload identity must never hold (identical in every tenant).
PRIVILEGED_ROLE_GUIDS = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}


CI_ISSUERS = ["https://token.actions.githubusercontent.com"]
_DEPLOYER_SCHEMA = PolicyConfigSchema(
    properties={
        "deployerPrincipalIds": {"type": "array", "items": {"type": "string"}},
        "ciIssuers": {"type": "array", "items": {"type": "string"}, "default": CI_ISSUERS},
    }
)


def _is_ci_deployer(principal: PolicyResource, resources: list[PolicyResource], issuers: set[str]) -> bool:
    """A principal trusted only by CI: every federated credential on it (a managed identity's, or
    the app registration's behind a service principal) is issued by a configured CI issuer."""
    linked = [principal] + [d for deps in principal.property_dependencies.values() for d in deps]
    fics = [r for r in resources if r.resource_type in FIC_TYPES and any(refers_to(r, x) for x in linked)]
    return bool(fics) and all(_issuer(f) in issuers for f in fics)


def _issuer(fic: PolicyResource) -> Any:
    return known(lambda: get(fic.props, "issuer"))


@stack_policy(
    "identity-no-privileged-workload-roles",
    "Workload identities (every service principal except CI "
    "deployers: principals whose federated credentials are all issued by a CI issuer, or listed in "
    "deployerPrincipalIds) must not hold Owner, Contributor or User Access Administrator.",
    CRITICAL,
    "Grant the narrow data-plane role the workload needs (e.g. Key Vault Secrets User, AcrPull).",
    "RoleAssignment.roleDefinitionId, .principalType, .principalId (-> identity -> federated "
    "credential issuer)",
    _DEPLOYER_SCHEMA,
    reference="MYS.ID.001",
    pillar=SECURITY,
)
def _no_privileged(args, report):
    issuers = set(config(args, "ciIssuers", CI_ISSUERS))
    deployers = {str(p).lower() for p in config(args, "deployerPrincipalIds", [])}
    for ra in (r for r in args.resources if r.resource_type == ROLE_ASSIGNMENT):
        # An unknown role id comes from a role definition created in this stack: a custom role,
        # never one of the built-in ids above.
        role = known(lambda ra=ra: get(ra.props, "roleDefinitionId"))
        guid = str(role).rstrip("/").split("/")[-1].lower() if role else ""
        if guid not in PRIVILEGED_ROLE_GUIDS or not eq(get(ra.props, "principalType"), "ServicePrincipal"):
            continue
        principals = ra.property_dependencies.get("principalId") or []
        if principals and all(_is_ci_deployer(p, args.resources, issuers) for p in principals):
            continue
        if deployers and str(get(ra.props, "principalId")).lower() in deployers:
            continue
        report(
            f"role assignment {ra.name!r} gives a workload identity {PRIVILEGED_ROLE_GUIDS[guid]}: a "
            "compromised pod could take over the scope.",
            ra.urn,
        )


@resource_policy(
    "identity-role-assignment-principal-type",
    "Role assignments must set principalType to "
    "ServicePrincipal or Group (azure-native sends 'User' when it is left out, so 'User' is refused: "
    "people get access through groups, not through the program).",
    HIGH,
    "Pass principal_type='ServicePrincipal' (managed identities, apps) or 'Group'.",
    "RoleAssignment.principalType",
    [ROLE_ASSIGNMENT],
    reference="MYS.ID.002",
    pillar=SECURITY,
)
def _principal_type(args, report):
    value = get(args.props, "principalType")
    if value not in ("ServicePrincipal", "Group", "ForeignGroup"):
        report(
            f"principalType is {value!r}: left out, the SDK sends 'User' and Azure rejects a managed "
            "identity (UnmatchedPrincipalType), and a new identity hits PrincipalNotFound; grant people "
            "access through a Group."
        )


@resource_policy(
    "identity-federated-subject-no-wildcards",
    "Federated identity credential subjects must not contain wildcards.",
    CRITICAL,
    "Name the exact subject, e.g. system:serviceaccount:<ns>:<sa> or repo:<org>/<repo>:environment:<env>.",
    "FederatedIdentityCredential.subject",
    FIC_TYPES,
    reference="MYS.ID.003",
    pillar=SECURITY,
)
def _fic_wildcards(args, report):
    subject = get(args.props, "subject")
    if not (isinstance(subject, str) and subject):
        report("subject is not set.")
    elif any(c in subject for c in "*?"):
        report(f"subject {subject!r} has a wildcard: any matching workload or branch could get the token.")
