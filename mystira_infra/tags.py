"""Tags on everything taggable (DESIGN.md section 3)."""

from __future__ import annotations


def tags(environment: str, cost_center: str, *, service: str | None = None,
         component: str | None = None) -> dict[str, str]:
    if (service is None) == (component is None):
        raise ValueError("tags: give exactly one of service= or component=")
    out = {
        "Environment": environment,
        "Project": "Mystira",
        "ManagedBy": "pulumi",
        "CostCenter": cost_center,
    }
    if service is not None:
        out["Service"] = service
    else:
        out["Component"] = component  # type: ignore[assignment]
    if environment == "prod":
        out["Critical"] = "true"
    return out
