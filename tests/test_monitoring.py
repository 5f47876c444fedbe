"""Log Analytics, Application Insights per service, the action group, the workbook (issue 5)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from mystira_infra.dryrun.mocks import Secret
from mystira_infra.dryrun.runner import run_stack
from mystira_infra.naming import Namer
from mystira_infra.services import SERVICES
from tests.conftest import ROOT, stack_run
from tests.helpers import inputs, is_unknown, of_type

WORKSPACE = "azure-native:operationalinsights:Workspace"
APPI = "azure-native:applicationinsights:Component"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
WORKBOOK = "azure-native:applicationinsights:Workbook"
SECRET = "azure-native:keyvault:Secret"

# The platform's log retention per environment (DESIGN.md section 4).
RETENTION = {"dev": 30, "staging": 60, "prod": 90}


def stack_yaml(stack: str) -> dict:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]


def namer(stack: str) -> Namer:
    return Namer(stack, "southafricanorth", stack)


def workspace(result):
    (ws,) = of_type(result, WORKSPACE)  # exactly one per environment
    return ws


def test_workspace_retention_per_environment(env_stack):
    ws = inputs(workspace(stack_run(env_stack)))
    assert ws["retentionInDays"] == RETENTION[env_stack]
    assert ws["sku"] == {"name": "PerGB2018"}
    assert ws["resourceGroupName"] == namer(env_stack)("resource_group", "core")


def test_daily_ingestion_cap_only_in_dev(env_stack):
    ws = inputs(workspace(stack_run(env_stack)))
    if env_stack == "dev":
        assert ws["workspaceCapping"] == {"dailyQuotaGb": 2.0}
    else:
        assert "workspaceCapping" not in ws, "staging and prod must never drop telemetry at a cap"


def test_workspace_accepts_entra_auth_only(env_stack):
    features = inputs(workspace(stack_run(env_stack)))["features"]
    assert features["disableLocalAuth"] is True
    assert features["enableLogAccessUsingOnlyResourcePermissions"] is True


def test_one_workspace_based_app_insights_per_service(env_stack, mode):
    result = stack_run(env_stack, mode)
    ws = workspace(result)
    components = {r.name: inputs(r) for r in of_type(result, APPI)}
    assert sorted(components) == sorted(f"{s.key}-appi" for s in SERVICES)
    for svc in SERVICES:
        c = components[f"{svc.key}-appi"]
        assert c["resourceGroupName"] == namer(env_stack)("resource_group", svc.key), (
            "tier 2: the service's group"
        )
        assert c["resourceName"] == namer(env_stack)("app_insights", svc.key)
        assert c["kind"] == "web" and c["applicationType"] == "web"
        assert c["ingestionMode"] == "LogAnalytics"
        # Instrumentation-key ingestion off (the SDK default and the AVM default are on).
        assert c["disableLocalAuth"] is True
        if mode == "update":
            assert c["workspaceResourceId"] == ws.id
        else:
            assert is_unknown(c["workspaceResourceId"])


def test_each_vault_holds_its_own_services_connection_string(env_stack):
    result = stack_run(env_stack)
    secrets = [
        r for r in of_type(result, SECRET) if inputs(r).get("secretName") == "appinsights-connection-string"
    ]
    assert len(secrets) == len(SERVICES)
    by_vault = {inputs(r)["vaultName"]: r for r in secrets}
    seen = set()
    for svc in SERVICES:
        appi = result.one(APPI, f"{svc.key}-appi")
        connection = appi.outputs["connectionString"]
        assert connection.startswith("InstrumentationKey=")
        secret = by_vault[namer(env_stack)("key_vault", svc.key)]
        # A secret value makes the whole `properties` object secret on the wire.
        assert isinstance(secret.inputs["properties"], Secret), (
            "the connection string must stay a pulumi secret"
        )
        assert inputs(secret)["properties"]["value"] == connection, (
            f"{svc.key}'s vault holds another service's connection string"
        )
        seen.add(connection)
    assert len(seen) == len(SERVICES)


def test_action_group_emails_come_from_settings(env_stack):
    (group,) = of_type(stack_run(env_stack), ACTION_GROUP)
    g = inputs(group)
    expected = stack_yaml(env_stack)["mystira-infra:monitoring"]["alertEmails"]
    assert [r["emailAddress"] for r in g["emailReceivers"]] == expected
    assert all(r["useCommonAlertSchema"] for r in g["emailReceivers"])
    assert len(g["groupShortName"]) <= 12, "Azure rejects action group short names over 12 characters"
    assert g["location"] == "Global" and g["enabled"] is True
    assert not g.get("webhookReceivers"), "no webhook unless alertWebhookUrl is set"


def test_webhook_receiver_when_set_stays_secret(tmp_path):
    # A copy of the project whose dev stack sets alertWebhookUrl as a `secure:` value (overrides
    # can't mark a key secret). Program code is linked, not copied.
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.shared.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    for package in ("components", "stacks"):
        (tmp_path / package).symlink_to(ROOT / package)
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    dev["config"]["mystira-infra:alertWebhookUrl"] = {"secure": "v1:AAAA"}
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(dev))
    result = run_stack(tmp_path, "dev", preview=True)
    assert result.ok, result.error
    (group,) = of_type(result, ACTION_GROUP)
    # The URL carries a token: the secret taints the whole receivers list on the wire.
    assert isinstance(group.inputs["webhookReceivers"], Secret), "the webhook URL must stay secret"
    (hook,) = inputs(group)["webhookReceivers"]
    assert hook["serviceUri"] == "dry-run-secret-placeholder"
    assert hook["useCommonAlertSchema"] is True


EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def test_no_email_address_in_code():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {m.group(0)}"
        for folder in ("components", "stacks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        for m in EMAIL.finditer(line)
    ]
    assert not offenders, "addresses belong in Pulumi.<stack>.yaml (monitoring.alertEmails):\n" + "\n".join(
        offenders
    )


def test_email_scan_would_catch_an_address():
    assert EMAIL.search('email_address="oncall@mystira.app"')


def test_workbook_charts_every_service(env_stack):
    result = stack_run(env_stack)
    (workbook,) = of_type(result, WORKBOOK)
    w = inputs(workbook)
    assert w["kind"] == "shared" and w["category"] == "workbook"
    # Azure requires a workbook's name to be a GUID.
    assert re.fullmatch(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}", w["resourceName"])
    content = json.loads(w["serializedData"])
    queried: dict[str, list[str]] = {}
    for item in content["items"]:
        if item["type"] == 3:
            (component,) = item["content"]["crossComponentResources"]
            queried.setdefault(component, []).append(item["content"]["query"])
    for svc in SERVICES:
        appi = result.one(APPI, f"{svc.key}-appi")
        queries = queried.get(appi.id)
        assert queries, f"the workbook has no chart for {svc.key}"
        text = "\n".join(queries)
        for measure in ("count()", "countif(success == false)", "percentile(duration, 95)", "exceptions"):
            assert measure in text, f"{svc.key}: no {measure} chart"
    assert set(queried) == {result.one(APPI, f"{s.key}-appi").id for s in SERVICES}


def test_workbook_names_differ_per_environment():
    names = {inputs(of_type(stack_run(s), WORKBOOK)[0])["resourceName"] for s in ("dev", "staging", "prod")}
    assert len(names) == 3


# Every component, not only this two: a component gets its values through its Args.
COMPONENT_FILES = sorted(str(f.relative_to(ROOT)) for f in (ROOT / "components").glob("*.py"))


def test_component_files_found():
    assert {"components/monitoring.py", "components/dashboard.py"} <= set(COMPONENT_FILES)


@pytest.mark.parametrize("path", COMPONENT_FILES)
def test_components_read_no_config(path):
    text = (ROOT / path).read_text()
    assert "pulumi.Config" not in text and "load_settings" not in text
