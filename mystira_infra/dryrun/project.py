"""Read a Pulumi project directory and a stack's config the way the CLI does, without the CLI.

The CLI validates `Pulumi.<stack>.yaml` against `Pulumi.yaml`'s `config:` schema, applies its
defaults, and hands the program every value as a string (objects and arrays as JSON). `secure:`
values can't be decrypted here; the dry run passes a placeholder, marked secret, shown as
`[secret]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SECRET_PLACEHOLDER = "dry-run-secret-placeholder"


class DryRunError(Exception):
    """A problem with the project or stack files: message names the file and the key."""


@dataclass
class Project:
    directory: Path
    name: str
    main: Path
    runtime: str
    schema: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class StackConfig:
    file: Path
    values: dict[str, str]  # full key (namespace:key) -> CLI string form
    secret_keys: list[str]
    secrets_provider: str | None


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise DryRunError(f"{path}: file not found") from None
    except yaml.YAMLError as e:
        raise DryRunError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise DryRunError(f"{path}: expected a mapping at the top level")
    return data


def load_project(directory: str | Path) -> Project:
    directory = Path(directory).resolve()
    path = directory / "Pulumi.yaml"
    if not path.exists():
        raise DryRunError(f"{directory}: no Pulumi.yaml (not a Pulumi project directory)")
    data = _load_yaml(path)
    runtime = data.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise DryRunError(f"{path}: runtime: the dry run runs Python programs only, not '{runtime_name}'")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise DryRunError(f"{path}: name: missing project name")
    main = directory / str(data.get("main", "__main__.py"))
    if main.is_dir():
        main = main / "__main__.py"
    if not main.exists():
        raise DryRunError(f"{path}: main: program file {main} not found")
    schema: dict[str, dict[str, Any]] = {}
    for key, spec in (data.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(spec, dict) and ("type" in spec or "default" in spec or "description" in spec):
            schema[full] = spec
        else:  # shorthand: `key: value` is a default
            schema[full] = {"default": spec}
    return Project(directory=directory, name=name, main=main, runtime="python", schema=schema)


_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def to_cli_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def load_stack_config(project: Project, stack: str) -> StackConfig:
    path = project.directory / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project.directory.glob("Pulumi.*.yaml"))
        raise DryRunError(f"{path}: no such stack file; stacks here: {', '.join(known) or 'none'}")
    data = _load_yaml(path)
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise DryRunError(f"{path}: config: expected a mapping")
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        full = key if ":" in key else f"{project.name}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[full] = SECRET_PLACEHOLDER
            secret_keys.append(full)
            continue
        spec = project.schema.get(full)
        if spec and "type" in spec and not _TYPE_CHECKS.get(spec["type"], lambda v: True)(value):
            raise DryRunError(
                f"{path}: {key}: Pulumi.yaml declares type {spec['type']}, "
                f"got {type(value).__name__} {value!r}"
            )
        if spec and spec.get("secret"):
            raise DryRunError(
                f"{path}: {key}: declared secret in Pulumi.yaml; set it with `pulumi config set --secret`"
            )
        values[full] = to_cli_string(value)
    for full, spec in project.schema.items():
        if full in values:
            continue
        if "default" in spec:
            values[full] = to_cli_string(spec["default"])
        elif full.startswith(f"{project.name}:"):
            raise DryRunError(
                f"{path}: {full}: missing required configuration value (Pulumi.yaml declares no default)"
            )
    return StackConfig(file=path, values=values, secret_keys=secret_keys,
                       secrets_provider=data.get("secretsprovider"))
