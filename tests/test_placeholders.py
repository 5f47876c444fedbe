"""Placeholder ids (1111..., 0000..., documentation examples) never reach Azure: the dry run lists
them as one warning naming the file and the keys; a real `pulumi preview`/`up` stops with one
message naming the file and every key, before any resource is registered."""

from __future__ import annotations

import pulumi
import pytest

from mystira_infra import settings
from mystira_infra.settings import SettingsError, is_placeholder_id, parse_settings, placeholder_ids
from tests.conftest import ENV_STACKS, build_stack
from tests.test_settings import PREFIX, _raw, _with

COMMITTED = [
    ("postgres.adminGroupObjectId", "11111111-1111-4111-8111-111111111111"),
    ("entra.groupRoles.Admin[0]", "22222222-2222-4222-8222-222222222222"),
    ("entra.groupRoles.Viewer[0]", "33333333-3333-4333-8333-333333333333"),
    ("externalId.tenantId", "44444444-4444-4444-8444-444444444444"),
]


@pytest.mark.parametrize("value", [
    "00000000-0000-0000-0000-000000000000", "11111111-1111-1111-1111-111111111111",
    "11111111-1111-4111-8111-111111111111", "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF",
    "12345678-1234-1234-1234-123456789012", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
])
def test_well_known_placeholders(value):
    assert is_placeholder_id(value)


@pytest.mark.parametrize("value", [
    "6dae42f8-4368-4678-94ff-3960e28e3630",  # the AKS server app: a real, well-known id
    "11111111-1111-4111-8111-111111111112",  # one digit differs: could be real
    "11111111", "", "not-a-guid",
])
def test_real_ids_and_other_text_are_not_placeholders(value):
    assert not is_placeholder_id(value)


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_settings_find_every_placeholder_of_the_committed_files(stack):
    assert placeholder_ids(parse_settings(stack, _raw(stack))) == COMMITTED


def test_placeholders_are_found_in_any_key_at_any_depth():
    raw = _with("dev", "aks", "adminGroupObjectIds", ["00000000-0000-0000-0000-000000000000"])
    found = placeholder_ids(parse_settings("dev", raw))
    assert ("aks.adminGroupObjectIds[0]", "00000000-0000-0000-0000-000000000000") in found
    assert len(found) == len(COMMITTED) + 1
    assert placeholder_ids(parse_settings("shared", _raw("shared"))) == []


def test_dry_run_lists_placeholders_as_one_warning_and_succeeds():
    r = build_stack("dev")
    assert r.ok, r.error
    warnings = [d.message for d in r.diagnostics if d.severity == "warning" and "placeholder" in d.message]
    assert len(warnings) == 1
    assert warnings[0].startswith("Pulumi.dev.yaml: placeholder ids a real `pulumi preview`/`up` refuses: ")
    for key, value in COMMITTED:
        assert f"{key} ({value})" in warnings[0]


def _load_as_a_real_run(stack: str) -> settings.Settings:
    """load_settings as the real CLI runs it: the engine's gRPC resource monitor, not the mocks.
    The channel is lazy and nothing calls it: settings fail before any RPC."""
    pulumi.runtime.reset_options(project="mystira-infra", stack=stack, monitor_address="127.0.0.1:1")
    pulumi.runtime.set_all_config({PREFIX + k: v for k, v in _raw(stack).items()})
    try:
        return settings.load_settings()
    finally:
        pulumi.runtime.set_all_config({})


def test_real_preview_or_up_refuses_with_one_message_naming_file_and_keys():
    assert not settings._under_mocks()
    with pytest.raises(SettingsError) as info:
        _load_as_a_real_run("prod")
    err = info.value
    assert err.file == "Pulumi.prod.yaml"
    assert err.key == ", ".join(k for k, _ in COMMITTED)
    assert str(err).startswith("Pulumi.prod.yaml: postgres.adminGroupObjectId, entra.groupRoles.Admin[0], ")
    assert "placeholder ids (11111111-1111-4111-8111-111111111111, " in err.reason
    assert "\n" not in str(err) and isinstance(err, pulumi.RunError)  # the CLI prints it without a traceback


def test_real_run_without_placeholders_loads():
    s = _load_as_a_real_run("shared")
    assert s.environment == "shared" and placeholder_ids(s) == []
