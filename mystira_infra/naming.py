"""Every physical Azure name, in one place (ADR-0008).

Pattern: ``mys-{env}-{service}-{type}-{region}``, e.g. ``mys-dev-core-rg-san``. Types that forbid
dashes get the squashed form (``mysdevcorekvsan``). Globally unique names (Key Vault, storage,
registry, Redis, OpenAI subdomain, PostgreSQL, Service Bus) end in a 4-character suffix derived
from project, stack and `nameGeneration`: deterministic, different per environment, and changed
by bumping `nameGeneration` after a destroy, so a recreated stack never meets its soft-deleted
namesake (Key Vault and OpenAI accounts are soft-deleted for up to 90 days).

Each Azure type's length and charset rule is in `RULES`; `Namer` checks every name it returns.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

PREFIX = "mys"

REGION_CODES = {
    "southafricanorth": "san",
    "southafricawest": "saw",
    "westeurope": "weu",
    "northeurope": "neu",
    "uksouth": "uks",
    "eastus": "eus",
    "eastus2": "eus2",
    "swedencentral": "sdc",
}

# Squashed names (no dashes, 24 characters for Key Vault and storage) use 3-letter environment
# codes so that the longest service name still fits with the suffix: mysstgpublisherkvsan1a2b.
ENV_SHORT = {"shared": "shr", "dev": "dev", "staging": "stg", "prod": "prd"}

# Regions with availability zones (zonal node pools, zone-redundant HA, ZRS).
ZONAL_REGIONS = frozenset(
    {"southafricanorth", "westeurope", "northeurope", "uksouth", "eastus", "eastus2", "swedencentral"}
)


class NameError(ValueError):  # noqa: A001 - a naming error, not the builtin
    pass


@dataclass(frozen=True)
class Rule:
    abbrev: str  # CAF abbreviation used as {type}
    min_len: int
    max_len: int
    pattern: str  # full-match regex for the allowed charset and shape
    charset: str  # human description for error messages
    squashed: bool = False  # dashes not allowed: mysdevcorekvsan
    unique: bool = False  # globally unique DNS name: add the per-stack suffix


_DASHED = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
RULES: dict[str, Rule] = {
    "resource_group": Rule("rg", 1, 90, r"[\w().-]*[\w()-]", "letters, digits, - _ . ( )"),
    "vnet": Rule("vnet", 2, 64, r"\w[\w.-]*\w", "letters, digits, - _ ."),
    "subnet": Rule("snet", 1, 80, r"\w([\w.-]*\w)?", "letters, digits, - _ ."),
    "nsg": Rule("nsg", 1, 80, r"\w([\w.-]*\w)?", "letters, digits, - _ ."),
    "private_endpoint": Rule("pe", 2, 64, r"\w[\w.-]*\w", "letters, digits, - _ ."),
    "aks": Rule("aks", 1, 63, r"[a-zA-Z0-9][\w-]*[a-zA-Z0-9]", "letters, digits, - _"),
    "aks_pool": Rule("", 1, 12, r"[a-z][a-z0-9]*", "lowercase letters and digits, starting with a letter"),
    "identity": Rule("id", 3, 128, r"[a-zA-Z0-9][\w-]*", "letters, digits, - _"),
    "federated_credential": Rule("fic", 3, 120, r"[a-zA-Z0-9][\w-]*", "letters, digits, - _"),
    "data_collection_rule": Rule("dcr", 1, 64, r"[a-zA-Z0-9]([\w.-]*\w)?", "letters, digits, - _ ."),
    "key_vault": Rule("kv", 3, 24, r"[a-z][a-z0-9]*", "letters and digits, starting with a letter",
                      squashed=True, unique=True),
    "storage": Rule("st", 3, 24, r"[a-z0-9]+", "lowercase letters and digits", squashed=True, unique=True),
    "registry": Rule("cr", 5, 50, r"[a-z0-9]+", "letters and digits", squashed=True, unique=True),
    "postgres": Rule("psql", 3, 63, _DASHED, "lowercase letters, digits and -", unique=True),
    "redis": Rule("redis", 1, 60, _DASHED, "lowercase letters, digits and -", unique=True),
    "service_bus": Rule("sbns", 6, 50, r"[a-z][a-z0-9-]*[a-z0-9]",
                        "letters, digits and -, starting with a letter", unique=True),
    "openai": Rule("oai", 2, 64, _DASHED, "lowercase letters, digits and -", unique=True),
    "log_analytics": Rule("log", 4, 63, r"[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]", "letters, digits and -"),
    "app_insights": Rule("appi", 1, 255, r"[^%&\\?/]+", "anything but % & \\ ? /"),
    "action_group": Rule("ag", 1, 260, r"[\w.-]+", "letters, digits, - _ ."),
    "alert": Rule("alert", 1, 260, r"[^*#&+:<>?@%{}\\/]+", "anything but * # & + : < > ? @ % { } \\ /"),
    "dashboard": Rule("dash", 3, 160, r"[a-zA-Z0-9-]+", "letters, digits and -"),
    "diagnostic_setting": Rule("diag", 1, 260, r"[\w.-]+", "letters, digits, - _ ."),
    "communication": Rule("acs", 1, 63, _DASHED, "lowercase letters, digits and -", unique=True),
    "email": Rule("ecs", 1, 63, _DASHED, "lowercase letters, digits and -"),
    "lock": Rule("lock", 1, 90, r"[^<>*%:&?+/\\]+", "anything but < > * % : & ? + / \\"),
}


def region_code(region: str) -> str:
    try:
        return REGION_CODES[region]
    except KeyError:
        raise NameError(
            f"unsupported region '{region}'; supported: {', '.join(sorted(REGION_CODES))}"
        ) from None


def check(kind: str, name: str) -> str:
    """Return `name` if it meets the Azure rule for `kind`, else raise NameError saying why."""
    rule = RULES[kind]
    if not rule.min_len <= len(name) <= rule.max_len:
        raise NameError(
            f"'{name}' is {len(name)} characters; a {kind.replace('_', ' ')} name must be "
            f"{rule.min_len} to {rule.max_len}"
        )
    if not re.fullmatch(rule.pattern, name) or "--" in name and kind == "key_vault":
        raise NameError(f"'{name}' is not a valid {kind.replace('_', ' ')} name: {rule.charset}")
    return name


def check_tag_value(value: str) -> str:
    # Azure tag values: up to 256 characters. Our cost centers go into tags and names of budgets.
    if not value or len(value) > 256:
        raise NameError(f"'{value}' must be 1 to 256 characters (an Azure tag value)")
    return value


def stack_suffix(project: str, stack: str, generation: int) -> str:
    """Four base-36 characters: deterministic per stack, new after bumping `generation`."""
    digest = int(hashlib.sha256(f"{project}/{stack}/{generation}".encode()).hexdigest(), 16)
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(4):
        digest, r = divmod(digest, 36)
        out += chars[r]
    return out


@dataclass(frozen=True)
class Namer:
    env: str
    region: str
    stack: str
    generation: int = 1
    project: str = "mystira-infra"

    @property
    def suffix(self) -> str:
        return stack_suffix(self.project, self.stack, self.generation)

    def __call__(self, kind: str, service: str) -> str:
        """The physical name of a `kind` resource for `service` (core, story, admin, ...)."""
        rule = RULES[kind]
        env = ENV_SHORT.get(self.env, self.env) if rule.squashed else self.env
        parts = [PREFIX, env, service, rule.abbrev, region_code(self.region)]
        if rule.unique:
            parts.append(self.suffix)
        parts = [p for p in parts if p]
        name = "".join(parts) if rule.squashed else "-".join(parts)
        if rule.squashed or kind in ("postgres", "redis", "openai", "communication", "service_bus"):
            name = name.lower().replace("_", "")
        return check(kind, name)
