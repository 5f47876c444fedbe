"""Recording mocks: answer like Azure, and keep what the engine would have been sent.

`AzureMocks` answers resource registrations and invokes. `RecordingMonitor` wraps the SDK's
`MockMonitor` and records each `RegisterResource` request in full (inputs under their wire
names, parent, dependencies, provider and the resource options), which is what `pulumi preview
--json` and the policy pack see.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from mystira_infra.dryrun import azure

SECRET_SIG = rpc._special_secret_sig
SIG_KEY = rpc._special_sig_key
UNKNOWN = rpc.UNKNOWN


class UnknownInvokeError(Exception):
    pass


@dataclass
class Secret:
    """A secret value as recorded: rendered as [secret], never printed."""

    value: Any

    def __repr__(self) -> str:
        return "[secret]"


@dataclass
class Record:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    # The engine's view of the options; defaults are the engine's defaults (hand-built records in
    # tests name only what they need).
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str = ""
    protect: bool | None = None
    ignore_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    retain_on_delete: bool = False
    additional_secret_outputs: list[str] = field(default_factory=list)
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def effective_protect(self) -> bool:
        return bool(self.protect)


def unwrap(value: Any) -> Any:
    """Turn the wire form into plain values, keeping secrets marked as `Secret` and unknowns as the
    engine's sentinel string (what `pulumi preview --json` and the policy analyzer show)."""
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return Secret(unwrap(value.get("value")))
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """The value with secrets unwrapped (for policies, which see secrets unwrapped)."""
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


StackOutputs = Callable[[str], dict[str, Any] | None]


class AzureMocks(Mocks):
    def __init__(self, *, preview: bool, region: str, stack_outputs: StackOutputs) -> None:
        self.preview = preview
        self.region = region
        self.stack_outputs = stack_outputs
        self.missing_stack_refs: list[str] = []
        self.cluster_fqdns: dict[str, str] = {}  # cluster name -> fqdn, for its kubeconfig

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        inputs = plain(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            ref = args.resource_id or inputs.get("name", args.name)
            outputs = self.stack_outputs(ref)
            if outputs is None:
                self.missing_stack_refs.append(ref)
                outputs = {}
            return ref, {"name": ref, "outputs": outputs, "secretOutputNames": []}
        if not args.custom:
            return None, dict(args.inputs)  # a component: no id, no cloud state
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider-id", dict(args.inputs)
        state = dict(args.inputs)
        urn = f"{args.typ}::{args.name}"
        phys = (
            azure.physical_name(args.typ, args.name, inputs) if args.typ.startswith("azure-native:") else None
        )
        if phys is not None:
            # azure-native's `name` is an output; Azure fills it from the path parameter. Known at
            # preview too, because the engine's Check computes it from inputs.
            state["name"] = phys
            state.update(azure.user_assigned_identities(inputs, urn))
        if args.typ.startswith("kubernetes:"):
            meta = dict(inputs.get("metadata") or {})
            meta.setdefault("name", f"{args.name}-{azure.short_hash(urn)}")
            state["metadata"] = {**(args.inputs.get("metadata") or {}), "name": meta["name"]}
        computed = azure.computed_outputs(args.typ, args.name, inputs, urn, self.region)
        if args.typ == "azure-native:containerservice:ManagedCluster" and phys is not None:
            self.cluster_fqdns[phys] = azure.cluster_fqdn(phys, inputs, self.region)
        if self.preview:
            # A new resource's id and everything Azure computes are unknown at preview.
            return None, azure.mark_preview_unknowns(state, computed, rpc.UNKNOWN)
        state.update(computed)
        rid = state.get("id") if args.typ.startswith("azuread:") else None
        return rid or azure.resource_id(args.typ, args.name, inputs, urn), state

    # A bare dict is the SDK's no-failures form (its tuple form iterates the failures, so None would fail).
    def call(self, args: MockCallArgs) -> dict:  # type: ignore[override]
        tok = args.token
        if tok in (
            "azure-native:authorization:getClientConfig", "azuread:index/getClientConfig:getClientConfig"
        ):
            return {
                "clientId": azure.DEPLOYER_CLIENT_ID,
                "objectId": azure.DEPLOYER_OBJECT_ID,
                "subscriptionId": azure.SUBSCRIPTION_ID,
                "tenantId": azure.TENANT_ID,
            }
        if tok == "azure-native:containerservice:listManagedClusterUserCredentials":
            cluster = args.args.get("resourceName", "aks")
            fqdn = self.cluster_fqdns.get(cluster) or azure.cluster_fqdn(cluster, {}, self.region)
            value = base64.b64encode(azure.kubeconfig(cluster, fqdn).encode()).decode()
            return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}
        if tok == "azuread:index/getServicePrincipal:getServicePrincipal":
            # An existing service principal (e.g. Microsoft Graph's): its object id differs per
            # tenant, i.e. per azuread provider; the client (app) id is the one asked for.
            client_id = args.args.get("clientId") or azure.guid("sp-client", str(args.args))
            return {
                "clientId": client_id,
                "objectId": azure.guid("service-principal", client_id, args.provider or "default"),
                "displayName": args.args.get("displayName") or f"service principal {client_id}",
                "appRoleAssignmentRequired": False,
            }
        raise UnknownInvokeError(
            f"the dry run has no answer for invoke '{tok}'; add one to mystira_infra/dryrun/mocks.py"
        )


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: AzureMocks) -> None:
        super().__init__(mocks)
        self.records: dict[str, Record] = {}
        self.order: list[str] = []
        self.stack_urn = ""
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        urn = response.urn
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = urn
        timeouts = request.customTimeouts
        rec = Record(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or (self.stack_urn if request.type != "pulumi:pulumi:Stack" else ""),
            inputs=unwrap(rpc.deserialize_properties(request.object, keep_unknowns=True)),
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider,
            protect=request.protect if request.HasField("protect") else None,
            ignore_changes=list(request.ignoreChanges),
            delete_before_replace=bool(request.deleteBeforeReplace),
            custom_timeouts={k: v for k, v in (("create", timeouts.create), ("update", timeouts.update),
                                               ("delete", timeouts.delete)) if v},
            retain_on_delete=bool(request.retainOnDelete) if request.HasField("retainOnDelete") else False,
            additional_secret_outputs=list(request.additionalSecretOutputs),
        )
        if rec.protect is None and rec.parent in self.records:
            rec.protect = self.records[rec.parent].protect  # protect is inherited from the parent
        reg = self.resources.get(urn)
        if reg is not None:
            rec.id = reg.id or ""
            rec.outputs = unwrap(reg.state)
        self.records[urn] = rec
        self.order.append(urn)
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn == self.stack_urn:
            self.stack_outputs = unwrap(rpc.deserialize_properties(request.outputs, keep_unknowns=True))
        return super().RegisterResourceOutputs(request)


def is_unknown(value: Any) -> bool:
    return value == UNKNOWN


def secret_value(value: Any) -> Any:
    return pulumi.Output.secret(value)
