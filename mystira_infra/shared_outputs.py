"""The contract between the shared stack and the environment stacks.

The shared stack exports every key in `SHARED_OUTPUTS`; environment stacks read them through a
`pulumi.StackReference` with `require_shared`, which fails with a clear message when the shared
stack doesn't (yet) export a key.
"""

from __future__ import annotations

from typing import Any

import pulumi

SHARED_OUTPUTS: dict[str, str] = {
    "registryId": "ARM id of the container registry (scope of AcrPull for each cluster's kubelet identity)",
    "registryLoginServer": "login server of the container registry, e.g. myscr.azurecr.io",
}


def require_shared(ref: pulumi.StackReference, key: str) -> pulumi.Output[Any]:
    if key not in SHARED_OUTPUTS:
        raise KeyError(f"'{key}' is not part of the shared stack's contract (mystira_infra/shared_outputs.py)")

    def check(value: Any) -> Any:
        if value is None and not pulumi.runtime.is_dry_run():
            raise pulumi.RunError(
                f"the shared stack ({ref._name}) does not export '{key}' ({SHARED_OUTPUTS[key]}); "
                "run `pulumi up` on the shared stack first"
            )
        return value

    return ref.get_output(key).apply(check)
