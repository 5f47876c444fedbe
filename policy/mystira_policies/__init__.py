"""Mystira's CrossGuard policies, as a plain package (no PolicyPack here: building one starts a server).

`policy/__main__.py` builds the pack from `POLICIES`; the tests and the dry run import this package
(the CLI and the dry run both put `policy/` on `sys.path`). The package must not import the Pulumi
program: it governs any program, ours included.

Layout (one module per service or resource family, as PSRule for Azure keeps one rule file per
resource type):

- `framework.py`: the policy table (`Spec`, `resource_policy`, `stack_policy`, exemptions), the
  readers that walk the analyzer's proxies (`get`, `has`, `items`, `eq`, `truthy`, `known`,
  `refers_to`, `environment`, `config`), the environment sets, `Pillar`, shared type tokens.
- one module per service: `aks`, `keyvault`, `postgres`, `redis`, `servicebus`, `registry`,
  `storage`, `openai`, `network`, `identity`, `kubernetes`, `platform`, and `stack` (checks that
  follow links between resources of different services).

The pack's policies run in the order the modules are imported below (and, in each module, in the
order they are written): the dry run reports violations in that order, so keep it stable.

Adding a policy
---------------
1. Put it in the module of the service it governs, or in a new module `mystira_policies/<service>.py`
   whose docstring names its area code (`References: MYS.<AREA>.<NNN>.`, 2-6 capitals/digits, not
   used by another module). A module starts with `from .framework import resource_policy, get, ...`
   (`from mystira_policies import ...` works too: the framework is imported before any module).
2. Decorate the check with `@resource_policy(id, description, severity, remediation, reads, types,
   config_schema, reference="MYS.<AREA>.<NNN>", pillar=SECURITY)` (or `@stack_policy`). The
   reference is the area's next number never used; never renumber or reuse one (a removed policy
   retires its number). The pillar is the Well-Architected pillar its violation hurts most.
3. Add a new module's name to `MODULES` below (at the end, so existing policies keep their order).
4. Add a compliant and a violating case to `tests/test_policies.py`, list the id in
   `policy/config/*.json` only if it is not `all`-mandatory everywhere, and run `make policy-docs`
   (tests/test_policy_docs.py fails while docs/policy.md is stale, or a policy lacks a reference
   or a pillar).

A policy file written against the former single module (`policy/<topic>_policies.py` doing
`from mystira_policies import resource_policy, Spec, get, ...`) still works imported at the end of
this file (`import <topic>_policies  # noqa: E402,F401`); to move it into the package, add its
reference and pillar and list it in `MODULES`.
"""

from __future__ import annotations

import importlib
from typing import Any

from .framework import *  # noqa: F403  (the framework, re-exported for policy modules)
from .framework import SPECS

# The policy modules, in the pack's order (importing one registers its policies). A list rather than
# import statements, so no import sorter can reorder the pack.
MODULES = (
    "aks",
    "keyvault",
    "postgres",
    "redis",
    "servicebus",
    "registry",
    "storage",
    "openai",
    "network",
    "identity",
    "kubernetes",
    "platform",
    "stack",
)
for _module in MODULES:
    importlib.import_module(f"{__name__}.{_module}")

# Service constants, re-exported where the single module had them.
from .aks import DEFAULT_MIN_K8S_VERSION  # noqa: E402,F401
from .identity import CI_ISSUERS, PRIVILEGED_ROLE_GUIDS  # noqa: E402,F401
from .kubernetes import LOADBALANCER_REASON_ANNOTATION  # noqa: E402,F401
from .network import DEFAULT_INGRESS_PORTS, INTERNET_SOURCES, NSG_EXEMPT_SUBNETS  # noqa: E402,F401
from .platform import (  # noqa: E402,F401
    NAMING_RULES,
    PLAINTEXT_SECRET_KEYS,
    REQUIRED_TAGS,
    SECRET_HOLDING_TYPES,
    STATEFUL_TYPES,
    TAGGABLE_TYPES,
)
from .stack import DIAGNOSTIC_TYPES  # noqa: E402,F401


def __getattr__(name: str) -> Any:
    # Computed on each read, so a policy module imported after this package (a `policy/*_policies.py`
    # file) is listed too.
    if name == "POLICY_IDS":
        return [s.id for s in SPECS]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
