"""The dry run reads a project and a stack's config as the Pulumi CLI would, and says what is wrong.

Every problem with `Pulumi.yaml` or `Pulumi.<stack>.yaml` names the file and the key, before
anything runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mystira_infra.dryrun.project import (
    SECRET_PLACEHOLDER,
    DryRunError,
    load_project,
    load_stack_config,
)

PROJECT = """\
name: demo
runtime:
  name: python
config:
  demo:count: {type: integer, default: 2}
  demo:zone: {type: string}
  demo:tier: basic
  demo:token: {type: string, secret: true}
"""


def project_dir(tmp_path: Path, pulumi_yaml: str = PROJECT, stack: str | None = None,
                main: bool = True) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(pulumi_yaml)
    if main:
        (tmp_path / "__main__.py").write_text("")
    if stack is not None:
        (tmp_path / "Pulumi.dev.yaml").write_text(stack)
    return tmp_path


def test_config_reaches_the_program_as_the_cli_passes_it(tmp_path):
    d = project_dir(tmp_path, stack="config:\n  demo:zone: a\n  demo:token: {secure: v1:abc}\n"
                                     "  azure-native:location: westeurope\n  demo:extra: {x: [1, true]}\n")
    cfg = load_stack_config(load_project(d), "dev")
    assert cfg.values["demo:count"] == "2"  # schema default, as a string
    assert cfg.values["demo:tier"] == "basic"  # shorthand default
    assert cfg.values["demo:extra"] == '{"x": [1, true]}'  # objects as JSON text
    assert cfg.values["azure-native:location"] == "westeurope"
    assert cfg.values["demo:token"] == SECRET_PLACEHOLDER and cfg.secret_keys == ["demo:token"]


@pytest.mark.parametrize(
    "pulumi_yaml, main, message",
    [
        ("name: demo\nruntime: nodejs\n", True, "Pulumi.yaml: runtime: the dry run runs Python programs"),
        ("runtime: python\n", True, "Pulumi.yaml: name: missing project name"),
        ("name: demo\nruntime: python\n", False, "Pulumi.yaml: main: program file"),
        ("name: demo\nruntime: [python\n", True, "Pulumi.yaml: not valid YAML"),
        ("- name\n- demo\n", True, "Pulumi.yaml: expected a mapping at the top level"),
    ],
)
def test_bad_project_file(tmp_path, pulumi_yaml, main, message):
    d = project_dir(tmp_path, pulumi_yaml, main=main)
    with pytest.raises(DryRunError, match=message):
        load_project(d)


def test_not_a_project_directory(tmp_path):
    with pytest.raises(DryRunError, match="no Pulumi.yaml"):
        load_project(tmp_path)


def test_main_may_name_a_directory(tmp_path):
    d = project_dir(tmp_path, "name: demo\nruntime: python\nmain: app/\n", main=False)
    (d / "app").mkdir()
    (d / "app" / "__main__.py").write_text("")
    assert load_project(d).main == d / "app" / "__main__.py"


@pytest.mark.parametrize(
    "stack, message",
    [
        ("config:\n  demo:zone: a\n  demo:count: three\n",
         "Pulumi.dev.yaml: demo:count: Pulumi.yaml declares type integer, got str 'three'"),
        ("config:\n  demo:zone: a\n  demo:token: plain\n",
         "Pulumi.dev.yaml: demo:token: declared secret in Pulumi.yaml"),
        ("config:\n  demo:count: 3\n",
         "Pulumi.dev.yaml: demo:zone: missing required configuration value"),
        ("config: [a, b]\n", "Pulumi.dev.yaml: config: expected a mapping"),
    ],
)
def test_bad_stack_file(tmp_path, stack, message):
    d = project_dir(tmp_path, stack=stack)
    with pytest.raises(DryRunError, match=message):
        load_stack_config(load_project(d), "dev")


def test_missing_stack_file_lists_the_stacks_that_exist(tmp_path):
    d = project_dir(tmp_path, stack="config: {}\n")
    with pytest.raises(DryRunError, match="no such stack file; stacks here: dev"):
        load_stack_config(load_project(d), "prod")
