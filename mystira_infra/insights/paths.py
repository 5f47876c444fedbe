"""Path proof: can a request reach each AKS workload, and can the workload reach what it uses?

Reads a plan in the shape of `pulumi preview --json` (the dry run's `--json`, or a real preview),
and only Azure's and Kubernetes' own resource types and wiring, so it keeps working as resources
are added, and runs on a real preview in CI. For each Deployment/StatefulSet it walks:

- request: hostname -> DNS record (CNAME in the zone) -> Front Door custom domain, route, origin
  group, origin (and its WAF) -> ingress controller -> Ingress -> Service -> NetworkPolicy -> pods;
- image: image host -> private endpoint to that registry with a zone group on
  `privatelink.azurecr.io` -> zone linked to the cluster's VNet -> AcrPull for the kubelet identity;
- identity: service account -> managed identity (client-id annotation) -> federated credential;
- each dependency (Key Vault, PostgreSQL, Redis, Service Bus, Azure OpenAI): network (private
  endpoint in the cluster's VNet with its zone group, or delegated subnet, the zone linked to the
  VNet, NetworkPolicy egress on the port) and authorization (data-plane role assignment on the
  resource or a parent scope, Redis access policy assignment, or a PostgreSQL grant Job).

A link whose value is unknown at preview is proven by the plan's `propertyDependencies` (the input
is computed from that resource's output); a value the plan can't tell at all is "unknown until
apply", which does not fail the check. Each hop names the resource (URN) that makes it real.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from mystira_infra import services as catalogue

UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown value, as --json shows it
UNKNOWNS = {UNKNOWN_SENTINEL, "output<string>"}  # the engine's sentinel, as shown
OK, UNKNOWN, BROKEN, SKIPPED = "ok", "unknown until apply", "BROKEN", "not reached"

# Built-in role ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
DATA_ROLES: dict[str, dict[str, str]] = {
    "keyvault": {
        "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
        "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    },
    "servicebus": {
        "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "Azure Service Bus Data Sender",
        "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "Azure Service Bus Data Receiver",
        "090c5cfd-751d-490a-894a-3ce6f1109419": "Azure Service Bus Data Owner",
    },
    "openai": {
        "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd": "Cognitive Services OpenAI User",
        "a001fd3d-188f-4b5d-821b-7da978bf7442": "Cognitive Services OpenAI Contributor",
    },
    "registry": {
        "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
        "8311e382-0749-4cb8-b61a-304f252e45ec": "AcrPush",
    },
}


@dataclass(frozen=True)
class Kind:
    key: str
    title: str
    types: tuple[str, ...]
    zone: str  # private DNS zone of its private endpoint (https://learn.microsoft.com/azure/private-link/private-endpoint-dns)
    group_id: str  # private endpoint sub-resource
    ports: tuple[int, ...]  # any one of them suffices
    host_suffixes: tuple[str, ...]
    secret_prefix: str


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind(
            "keyvault",
            "Key Vault",
            ("azure-native:keyvault:Vault",),
            "privatelink.vaultcore.azure.net",
            "vault",
            (443,),
            (".vault.azure.net",),
            "keyvault-",
        ),
        Kind(
            "postgres",
            "PostgreSQL",
            ("azure-native:dbforpostgresql:Server",),
            "privatelink.postgres.database.azure.com",
            "postgresqlServer",
            (5432,),
            (".postgres.database.azure.com",),
            "postgres-",
        ),
        # Azure Managed Redis listens on 10000 (the database's `port`).
        Kind(
            "redis",
            "Redis",
            ("azure-native:redisenterprise:RedisEnterprise",),
            "privatelink.redis.azure.net",
            "redisEnterprise",
            (10000,),
            (".redis.azure.net",),
            "redis-",
        ),
        # AMQP on 5671, or AMQP over WebSockets on 443 (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-faq).
        Kind(
            "servicebus",
            "Service Bus",
            ("azure-native:servicebus:Namespace",),
            "privatelink.servicebus.windows.net",
            "namespace",
            (5671, 443),
            (".servicebus.windows.net",),
            "servicebus-",
        ),
        Kind(
            "openai",
            "Azure OpenAI",
            ("azure-native:cognitiveservices:Account",),
            "privatelink.openai.azure.com",
            "account",
            (443,),
            (".openai.azure.com", ".cognitiveservices.azure.com"),
            "openai-",
        ),
    )
}
REGISTRY_ZONE = "privatelink.azurecr.io"
# AKS's application routing add-on runs its NGINX controllers here, with this default class
# (https://learn.microsoft.com/azure/aks/app-routing).
APP_ROUTING_NAMESPACE = "app-routing-system"
APP_ROUTING_CLASS = "webapprouting.kubernetes.azure.com"
NGINX_CONTROLLER = "kubernetes:approuting.kubernetes.azure.com/v1alpha1:NginxIngressController"
WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
FRONT_DOOR_WAF = ("azure-native:frontdoor:Policy", "azure-native:cdn:Policy")
# Workloads served through the edge (issue 13: story-generator; issue 16: admin-api). A catalogue
# `Service.public` field, when it exists, decides instead; any workload an Ingress routes to counts too.
DEFAULT_PUBLIC = ("story-generator", "admin-api")


def known(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and value != "" and value not in UNKNOWNS and value != "[secret]"


def dig(value: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and len(value) > key else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
    return value


@dataclass
class Res:
    urn: str
    type: str
    name: str  # logical (Pulumi) name
    custom: bool
    parent: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]

    def get(self, *path: str | int) -> Any:
        """Outputs first (what Azure returned), then inputs."""
        out = dig(self.outputs, *path)
        return (
            out if out is not None and (known(out) or not isinstance(out, str)) else dig(self.inputs, *path)
        )

    @property
    def phys(self) -> str:
        name = self.get("metadata", "name") if self.type.startswith("kubernetes:") else self.get("name")
        return name if known(name) else ""

    @property
    def rg(self) -> str:
        rg = self.inputs.get("resourceGroupName")
        return rg.lower() if known(rg) else ""

    @property
    def namespace(self) -> str:
        ns = dig(self.inputs, "metadata", "namespace")
        return ns if known(ns) else "default"

    def label(self) -> str:
        return f"{self.type} {self.phys or self.name}"


def _arm(value: Any) -> tuple[str, str] | None:
    """(resource group, last name) of an ARM id, lower case."""
    if not known(value):
        return None
    m = re.search(r"/resourceGroups/([^/]+)/providers/.+/([^/]+)$", value, re.IGNORECASE)
    return (m.group(1).lower(), m.group(2).lower()) if m else None


class Plan:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.resources: list[Res] = []
        seen: set[str] = set()
        for step in doc.get("steps", []):
            state = step.get("newState") or step.get("oldState") or {}
            op = str(step.get("op", ""))
            # A replacement shows as several steps of one URN; what is deleted is not part of the plan.
            if op.startswith(("delete", "discard")) or op == "read-discard" or not state:
                continue
            urn = state.get("urn") or step.get("urn", "")
            if urn in seen:
                continue
            seen.add(urn)
            self.resources.append(
                Res(
                    urn=urn,
                    type=state.get("type", ""),
                    name=urn.split("::")[-1],
                    custom=bool(state.get("custom", True)),
                    parent=state.get("parent", ""),
                    inputs=state.get("inputs") or {},
                    outputs=state.get("outputs") or {},
                    id=state.get("id") or "",
                    dependencies=list(state.get("dependencies") or []),
                    property_dependencies=dict(state.get("propertyDependencies") or {}),
                )
            )
        self.by_urn = {r.urn: r for r in self.resources}
        stack = next((r for r in self.resources if r.type == "pulumi:pulumi:Stack"), None)
        self.stack = stack.urn.split("::")[0].split(":")[-1] if stack else ""
        self._kids: dict[str, list[Res]] = {}
        for r in self.resources:
            self._kids.setdefault(r.parent, []).append(r)

    def of(self, *types: str) -> list[Res]:
        return [r for r in self.resources if r.type in types]

    def _customs(self, urns: Iterable[str]) -> list[Res]:
        out: list[Res] = []
        for u in urns:
            r = self.by_urn.get(u)
            if r is None:
                continue
            out += [r] if r.custom else self._customs(k.urn for k in self._kids.get(u, []))
        return out

    def deps(self, res: Res, key: str | None = None) -> list[Res]:
        """What `res`'s input `key` (all inputs when None) is computed from."""
        if key is not None and key in res.property_dependencies:
            return self._customs(res.property_dependencies[key])
        return self._customs(res.dependencies)

    def refers(self, res: Res, key: str, value: Any, target: Res) -> bool:
        """Does `res`'s input `key` (whose value is `value`) name `target`? By id when known, else by
        the plan's property dependency."""
        if known(value):
            if target.id and value.lower() == target.id.lower():
                return True
            parsed = _arm(value)
            return parsed is not None and parsed == (target.rg, target.phys.lower()) and bool(target.rg)
        return any(d.urn == target.urn for d in self.deps(res, key))

    def find_arm(self, value: Any, types: tuple[str, ...]) -> Res | None:
        for r in self.of(*types):
            if known(value) and (
                (r.id and r.id.lower() == value.lower()) or (_arm(value) == (r.rg, r.phys.lower()) and r.rg)
            ):
                return r
        return None


@dataclass
class Hop:
    step: str  # "hostname -> DNS record"
    status: str
    detail: str
    resource: str = ""  # URN (or ARM id) that makes it real
    fix: str = ""


@dataclass
class Path:
    workload: str
    title: str
    kind: str  # request, image, identity, <dependency>/network, <dependency>/authorization
    hops: list[Hop] = field(default_factory=list)

    def first_broken(self) -> Hop | None:
        return next((h for h in self.hops if h.status == BROKEN), None)

    def add(self, hop: Hop) -> bool:
        """Add a hop; False once the path is broken (later hops that need it are not reached)."""
        self.hops.append(hop)
        return hop.status != BROKEN


@dataclass
class Report:
    stack: str
    paths: list[Path]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(p.first_broken() is None for p in self.paths)


# ---- the cluster -----------------------------------------------------------------------------


@dataclass
class Cluster:
    res: Res | None
    vnets: list[tuple[str, str]]  # (rg, vnet name), lower case
    subnets: list[Res]


def _subnet_vnet(subnet_id: Any, subnet: Res | None) -> tuple[str, str] | None:
    if known(subnet_id):
        m = re.search(
            r"/resourceGroups/([^/]+)/.*/virtualNetworks/([^/]+)/subnets/", subnet_id, re.IGNORECASE
        )
        if m:
            return (m.group(1).lower(), m.group(2).lower())
    if subnet is not None and known(subnet.inputs.get("virtualNetworkName")):
        return (subnet.rg, subnet.inputs["virtualNetworkName"].lower())
    return None


def _subnet_of(plan: Plan, res: Res, key: str, value: Any) -> tuple[Res | None, tuple[str, str] | None]:
    subnet = plan.find_arm(value, ("azure-native:network:Subnet",)) if known(value) else None
    if subnet is None and not known(value):
        subnet = next((d for d in plan.deps(res, key) if d.type == "azure-native:network:Subnet"), None)
    return subnet, _subnet_vnet(value, subnet)


def find_cluster(plan: Plan) -> Cluster:
    res = next(iter(plan.of("azure-native:containerservice:ManagedCluster")), None)
    vnets: list[tuple[str, str]] = []
    subnets: list[Res] = []
    pools = (
        [
            (res, "agentPoolProfiles", p.get("vnetSubnetID"))
            for p in (res.inputs.get("agentPoolProfiles") or [])
        ]
        if res
        else []
    )
    pools += [
        (p, "vnetSubnetID", p.inputs.get("vnetSubnetID"))
        for p in plan.of("azure-native:containerservice:AgentPool")
    ]
    for owner, key, value in pools:
        if owner is None:
            continue
        subnet, vnet = _subnet_of(plan, owner, key, value)
        if subnet is not None and subnet not in subnets:
            subnets.append(subnet)
        if vnet and vnet not in vnets:
            vnets.append(vnet)
    return Cluster(res, vnets, subnets)


def _vnet_key(plan: Plan, link: Res) -> tuple[str, str] | None:
    value = dig(link.inputs, "virtualNetwork", "id")
    if known(value):
        parsed = _arm(value)
        return parsed
    vnet = next(
        (d for d in plan.deps(link, "virtualNetwork") if d.type == "azure-native:network:VirtualNetwork"),
        None,
    )
    return (vnet.rg, vnet.phys.lower()) if vnet else None


def zone_link(plan: Plan, cluster: Cluster, zone_name: str, step: str) -> Hop:
    zones = [z for z in plan.of("azure-native:privatedns:PrivateZone") if z.phys.lower() == zone_name.lower()]
    if not zones:
        return Hop(
            step,
            BROKEN,
            f"no private DNS zone {zone_name} in the plan",
            fix=f"create the {zone_name} zone and link it to the cluster's VNet",
        )
    for link in plan.of("azure-native:privatedns:VirtualNetworkLink"):
        if str(link.inputs.get("privateZoneName", "")).lower() != zone_name.lower():
            continue
        if _vnet_key(plan, link) in cluster.vnets:
            return Hop(step, OK, f"{zone_name} linked to VNet {_vnet_key(plan, link)[1]}", link.urn)  # type: ignore[index]
    return Hop(
        step,
        BROKEN,
        f"zone {zone_name} is not linked to the cluster's VNet",
        zones[0].urn,
        fix=f"add a privatedns VirtualNetworkLink from {zone_name} to the cluster's VNet",
    )


def _pe_targets(pe: Res) -> list[tuple[int, Any, list[str]]]:
    conns = (pe.inputs.get("privateLinkServiceConnections") or []) + (
        pe.inputs.get("manualPrivateLinkServiceConnections") or []
    )
    return [(i, c.get("privateLinkServiceId"), list(c.get("groupIds") or [])) for i, c in enumerate(conns)]


def private_endpoint_path(
    plan: Plan,
    cluster: Cluster,
    path: Path,
    target_id: Any,
    target: Res | None,
    zone: str,
    group_id: str,
    what: str,
) -> bool:
    """PE to the target in the cluster's VNet -> zone group on `zone` -> zone linked. Adds hops;
    False if broken. `target` may be None (a resource of another stack, known by its id)."""
    pes = []
    for pe in plan.of("azure-native:network:PrivateEndpoint"):
        for _, sid, group_ids in _pe_targets(pe):
            hit = (
                plan.refers(pe, "privateLinkServiceConnections", sid, target)
                if target is not None
                else (known(sid) and known(target_id) and sid.lower() == target_id.lower())
            )
            if hit and (not group_ids or group_id.lower() in [g.lower() for g in group_ids]):
                pes.append(pe)
    in_vnet = []
    for pe in pes:
        subnet, vnet = _subnet_of(plan, pe, "subnet", dig(pe.inputs, "subnet", "id"))
        if vnet in cluster.vnets:
            in_vnet.append(pe)
    if not in_vnet:
        detail = (
            f"private endpoints to {what} exist but none in the cluster's VNet"
            if pes
            else f"no private endpoint to {what} (group {group_id})"
        )
        return path.add(
            Hop(
                "private endpoint",
                BROKEN,
                detail,
                pes[0].urn if pes else "",
                fix=f"add a private endpoint (group {group_id}) to {what} in the cluster VNet's "
                "private-endpoint subnet",
            )
        )
    pe = in_vnet[0]
    path.add(
        Hop("private endpoint", OK, f"{pe.phys or pe.name} in the cluster's VNet (group {group_id})", pe.urn)
    )
    groups = [
        g
        for g in plan.of("azure-native:network:PrivateDnsZoneGroup")
        if (
            known(g.inputs.get("privateEndpointName"))
            and g.inputs["privateEndpointName"] == pe.phys
            and g.rg == pe.rg
        )
        or any(d.urn == pe.urn for d in plan.deps(g, "privateEndpointName"))
    ]
    zone_res = [z for z in plan.of("azure-native:privatedns:PrivateZone") if z.phys.lower() == zone.lower()]
    for g in groups:
        for cfg in g.inputs.get("privateDnsZoneConfigs") or []:
            zid = cfg.get("privateDnsZoneId")
            if (known(zid) and zid.lower().endswith("/" + zone.lower())) or any(
                plan.refers(g, "privateDnsZoneConfigs", zid, z) for z in zone_res
            ):
                path.add(Hop("zone group", OK, f"records for {what} in {zone}", g.urn))
                return path.add(zone_link(plan, cluster, zone, "zone linked to VNet"))
    return path.add(
        Hop(
            "zone group",
            BROKEN,
            f"private endpoint {pe.phys or pe.name} has no zone group on {zone}",
            pe.urn,
            fix=f"add a PrivateDnsZoneGroup on {zone} to the private endpoint",
        )
    )


# ---- NetworkPolicy ---------------------------------------------------------------------------


def _selects(selector: Any, labels: dict[str, Any]) -> bool:
    if not isinstance(selector, dict):
        return True
    match = selector.get("matchLabels") or {}
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def _policies(plan: Plan, namespace: str, labels: dict[str, Any], direction: str) -> list[Res]:
    out = []
    for np in plan.of("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        spec = np.inputs.get("spec") or {}
        types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
        if np.namespace == namespace and direction in types and _selects(spec.get("podSelector"), labels):
            out.append(np)
    return out


def _port_ok(rule_ports: Any, port: int, names: tuple[str, ...] = ()) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        value, end = p.get("port"), p.get("endPort")
        if (
            value is None
            or (isinstance(value, (int, float)) and (int(value) == port or (end and value <= port <= end)))
            or value in names
        ):
            return True
    return False


def _within(
    inner: ipaddress.IPv4Network | ipaddress.IPv6Network, outer: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def egress_hop(
    plan: Plan, namespace: str, labels: dict[str, Any], ports: tuple[int, ...], cidr: str | None, what: str
) -> Hop:
    """`cidr`: the destination's address range (a subnet), or None for a public endpoint."""
    policies = _policies(plan, namespace, labels, "Egress")
    step = f"NetworkPolicy egress :{'/'.join(map(str, ports))}"
    if not policies:
        return Hop(step, OK, "no NetworkPolicy restricts the pods' egress")
    dest = ipaddress.ip_network(cidr, strict=False) if cidr else None
    for np in policies:
        for rule in (np.inputs.get("spec") or {}).get("egress") or []:
            if not any(_port_ok(rule.get("ports"), p) for p in ports):
                continue
            peers = rule.get("to") or []
            if not peers:
                return Hop(step, OK, f"{np.phys} allows it to any address", np.urn)
            for peer in peers:
                block = peer.get("ipBlock") if isinstance(peer, dict) else None
                if not block or not known(block.get("cidr")):
                    continue
                net = ipaddress.ip_network(block["cidr"], strict=False)
                inside = net.prefixlen == 0 if dest is None else _within(dest, net)
                excluded = dest is not None and any(
                    dest.overlaps(ipaddress.ip_network(e, strict=False)) for e in block.get("except") or []
                )
                if inside and not excluded:
                    return Hop(step, OK, f"{np.phys} allows {block['cidr']}", np.urn)
    return Hop(
        step,
        BROKEN,
        f"no NetworkPolicy selecting the pods allows egress to {what} on "
        f"{'/'.join(map(str, ports))}" + (f" ({cidr})" if cidr else ""),
        policies[0].urn,
        fix=f"allow egress on TCP {ports[0]} to {cidr or 'the service'} in the workload's NetworkPolicy",
    )


# ---- workloads -------------------------------------------------------------------------------


@dataclass
class Workload:
    res: Res
    name: str
    namespace: str
    labels: dict[str, Any]
    service_account: str
    containers: list[dict[str, Any]]

    @property
    def ports(self) -> list[dict[str, Any]]:
        return [p for c in self.containers for p in c.get("ports") or []]

    def env_values(self) -> list[tuple[str, str]]:
        return [
            (e.get("name", ""), e.get("value"))
            for c in self.containers
            for e in c.get("env") or []
            if known(e.get("value"))
        ]


def workloads(plan: Plan, types: tuple[str, ...] = WORKLOAD_TYPES) -> list[Workload]:
    out = []
    for r in plan.of(*types):
        tpl = dig(r.inputs, "spec", "template") or {}
        out.append(
            Workload(
                r,
                r.phys or r.name,
                r.namespace,
                dig(tpl, "metadata", "labels") or {},
                dig(tpl, "spec", "serviceAccountName") or "default",
                list(dig(tpl, "spec", "containers") or []),
            )
        )
    return out


@dataclass
class Identity:
    res: Res | None
    service_account: Res | None


def _catalogue_entry(wl: Workload) -> catalogue.Service | None:
    return next((s for s in catalogue.SERVICES if s.workload in (wl.name, wl.service_account)), None)


def identity_path(plan: Plan, wl: Workload) -> tuple[Path, Identity]:
    path = Path(wl.name, "identity: pods -> service account -> managed identity", "identity")
    sa = next(
        (
            s
            for s in plan.of("kubernetes:core/v1:ServiceAccount")
            if s.phys == wl.service_account and s.namespace == wl.namespace
        ),
        None,
    )
    if (
        not path.add(
            Hop(
                "pods -> service account",
                OK if sa else BROKEN,
                f"{wl.namespace}/{wl.service_account}" if sa else f"no ServiceAccount {wl.service_account}",
                sa.urn if sa else "",
                fix="create the service account the pods name",
            )
        )
        or sa is None
    ):
        return path, Identity(None, None)
    use = str(wl.labels.get("azure.workload.identity/use", "")).lower() == "true"
    path.add(
        Hop(
            "workload identity label",
            OK if use else BROKEN,
            "pods labelled azure.workload.identity/use=true"
            if use
            else "pod template lacks azure.workload.identity/use=true: no token is projected",
            wl.res.urn,
            fix='label the pod template azure.workload.identity/use: "true"',
        )
    )
    client_id = dig(sa.inputs, "metadata", "annotations", "azure.workload.identity/client-id")
    identities = plan.of("azure-native:managedidentity:UserAssignedIdentity")
    found = None
    for ident in identities:
        cid = ident.get("clientId")
        if (known(client_id) and known(cid) and cid == client_id) or (
            not known(client_id) and any(d.urn == ident.urn for d in plan.deps(sa, "metadata"))
        ):
            found = ident
    if found is None:
        path.add(
            Hop(
                "service account -> managed identity",
                BROKEN,
                "annotation azure.workload.identity/client-id names no managed identity in the plan",
                sa.urn,
                fix="annotate the service account with its identity's client id",
            )
        )
        return path, Identity(None, sa)
    path.add(Hop("service account -> managed identity", OK, f"client-id -> {found.phys}", found.urn))
    subject = catalogue.workload_identity_subject(wl.namespace, wl.service_account)
    fics = [
        f
        for f in plan.of("azure-native:managedidentity:FederatedIdentityCredential")
        if f.inputs.get("subject") == subject
        and (
            (known(f.inputs.get("resourceName")) and f.inputs["resourceName"] == found.phys)
            or any(d.urn == found.urn for d in plan.deps(f, "resourceName"))
        )
    ]
    path.add(
        Hop(
            "federated credential",
            OK if fics else BROKEN,
            f"subject {subject}" if fics else f"no federated credential for {subject} on {found.phys}",
            fics[0].urn if fics else found.urn,
            fix=f"add a FederatedIdentityCredential with subject {subject} and the cluster's OIDC issuer",
        )
    )
    return path, Identity(found, sa)


# ---- request path ----------------------------------------------------------------------------


def _service_for(plan: Plan, wl: Workload) -> tuple[Res | None, dict[str, Any] | None]:
    for svc in plan.of("kubernetes:core/v1:Service"):
        spec = svc.inputs.get("spec") or {}
        sel = spec.get("selector") or {}
        if svc.namespace != wl.namespace or not sel or any(wl.labels.get(k) != v for k, v in sel.items()):
            continue
        names = {p.get("name") for p in wl.ports} | {p.get("containerPort") for p in wl.ports}
        for port in spec.get("ports") or []:
            if port.get("targetPort", port.get("port")) in names:
                return svc, port
    return None, None


def _n(value: Any) -> str:
    """80.0 (how numbers travel in the plan) -> 80."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _ingresses_for(plan: Plan, svc: Res, port: dict[str, Any]) -> list[tuple[Res, str]]:
    out = []
    for ing in plan.of("kubernetes:networking.k8s.io/v1:Ingress"):
        if ing.namespace != svc.namespace:
            continue
        for rule in dig(ing.inputs, "spec", "rules") or []:
            for p in dig(rule, "http", "paths") or []:
                backend = dig(p, "backend", "service") or {}
                bport = backend.get("port") or {}
                if backend.get("name") == svc.phys and (
                    bport.get("number") == port.get("port") or bport.get("name") == port.get("name")
                ):
                    out.append((ing, rule.get("host") or ""))
    return out


def _controller(plan: Plan, cluster: Cluster, ingress_class: str) -> Hop:
    step = "ingress controller"
    routing = cluster.res is not None and bool(
        dig(cluster.res.inputs, "ingressProfile", "webAppRouting", "enabled")
    )
    if not routing:
        return Hop(
            step,
            BROKEN,
            "the cluster's application routing add-on is not enabled (ingressProfile.webAppRouting.enabled)",
            cluster.res.urn if cluster.res else "",
            fix="enable AKS application routing (managed NGINX) on the cluster",
        )
    for ctl in plan.of(NGINX_CONTROLLER):
        if dig(ctl.inputs, "spec", "ingressClassName") == ingress_class or not ingress_class:
            ann = dig(ctl.inputs, "spec", "loadBalancerAnnotations") or {}
            internal = (
                str(ann.get("service.beta.kubernetes.io/azure-load-balancer-internal", "")).lower() == "true"
            )
            return Hop(
                step,
                OK,
                f"NginxIngressController {ctl.phys}, class "
                f"{dig(ctl.inputs, 'spec', 'ingressClassName')}, "
                f"{'internal' if internal else 'public'} load balancer",
                ctl.urn,
            )
    if ingress_class == APP_ROUTING_CLASS:
        return Hop(
            step,
            OK,
            f"the add-on's default controller (class {APP_ROUTING_CLASS}, public load balancer)",
            cluster.res.urn if cluster.res else "",
        )
    return Hop(
        step,
        BROKEN,
        f"no NginxIngressController with class {ingress_class or '(any)'}",
        fix="add an app-routing NginxIngressController on an internal load balancer in the ingress subnet",
    )


def _ingress_policy_hop(plan: Plan, wl: Workload, container_port: dict[str, Any]) -> Hop:
    step = "NetworkPolicy ingress from the controller"
    policies = _policies(plan, wl.namespace, wl.labels, "Ingress")
    number = int(container_port.get("containerPort") or 0)
    names = (container_port.get("name"),) if container_port.get("name") else ()
    if not policies:
        return Hop(step, OK, "no NetworkPolicy restricts the pods' ingress")
    for np in policies:
        for rule in (np.inputs.get("spec") or {}).get("ingress") or []:
            if not _port_ok(rule.get("ports"), number, names):  # type: ignore[arg-type]
                continue
            peers = rule.get("from") or []
            if not peers:
                return Hop(step, OK, f"{np.phys} admits any source on {number}", np.urn)
            for peer in peers:
                ns_sel = peer.get("namespaceSelector") if isinstance(peer, dict) else None
                if ns_sel is not None and _selects(
                    ns_sel, {"kubernetes.io/metadata.name": APP_ROUTING_NAMESPACE}
                ):
                    return Hop(step, OK, f"{np.phys} admits {APP_ROUTING_NAMESPACE} on {number}", np.urn)
    return Hop(
        step,
        BROKEN,
        f"no NetworkPolicy admits the ingress controller ({APP_ROUTING_NAMESPACE}) on port {number}",
        policies[0].urn,
        fix=f"admit namespace {APP_ROUTING_NAMESPACE} on TCP {number} in the workload's NetworkPolicy",
    )


def _dns_records(plan: Plan, host: str, record_type: str) -> list[Res]:
    out = []
    for rs in plan.of("azure-native:dns:RecordSet"):
        rel, zone = rs.inputs.get("relativeRecordSetName"), rs.inputs.get("zoneName")
        if rs.inputs.get("recordType") != record_type or not known(zone):
            continue
        fqdn = zone if rel in ("@", "", None) else f"{rel}.{zone}"
        if fqdn.lower() == host.lower():
            out.append(rs)
    return out


def edge_path(plan: Plan, path: Path, host: str, ingress: Res | None) -> bool:
    """hostname -> DNS record -> custom domain (+ validation) -> route -> origin group -> origin -> WAF."""
    cnames = _dns_records(plan, host, "CNAME")
    if not cnames:
        return path.add(
            Hop(
                "hostname -> DNS record",
                BROKEN,
                f"no CNAME record for {host}",
                fix=f"add a CNAME {host} -> the Front Door endpoint's host name in the DNS zone",
            )
        )
    rec = cnames[0]
    endpoints = plan.of("azure-native:cdn:AFDEndpoint")
    target = dig(rec.inputs, "cnameRecord", "cname")
    endpoint = next(
        (
            e
            for e in endpoints
            if known(target)
            and known(e.get("hostName"))
            and e.get("hostName").lower() == target.lower().rstrip(".")
        ),
        None,
    )
    if endpoint is None and not known(target):
        endpoint = next(
            (d for d in plan.deps(rec, "cnameRecord") if d.type == "azure-native:cdn:AFDEndpoint"), None
        )
    if endpoint is None:
        status = UNKNOWN if not known(target) else BROKEN
        return path.add(
            Hop(
                "hostname -> DNS record",
                status,
                f"CNAME {host} -> {target if known(target) else '?'}: "
                "no Front Door endpoint with that host name",
                rec.urn,
                fix="point the CNAME at the Front Door endpoint's hostName",
            )
        )
    path.add(Hop("hostname -> DNS record", OK, f"CNAME {host} -> endpoint {endpoint.phys}", rec.urn))
    domains = [
        d
        for d in plan.of("azure-native:cdn:AFDCustomDomain")
        if str(d.inputs.get("hostName", "")).lower() == host.lower()
    ]
    if not path.add(
        Hop(
            "custom domain",
            OK if domains else BROKEN,
            f"{host} on profile {domains[0].inputs.get('profileName')}"
            if domains
            else f"no Front Door custom domain for {host}",
            domains[0].urn if domains else "",
            fix=f"add an AFDCustomDomain {host} with a managed certificate",
        )
    ):
        return False
    domain = domains[0]
    rel = host[: -len(str(rec.inputs.get("zoneName"))) - 1] if host != rec.inputs.get("zoneName") else ""
    txt = _dns_records(
        plan,
        f"_dnsauth.{rel}.{rec.inputs.get('zoneName')}" if rel else f"_dnsauth.{rec.inputs.get('zoneName')}",
        "TXT",
    )
    path.add(
        Hop(
            "domain validation",
            OK if txt else BROKEN,
            "TXT _dnsauth record for the managed certificate"
            if txt
            else f"no _dnsauth TXT record for {host}",
            txt[0].urn if txt else domain.urn,
            fix="add the TXT _dnsauth.<host> record with the custom domain's validation token",
        )
    )
    routes = [
        r
        for r in plan.of("azure-native:cdn:Route")
        if any(
            plan.refers(r, "customDomains", c.get("id"), domain) for c in r.inputs.get("customDomains") or []
        )
    ]
    on_endpoint = [r for r in routes if _on_endpoint(plan, r, endpoint)]
    if routes and not on_endpoint:
        return path.add(
            Hop(
                "route",
                BROKEN,
                f"the route for {host} is on endpoint {routes[0].inputs.get('endpointName')}, but the CNAME "
                f"points at {endpoint.phys}",
                routes[0].urn,
                fix=f"put the route on endpoint {endpoint.phys}, or point the CNAME at the route's endpoint",
            )
        )
    if not path.add(
        Hop(
            "route",
            OK if routes else BROKEN,
            _route_detail(on_endpoint[0]) if routes else f"no route serves custom domain {host}",
            on_endpoint[0].urn if routes else domain.urn,
            fix=f"add a Route on the endpoint with customDomains=[{host}], HTTPS only",
        )
    ):
        return False
    route = on_endpoint[0]
    group_ref = dig(route.inputs, "originGroup", "id")
    groups = [
        g
        for g in plan.of("azure-native:cdn:AFDOriginGroup")
        if plan.refers(route, "originGroup", group_ref, g)
    ]
    if not path.add(
        Hop(
            "origin group",
            OK if groups else BROKEN,
            _group_detail(groups[0]) if groups else "the route's origin group is not in the plan",
            groups[0].urn if groups else route.urn,
            fix="point the route at an AFDOriginGroup",
        )
    ):
        return False
    group = groups[0]
    origins = [
        o
        for o in plan.of("azure-native:cdn:AFDOrigin")
        if (known(o.inputs.get("originGroupName")) and o.inputs["originGroupName"] == group.phys)
        or any(d.urn == group.urn for d in plan.deps(o, "originGroupName"))
    ]
    if not origins:
        return path.add(
            Hop(
                "origin -> ingress",
                BROKEN,
                f"origin group {group.phys} has no origin",
                group.urn,
                fix="add an AFDOrigin for the ingress controller's load balancer",
            )
        )
    path.add(_origin_hop(plan, origins, host))
    return path.add(_waf_hop(plan, domain, endpoint))


def _on_endpoint(plan: Plan, route: Res, endpoint: Res) -> bool:
    name = route.inputs.get("endpointName")
    if known(name):
        return name == endpoint.phys
    return any(d.urn == endpoint.urn for d in plan.deps(route, "endpointName"))


def _route_detail(route: Res) -> str:
    protocols = route.inputs.get("supportedProtocols") or []
    return (
        f"{route.phys or route.name}: protocols {'/'.join(protocols) or '?'}, "
        f"HTTP->HTTPS redirect {route.inputs.get('httpsRedirect', '?')}, forwards "
        f"{route.inputs.get('forwardingProtocol', '?')}"
    )


def _group_detail(group: Res) -> str:
    probe = group.inputs.get("healthProbeSettings") or {}
    return (
        f"{group.phys or group.name}: probe {probe.get('probeProtocol', '?')} {probe.get('probePath', '?')}"
    )


def _origin_hop(plan: Plan, origins: list[Res], host: str) -> Hop:
    step = "origin -> ingress"
    controllers = plan.of(NGINX_CONTROLLER)
    pls = any(
        str(
            dig(c.inputs, "spec", "loadBalancerAnnotations", "service.beta.kubernetes.io/azure-pls-create")
        ).lower()
        == "true"
        for c in controllers
    )
    ann = [dig(c.inputs, "spec", "loadBalancerAnnotations") or {} for c in controllers]
    ips = {str(a.get("service.beta.kubernetes.io/azure-load-balancer-ipv4")) for a in ann}
    # Standard reaches a public load balancer: its IP may be a PublicIPAddress the controller names.
    pip_names = {a.get("service.beta.kubernetes.io/azure-pip-name") for a in ann} - {None}
    pips = [p for p in plan.of("azure-native:network:PublicIPAddress") if p.phys and p.phys in pip_names]
    ips |= {str(p.get("ipAddress")) for p in pips if known(p.get("ipAddress"))}
    for o in origins:
        link = o.inputs.get("sharedPrivateLinkResource")
        origin_host = o.get("hostName")
        # NGINX routes by the Host header Front Door sends: originHostHeader, else the origin's hostName.
        sent = o.inputs.get("originHostHeader") or origin_host
        if link:
            # Premium reaches an internal load balancer through a Private Link service that AKS creates
            # for the controller's Service (https://learn.microsoft.com/azure/frontdoor/private-link);
            # the connection is approved at apply (a dry run can't show it).
            if pls and known(sent) and sent.lower() != host.lower():
                return Hop(
                    step,
                    BROKEN,
                    f"{o.phys or o.name} sends Host {sent}, but the Ingress routes {host}",
                    o.urn,
                    fix=f"set the origin's originHostHeader to {host}",
                )
            if pls:
                return Hop(
                    step,
                    OK,
                    f"{o.phys or o.name}: Private Link to the controller's load balancer, Host {sent}",
                    o.urn,
                )
            return Hop(
                step,
                BROKEN,
                f"{o.phys or o.name} uses Private Link but no ingress controller asks AKS "
                "to create a Private Link service (azure-pls-create)",
                o.urn,
                fix="annotate the controller's load balancer "
                "service.beta.kubernetes.io/azure-pls-create: true",
            )
        # The origin must be the controller's load balancer: its IP, or the DNS label AKS gives it
        # (<label>.<region>.cloudapp.azure.com). The public host itself would loop back to Front Door.
        labels = {a.get("service.beta.kubernetes.io/azure-dns-label-name") for a in ann} - {None}
        if known(origin_host) and (
            origin_host in ips or any(origin_host.lower().startswith(f"{lb}.") for lb in labels)
        ):
            if known(sent) and sent.lower() != host.lower():
                return Hop(
                    step,
                    BROKEN,
                    f"{o.phys or o.name} sends Host {sent}, but the Ingress routes {host}",
                    o.urn,
                    fix=f"set the origin's originHostHeader to {host}",
                )
            return Hop(step, OK, f"{o.phys or o.name}: {origin_host}, Host {sent}", o.urn)
        if not known(origin_host):
            if any(d.urn == p.urn for p in pips for d in plan.deps(o, "hostName")):
                return Hop(
                    step, OK, f"{o.phys or o.name}: the controller's public IP (known at apply)", o.urn
                )
            return Hop(step, UNKNOWN, f"{o.phys or o.name}: host name known at apply", o.urn)
    return Hop(
        step,
        BROKEN,
        f"no origin reaches the ingress controller for {host}",
        origins[0].urn,
        fix="point the origin at the controller (Private Link, its load balancer IP, or the ingress host)",
    )


def _waf_hop(plan: Plan, domain: Res, endpoint: Res) -> Hop:
    for sp in plan.of("azure-native:cdn:SecurityPolicy"):
        params = sp.inputs.get("parameters") or {}
        waf_ref = dig(params, "wafPolicy", "id")
        wafs = [w for w in plan.of(*FRONT_DOOR_WAF) if plan.refers(sp, "parameters", waf_ref, w)]
        for assoc in params.get("associations") or []:
            for d in assoc.get("domains") or []:
                if plan.refers(sp, "parameters", d.get("id"), domain) or plan.refers(
                    sp, "parameters", d.get("id"), endpoint
                ):
                    mode = dig(wafs[0].inputs, "policySettings", "mode") if wafs else "?"
                    return Hop(
                        "WAF",
                        OK if wafs else BROKEN,
                        f"security policy {sp.phys or sp.name}, WAF mode {mode}",
                        sp.urn,
                        fix="link a Front Door WAF policy (frontdoor:Policy)",
                    )
    return Hop(
        "WAF",
        BROKEN,
        "no security policy links a WAF to the custom domain",
        domain.urn,
        fix="add a SecurityPolicy (WebApplicationFirewall) associating the WAF policy with the domain",
    )


def request_path(plan: Plan, cluster: Cluster, wl: Workload, public: bool) -> Path | None:
    svc, port = _service_for(plan, wl)
    ingresses = _ingresses_for(plan, svc, port) if svc and port else []
    if not ingresses and not public:
        return None
    path = Path(wl.name, "request: hostname -> edge -> ingress -> Service -> pods", "request")
    container_port = next(
        (p for p in wl.ports if port and port.get("targetPort") in (p.get("name"), p.get("containerPort"))),
        wl.ports[0] if wl.ports else {},
    )
    hops_after_edge: list[Hop] = []
    if ingresses:
        ing, host = ingresses[0]
        cls = dig(ing.inputs, "spec", "ingressClassName") or ""
        hops_after_edge.append(_controller(plan, cluster, cls))
        tls = any(host in (t.get("hosts") or []) for t in dig(ing.inputs, "spec", "tls") or [])
        hops_after_edge.append(
            Hop(
                "Ingress -> Service",
                OK,
                f"{ing.phys}: {host} -> {svc.phys}:{_n(port.get('port'))}"  # type: ignore[union-attr,union-attr]
                f"{' (TLS)' if tls else ''}",
                ing.urn,
            )
        )
        if host:
            edge_path(plan, path, host, ing)
        else:
            path.add(
                Hop(
                    "hostname -> DNS record",
                    BROKEN,
                    f"Ingress {ing.phys} has no host",
                    ing.urn,
                    fix="give the Ingress rule its host name from settings",
                )
            )
    else:
        path.add(
            Hop(
                "hostname -> DNS record",
                BROKEN,
                f"no Ingress routes to {'Service ' + svc.phys if svc else wl.name}, "
                "so no host name reaches it",
                svc.urn if svc else wl.res.urn,
                fix="add an Ingress with the workload's host, then its DNS record and Front Door route",
            )
        )
        hops_after_edge.append(_controller(plan, cluster, ""))
        hops_after_edge.append(
            Hop(
                "Ingress -> Service",
                BROKEN,
                "no Ingress routes to the Service",
                svc.urn if svc else "",
                fix="add an Ingress (app-routing class) for the Service",
            )
        )
    # The in-cluster hops are evaluated even when the edge is broken: each names what is missing.
    hops_after_edge.append(
        Hop(
            "Service -> pods",
            OK if svc else BROKEN,
            f"{svc.phys} selects the pods, port {_n(port.get('port'))} -> {_n(port.get('targetPort'))}"  # type: ignore[union-attr]
            if svc
            else "no Service selects the pods on a container port",
            svc.urn if svc else wl.res.urn,
            fix="add a Service selecting the pod labels",
        )
    )
    hops_after_edge.append(_ingress_policy_hop(plan, wl, container_port))
    path.hops += hops_after_edge
    return path


# ---- image path ------------------------------------------------------------------------------


def image_paths(plan: Plan, cluster: Cluster, wl: Workload) -> list[Path]:
    out = []
    for c in wl.containers:
        image = c.get("image")
        path = Path(wl.name, f"image: {image if known(image) else '(image)'} -> registry", "image")
        out.append(path)
        if not known(image):
            path.add(Hop("image -> registry", UNKNOWN, "image reference known at apply", wl.res.urn))
            continue
        host = image.split("/")[0].lower()
        if not host.endswith(".azurecr.io"):
            path.add(
                Hop(
                    "image -> registry",
                    BROKEN,
                    f"{host} is not an Azure container registry",
                    wl.res.urn,
                    fix="pull from the platform's registry (<name>.azurecr.io)",
                )
            )
            continue
        name = host.split(".")[0]
        reg = next(
            (r for r in plan.of("azure-native:containerregistry:Registry") if r.phys.lower() == name), None
        )
        reg_id = reg.id if reg else None
        if reg_id is None:  # the registry lives in another stack: find its id where this plan names it
            for r in plan.of(
                "azure-native:network:PrivateEndpoint", "azure-native:authorization:RoleAssignment"
            ):
                for value in [t[1] for t in _pe_targets(r)] + [r.inputs.get("scope")]:
                    if known(value) and value.lower().endswith(f"/registries/{name}"):
                        reg_id = value
        path.add(
            Hop("image -> registry", OK, f"{image} in registry {name}", reg.urn if reg else (reg_id or ""))
        )
        if not private_endpoint_path(
            plan, cluster, path, reg_id, reg, REGISTRY_ZONE, "registry", f"registry {name}"
        ):
            continue
        path.add(_acr_pull_hop(plan, cluster, name, reg))
    return out


def _acr_pull_hop(plan: Plan, cluster: Cluster, name: str, reg: Res | None) -> Hop:
    kubelet = (
        dig(cluster.res.outputs, "identityProfile", "kubeletidentity", "objectId") if cluster.res else None
    )
    for ra in plan.of("azure-native:authorization:RoleAssignment"):
        role = str(ra.inputs.get("roleDefinitionId", "")).lower().rsplit("/", 1)[-1]
        if role not in DATA_ROLES["registry"]:
            continue
        scope = ra.inputs.get("scope")
        on_registry = (known(scope) and f"/registries/{name}" in scope.lower()) or (
            reg is not None and plan.refers(ra, "scope", scope, reg)
        )
        pid = ra.inputs.get("principalId")
        to_kubelet = (known(pid) and pid == kubelet) or (
            not known(pid)
            and cluster.res is not None
            and any(d.urn == cluster.res.urn for d in plan.deps(ra, "principalId"))
        )
        if on_registry and to_kubelet:
            return Hop(
                "kubelet may pull", OK, f"{DATA_ROLES['registry'][role]} for the kubelet identity", ra.urn
            )
    return Hop(
        "kubelet may pull",
        BROKEN,
        f"no AcrPull on registry {name} for the cluster's kubelet identity",
        fix="assign AcrPull on the registry to the kubelet identity",
    )


# ---- dependencies ----------------------------------------------------------------------------


def dependencies(plan: Plan, wl: Workload, ident: Identity) -> dict[str, list[str]]:
    """kind -> why the workload uses it (env var, vault secret, catalogue)."""
    found: dict[str, list[str]] = {}
    for name, value in wl.env_values():
        for kind in KINDS.values():
            if any(s in value.lower() for s in kind.host_suffixes):
                found.setdefault(kind.key, []).append(f"env {name}")
    vaults = _own_vaults(plan, wl, ident)
    for secret in plan.of("azure-native:keyvault:Secret"):
        if any(secret.inputs.get("vaultName") == v.phys for v in vaults):
            sname = str(secret.inputs.get("secretName", ""))
            for kind in KINDS.values():
                if sname.startswith(kind.secret_prefix):
                    found.setdefault(kind.key, []).append(f"vault secret {sname}")
    if vaults:
        found.setdefault("keyvault", []).append("its own vault")
    entry = _catalogue_entry(wl)
    if entry is not None:
        for key, used in (
            ("postgres", entry.database),
            ("redis", entry.uses_redis),
            ("servicebus", entry.uses_service_bus),
            ("openai", entry.uses_openai),
        ):
            if used:
                found.setdefault(key, []).append("service catalogue")
    # In the catalogue's order of kinds, whatever order the plan registered things in.
    return {k: sorted(set(found[k])) for k in KINDS if k in found}


def _own_vaults(plan: Plan, wl: Workload, ident: Identity) -> list[Res]:
    """The service's own vault: in its identity's resource group, or tagged with its name."""
    vaults = plan.of("azure-native:keyvault:Vault")
    if ident.res is not None and ident.res.rg:
        found = [v for v in vaults if v.rg == ident.res.rg]
        if found:
            return found
    return [v for v in vaults if dig(v.inputs, "tags", "Service") in (wl.name, wl.service_account)]


def _target(plan: Plan, kind: Kind, wl: Workload, ident: Identity) -> Res | None:
    hosts = [v.lower() for _, v in wl.env_values()]
    candidates = plan.of(*kind.types)
    if kind.key == "openai":
        candidates = [c for c in candidates if c.inputs.get("kind") in ("OpenAI", "AIServices")]
    if kind.key == "keyvault":
        candidates = _own_vaults(plan, wl, ident) or candidates
    for c in candidates:
        if c.phys and any(c.phys.lower() in h for h in hosts):
            return c
    return candidates[0] if candidates else None


def dependency_paths(plan: Plan, cluster: Cluster, wl: Workload, ident: Identity) -> list[Path]:
    out = []
    for key, why in dependencies(plan, wl, ident).items():
        kind = KINDS[key]
        target = _target(plan, kind, wl, ident)
        net = Path(wl.name, f"{kind.title}: network ({', '.join(why)})", f"{key}/network")
        auth = Path(wl.name, f"{kind.title}: authorization", f"{key}/authorization")
        out += [net, auth]
        if target is None:
            hop = Hop(
                f"-> {kind.title}",
                BROKEN,
                f"the workload uses {kind.title} but the plan has none",
                fix=f"create the {kind.title} resource or drop the dependency",
            )
            net.add(hop)
            auth.add(hop)
            continue
        net.add(Hop(f"-> {kind.title}", OK, target.phys or target.name, target.urn))
        _network(plan, cluster, net, wl, kind, target)
        _authorization(plan, auth, wl, ident, kind, target)
    return out


def _public_hop(cluster: Cluster, target: Res) -> Hop:
    """A public endpoint: reached through the cluster's outbound, if it has one and the service's
    firewall lets the cluster's egress address in."""
    outbound = dig(cluster.res.inputs, "networkProfile", "outboundType") if cluster.res else None
    if outbound in ("none", "block"):
        # https://learn.microsoft.com/azure/aks/egress-outboundtype
        return Hop(
            "public endpoint",
            BROKEN,
            f"{target.phys} is reachable only publicly, and the cluster has no outbound ({outbound})",
            target.urn,
            fix=f"add a private endpoint to {target.phys}, or give the cluster an outbound path",
        )
    acl = target.get("networkAcls") or target.get("properties", "networkAcls") or {}
    if isinstance(acl, dict) and acl.get("defaultAction") == "Deny":
        return Hop(
            "public endpoint",
            UNKNOWN,
            f"{target.phys}: public with a firewall (default Deny): the cluster's egress address must be "
            "allowed, known at apply",
            target.urn,
        )
    return Hop(
        "public endpoint",
        OK,
        f"{target.phys}: publicNetworkAccess Enabled (no private endpoint); reached through the cluster's "
        "outbound",
        target.urn,
    )


def _prefix(subnet: Res | None) -> str | None:
    value = subnet.inputs.get("addressPrefix") if subnet else None
    return value if known(value) else None


def _network(plan: Plan, cluster: Cluster, path: Path, wl: Workload, kind: Kind, target: Res) -> None:
    ports = kind.ports
    if kind.key == "redis":
        dbs = [
            d
            for d in plan.of("azure-native:redisenterprise:Database")
            if d.inputs.get("clusterName") == target.phys or any(x.urn == target.urn for x in plan.deps(d))
        ]
        port = dbs[0].inputs.get("port") if dbs else None
        ports = (int(port),) if isinstance(port, (int, float)) else ports
    if kind.key == "postgres" and dig(target.inputs, "network", "delegatedSubnetResourceId") is not None:
        sid = dig(target.inputs, "network", "delegatedSubnetResourceId")
        subnet, vnet = _subnet_of(plan, target, "network", sid)
        if not path.add(
            Hop(
                "delegated subnet",
                OK if vnet in cluster.vnets else BROKEN,
                f"{subnet.phys if subnet else sid} in the cluster's VNet"
                if vnet in cluster.vnets
                else "the server's delegated subnet is not in the cluster's VNet",
                subnet.urn if subnet else target.urn,
                fix="delegate a subnet of the cluster's VNet to the server",
            )
        ):
            return
        zone_id = dig(target.inputs, "network", "privateDnsZoneArmResourceId")
        zone = (
            plan.find_arm(zone_id, ("azure-native:privatedns:PrivateZone",))
            if known(zone_id)
            else next(
                (d for d in plan.deps(target, "network") if d.type == "azure-native:privatedns:PrivateZone"),
                None,
            )
        )
        if zone is None:
            path.add(
                Hop(
                    "zone linked to VNet",
                    BROKEN,
                    "the server names no private DNS zone of this plan",
                    target.urn,
                    fix="give the server a private DNS zone linked to the cluster's VNet",
                )
            )
            return
        if not path.add(zone_link(plan, cluster, zone.phys, "zone linked to VNet")):
            return
        path.add(egress_hop(plan, wl.namespace, wl.labels, ports, _prefix(subnet), kind.title))
        return
    public = (
        str(
            target.get("publicNetworkAccess") or target.get("properties", "publicNetworkAccess") or ""
        ).lower()
        == "enabled"
    )
    pes = [
        pe
        for pe in plan.of("azure-native:network:PrivateEndpoint")
        if any(plan.refers(pe, "privateLinkServiceConnections", t[1], target) for t in _pe_targets(pe))
    ]
    if not pes and public:
        path.add(_public_hop(cluster, target))
        path.add(egress_hop(plan, wl.namespace, wl.labels, ports, None, kind.title))
        return
    if not private_endpoint_path(
        plan, cluster, path, target.id, target, kind.zone, kind.group_id, f"{kind.title} {target.phys}"
    ):
        return
    pe = next(h for h in path.hops if h.step == "private endpoint")
    subnet, _ = _subnet_of(
        plan, plan.by_urn[pe.resource], "subnet", dig(plan.by_urn[pe.resource].inputs, "subnet", "id")
    )
    path.add(egress_hop(plan, wl.namespace, wl.labels, ports, _prefix(subnet), kind.title))


def _principal_matches(plan: Plan, res: Res, key: str, value: Any, ident: Res) -> bool:
    pid = ident.get("principalId")
    if known(value):
        return known(pid) and value == pid
    return any(d.urn == ident.urn for d in plan.deps(res, key))


def _scope_covers(plan: Plan, ra: Res, target: Res) -> bool:
    scope = ra.inputs.get("scope")
    if known(scope):
        tid = target.id.lower() if target.id else ""
        if tid:
            return tid == scope.lower() or tid.startswith(scope.lower().rstrip("/") + "/")
        return _arm(scope) == (target.rg, target.phys.lower()) or bool(
            re.fullmatch(
                rf"/subscriptions/[^/]+(/resourceGroups/{re.escape(target.rg)})?", scope, re.IGNORECASE
            )
        )
    parents = plan.deps(ra, "scope")
    return any(
        d.urn == target.urn
        or (d.type == "azure-native:resources:ResourceGroup" and d.phys.lower() == target.rg)
        for d in parents
    )


def _authorization(plan: Plan, path: Path, wl: Workload, ident: Identity, kind: Kind, target: Res) -> None:
    if ident.res is None:
        path.add(
            Hop(
                "identity",
                BROKEN,
                "the pods have no managed identity (see the identity path)",
                fix="annotate the service account with a managed identity's client id",
            )
        )
        return
    who = ident.res.phys or ident.res.name
    if kind.key == "redis":
        for apa in plan.of("azure-native:redisenterprise:AccessPolicyAssignment"):
            on = apa.inputs.get("clusterName") == target.phys or any(
                d.urn == target.urn for d in plan.deps(apa, "clusterName")
            )
            if on and _principal_matches(plan, apa, "user", dig(apa.inputs, "user", "objectId"), ident.res):
                path.add(
                    Hop(
                        "access policy assignment",
                        OK,
                        f"{who} -> access policy {apa.inputs.get('accessPolicyName')}",
                        apa.urn,
                    )
                )
                return
        path.add(
            Hop(
                "access policy assignment",
                BROKEN,
                f"no Redis access policy assignment for {who}",
                target.urn,
                fix=f"add an AccessPolicyAssignment on {target.phys} for {who}'s principal id",
            )
        )
        return
    if kind.key == "postgres":
        _postgres_grant(plan, path, wl, ident.res, target)
        return
    roles = DATA_ROLES[kind.key]
    for ra in plan.of("azure-native:authorization:RoleAssignment"):
        role = str(ra.inputs.get("roleDefinitionId", "")).lower().rsplit("/", 1)[-1]
        if (
            role in roles
            and _principal_matches(plan, ra, "principalId", ra.inputs.get("principalId"), ident.res)
            and _scope_covers(plan, ra, target)
        ):
            path.add(Hop("role assignment", OK, f"{roles[role]} for {who}", ra.urn))
            return
    path.add(
        Hop(
            "role assignment",
            BROKEN,
            f"no data-plane role ({', '.join(roles.values())}) for {who} on {target.phys} or a parent scope",
            target.urn,
            fix=f"assign {next(iter(roles.values()))} on {target.phys} to {who}",
        )
    )


def _text_of(plan: Plan, res: Res) -> str:
    return json.dumps([res.inputs, res.outputs])


def _postgres_grant(plan: Plan, path: Path, wl: Workload, ident: Res, server: Res) -> None:
    entry = _catalogue_entry(wl)
    database = entry.database if entry and entry.database else None
    needles = [x for x in (ident.phys, ident.get("principalId"), ident.get("clientId")) if known(x)]
    for job in plan.of("kubernetes:batch/v1:Job"):
        # The SQL may be inline or in a ConfigMap/Secret the Job mounts or reads.
        text = _text_of(plan, job)
        spec = json.dumps(dig(job.inputs, "spec") or {})
        sources = [job]
        for cm in plan.of("kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Secret"):
            if cm.phys and f'"{cm.phys}"' in spec and cm.namespace == job.namespace:
                text += _text_of(plan, cm)
                sources.append(cm)
        # At preview, SQL interpolating a principal id is unknown as a whole (or "[secret]" in a
        # Secret); the Job still names the identity through the plan's dependencies.
        linked = any(d.urn == ident.urn for src in sources for d in plan.deps(src))
        names_identity = any(n in text for n in needles) or linked
        hidden = UNKNOWN_SENTINEL in text or '"[secret]"' in text
        names_db = database is None or database in text
        if names_identity and (names_db or hidden):
            status = OK if names_db else UNKNOWN
            detail = f"Job {job.phys or job.name} grants {ident.phys}" + (
                f" on database {database}" if database and names_db else " (its SQL is known at apply)"
            )
            path.add(Hop("database grant", status, detail, job.urn))
            path.add(_job_admin_hop(plan, job, server))
            return
    path.add(
        Hop(
            "database grant",
            BROKEN,
            f"no grant Job creates a PostgreSQL role for {ident.phys}"
            + (f" on database {database}" if database else ""),
            server.urn,
            fix="run the grant SQL in the cluster as a Job (an Entra admin of the server), during "
            "`pulumi up`",
        )
    )


def _job_admin_hop(plan: Plan, job: Res, server: Res) -> Hop:
    """The Job can only grant if its identity is an Entra administrator of the server."""
    sa_name = dig(job.inputs, "spec", "template", "spec", "serviceAccountName")
    sa = next(
        (
            s
            for s in plan.of("kubernetes:core/v1:ServiceAccount")
            if s.phys == sa_name and s.namespace == job.namespace
        ),
        None,
    )
    client_id = dig(sa.inputs, "metadata", "annotations", "azure.workload.identity/client-id") if sa else None
    idents = [
        i
        for i in plan.of("azure-native:managedidentity:UserAssignedIdentity")
        if (known(client_id) and i.get("clientId") == client_id)
        or (
            sa is not None and not known(client_id) and any(d.urn == i.urn for d in plan.deps(sa, "metadata"))
        )
    ]
    for admin in plan.of("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra"):
        on = admin.inputs.get("serverName") == server.phys or any(
            d.urn == server.urn for d in plan.deps(admin, "serverName")
        )
        if on and any(
            _principal_matches(plan, admin, "objectId", admin.inputs.get("objectId"), i) for i in idents
        ):
            return Hop(
                "grant Job is an Entra admin",
                OK,
                f"{admin.inputs.get('principalName')} administers {server.phys}",
                admin.urn,
            )
    return Hop(
        "grant Job is an Entra admin",
        BROKEN,
        f"the Job's identity (service account {sa_name}) is not an Entra administrator of {server.phys}",
        job.urn,
        fix="register the Job's managed identity as an AdministratorsMicrosoftEntra of the server",
    )


# ---- the whole check -------------------------------------------------------------------------


def _public_names() -> set[str]:
    flagged = {s.workload for s in catalogue.SERVICES if getattr(s, "public", False)}
    has_field = any(hasattr(s, "public") for s in catalogue.SERVICES)
    return flagged if has_field else set(DEFAULT_PUBLIC)


def check(plan: Plan, public: set[str] | None = None) -> Report:
    public = _public_names() if public is None else public
    cluster = find_cluster(plan)
    report = Report(plan.stack, [])
    wls = sorted(workloads(plan), key=lambda w: (w.namespace, w.name))
    if cluster.res is None and wls:
        report.notes.append("no AKS cluster in the plan: VNet checks can't hold")
    for wl in wls:
        ident_path, ident = identity_path(plan, wl)
        req = request_path(plan, cluster, wl, wl.name in public)
        report.paths += ([req] if req else []) + image_paths(plan, cluster, wl) + [ident_path]
        report.paths += dependency_paths(plan, cluster, wl, ident)
    for job in workloads(plan, ("kubernetes:batch/v1:Job",)):
        # A Job (the PostgreSQL grant) must pull its image like any pod.
        job.name = f"Job {job.name}"
        report.paths += image_paths(plan, cluster, job)
    running = {w.service_account for w in wls} | {w.name for w in wls}
    for s in catalogue.SERVICES:
        if s.workload not in running and any(
            sa.phys == s.workload for sa in plan.of("kubernetes:core/v1:ServiceAccount")
        ):
            report.notes.append(
                f"{s.workload}: has a service account but no Deployment/StatefulSet in this plan"
            )
    return report


MARK = {OK: "ok", UNKNOWN: "??", BROKEN: "XX", SKIPPED: ".."}


def render(report: Report) -> str:
    lines = [
        f"Path proof of {report.stack or 'the plan'} (from the plan; a dry run proves wiring, not that "
        "DNS has propagated, a certificate was issued or an image exists)"
    ]
    current = None
    for p in report.paths:
        if p.workload != current:
            current = p.workload
            lines += ["", f"{p.workload}"]
        lines.append(f"  {p.title}")
        for h in p.hops:
            lines.append(f"    [{MARK.get(h.status, h.status)}] {h.step}: {h.detail}")
            if h.resource:
                lines.append(f"         {h.resource}")
    for n in report.notes:
        lines.append(f"note: {n}")
    lines.append("")
    broken = 0
    for p in report.paths:
        first = p.first_broken()
        if first is not None:
            broken += 1
            lines.append(
                f"BROKEN {p.workload} | {p.title} | {first.step}: {first.detail} -> fix: {first.fix}"
            )
    if not broken:
        lines.append(f"every hop holds ({len(report.paths)} paths; '??' = unknown until apply)")
    return "\n".join(lines)


def mermaid(report: Report, workload: str | None = None) -> str:
    """A left-to-right picture of each path's hops (ok solid, unknown dotted, broken red)."""
    lines = ["flowchart LR"]
    n = 0
    for p in report.paths:
        if workload and p.workload != workload:
            continue
        lines.append(f'  subgraph p{n}["{_q(p.workload + ": " + p.title)}"]')
        prev = None
        for i, h in enumerate(p.hops):
            node = f"p{n}h{i}"
            lines.append(f'    {node}["{_q(h.step)}<br/><small>{_q(h.detail)}</small>"]')
            if h.status == BROKEN:
                lines.append(f"    style {node} stroke:#d00,stroke-width:2px")
            if prev:
                lines.append(f"    {prev} {'-.->' if h.status == UNKNOWN else '-->'} {node}")
            prev = node
        lines.append("  end")
        n += 1
    return "\n".join(lines)


def _q(text: str) -> str:
    """Mermaid label text: arrows as arrows, and its own entity codes for quotes and angle brackets."""
    return text.replace("->", "→").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def from_file(path: str, read: Callable[[str], str] | None = None) -> Plan:
    text = read(path) if read else open(path, encoding="utf-8").read()
    return Plan(json.loads(text))
