"""The checks of the conformance test: a node's data model (read over Matter) against `spec_facts`.

`snapshot(controller, node)` takes one wildcard read and keeps the raw TLV per endpoint/cluster/attribute id
(no decoding through the controller's generated cluster classes, so attributes the wheel does not know are
seen too). `static_problems(snap)` compares it with the facts; `answer_problems(...)` then asks the node itself:
each listed attribute read alone, each defined-but-unlisted command invoked. Every finding is a `Problem` whose
`key` is stable across runs and endpoints of the same role, so the test can hold a table of known deviations.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from chip.clusters import Attribute as ClusterAttribute
from chip.clusters import ClusterObjects
from chip.clusters.Attribute import ValueDecodeFailure
from chip.interaction_model import InteractionModelError, Status

from .conformance import DISALLOWED, MANDATORY, Conformance
from .controller import Controller, ControllerError
from .spec_facts import (BRIDGED_INFO_CLUSTER, DESCRIPTOR_TAG_LIST, DESCRIPTOR_TAG_LIST_FEATURE, EVENT_LIST,
                         GLOBAL_ATTRIBUTES, SEMANTIC_TAG_NAMESPACES, ClusterFacts, cluster_facts, device_type_facts)

DESCRIPTOR = 0x001D
ROOT_NODE, AGGREGATOR, BRIDGED_NODE = 0x0016, 0x000E, 0x0013
# Device types of class Utility or Node (Device Library: Root Node, Power Source, OTA Requestor/Provider, Bridged
# Node, Electrical Sensor, Device Energy Management, Secondary Network Interface): they go beside an application
# device type. Core spec 9.2: an endpoint has at most one application device type, unless the others are ones it
# is a superset of (Device Library "superset"): the pairs below.
NON_APPLICATION = {0x0016, 0x0011, 0x0012, 0x0014, 0x0013, 0x0510, 0x050D, 0x0019}
SUPERSET_OF = {0x0101: {0x0100}, 0x010C: {0x0101, 0x0100}, 0x010D: {0x010C, 0x0101, 0x0100}, 0x010B: {0x010A}}
# Conditions of the Device Library that hold for every endpoint of this bridge: it is a mains-powered,
# always-listening node on Ethernet ("Active" devices keep Groups), configured through Network Commissioning.
BRIDGE_CONDITIONS = frozenset({"Active", "Matter", "Ethernet"})


@dataclass(frozen=True)
class Problem:
    endpoint: int
    role: str  # "root", "aggregator" or "bridged": the deviation table is keyed by role, not endpoint number
    cluster: str
    code: str
    detail: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.role, self.cluster, self.code, self.detail)

    def __str__(self) -> str:
        return f"endpoint {self.endpoint} ({self.role}) {self.cluster}: {self.code}: {self.detail}"


@dataclass
class ClusterView:
    id: int
    attrs: dict[int, object]  # attribute id -> TLV value or ValueDecodeFailure

    def value(self, attr: int, default=None):
        v = self.attrs.get(attr, default)
        return default if isinstance(v, ValueDecodeFailure) else v

    @property
    def attribute_list(self) -> set[int]:
        return set(self.value(0xFFFB, []) or [])

    @property
    def accepted(self) -> set[int]:
        return set(self.value(0xFFF9, []) or [])

    @property
    def generated(self) -> set[int]:
        return set(self.value(0xFFF8, []) or [])

    @property
    def feature_map(self) -> int:
        return int(self.value(0xFFFC, 0) or 0)

    @property
    def revision(self):
        return self.value(0xFFFD)


@dataclass
class EndpointView:
    id: int
    clusters: dict[int, ClusterView]
    device_types: list[tuple[int, int]] = field(default_factory=list)  # (device type, revision)
    server_list: list[int] = field(default_factory=list)
    parts_list: list[int] = field(default_factory=list)

    @property
    def role(self) -> str:
        ids = {d for d, _ in self.device_types}
        if ROOT_NODE in ids:
            return "root"
        if AGGREGATOR in ids:
            return "aggregator"
        return "bridged"


def snapshot(controller: Controller, node: int, timeout: float = 90.0) -> dict[int, EndpointView]:
    res = controller.rt.run(controller.ctrl.Read(node, [()]), timeout, f"{controller.name}: raw wildcard read")
    eps: dict[int, EndpointView] = {}
    for ep, clusters in res.tlvAttributes.items():
        view = EndpointView(ep, {cid: ClusterView(cid, dict(attrs)) for cid, attrs in clusters.items()})
        desc = view.clusters.get(DESCRIPTOR)
        if desc is not None:
            view.device_types = [(int(d[0]), int(d[1])) for d in (desc.value(0x0000, []) or [])]
            view.server_list = [int(c) for c in (desc.value(0x0001, []) or [])]
            view.parts_list = [int(p) for p in (desc.value(0x0003, []) or [])]
        eps[ep] = view
    return eps


def _names(facts: ClusterFacts, view: ClusterView, conditions) -> set[str]:
    """The names that are true for conformance expressions of this cluster instance."""
    true = set(conditions) | facts.feature_codes(view.feature_map)
    listed = view.attribute_list
    true |= {a.name for aid, a in facts.attributes.items() if aid in listed}
    true |= {c.name for cid, c in facts.commands.items() if cid in view.accepted}
    return true


def node_conditions(eps: dict[int, EndpointView]) -> set[str]:
    """Root Node conditions that the device types present on the node set (their conditionRequirements)."""
    out: set[str] = set()
    for ep in eps.values():
        for dt, _ in ep.device_types:
            facts = device_type_facts(dt)
            for cond, conf in (facts.root_conditions if facts else {}).items():
                if Conformance.of(conf).evaluate(()) == MANDATORY:
                    out.add(cond)
    return out


def static_problems(eps: dict[int, EndpointView]) -> tuple[list[Problem], list[str]]:
    """Everything checkable from the wildcard read alone. Returns (problems, notes)."""
    problems: list[Problem] = []
    notes: list[str] = []
    root_conditions = node_conditions(eps)
    all_eps = sorted(eps)
    root = eps.get(0)
    if root is None:
        return [Problem(0, "root", "Descriptor", "no-root-endpoint", "endpoint 0 did not answer")], notes
    if sorted(root.parts_list) != all_eps[1:]:
        problems.append(Problem(0, "root", "Descriptor", "parts-list",
                                f"PartsList {sorted(root.parts_list)} != the other endpoints {all_eps[1:]}"))
    aggregators = [e for e in all_eps if eps[e].role == "aggregator"]
    if aggregators:
        # Every bridged endpoint (and every child of one) hangs under the aggregator: its PartsList, or the
        # PartsList of an endpoint already under it, names it.
        agg = aggregators[0]
        under, todo = set(), [agg]
        while todo:
            parent = eps.get(todo.pop())
            for part in (parent.parts_list if parent else []):
                if part not in under:
                    under.add(part)
                    todo.append(part)
        for e in all_eps:
            if e not in (0, agg) and e not in under:
                problems.append(Problem(e, eps[e].role, "Descriptor", "parts-list",
                                        f"endpoint {e} is not under the aggregator (endpoint {agg})'s PartsList"))
    for ep in (eps[e] for e in all_eps):
        problems += _endpoint_problems(ep, root_conditions if ep.id == 0 else set(), notes)
    problems += composition_problems(eps)
    return problems, notes


def _tags(ep: EndpointView) -> list[tuple[int, int]]:
    """(namespace, tag) of each entry of the endpoint's Descriptor TagList (raw TLV structs)."""
    desc = ep.clusters.get(DESCRIPTOR)
    raw = (desc.value(DESCRIPTOR_TAG_LIST, []) if desc else []) or []
    return [(int(t[1]), int(t[2])) for t in raw]


def composition_problems(eps: dict[int, EndpointView]) -> list[Problem]:
    """The bridge composition rules of `spec_facts` (Bridged Node and BDBI only on bridged devices, TagLists on
    children that share a device type, the full-family aggregator PartsList)."""
    out: list[Problem] = []
    aggregators = [e for e, v in eps.items() if v.role == "aggregator"]
    agg_parts = set(eps[aggregators[0]].parts_list) if aggregators else set()
    for ep in eps.values():
        apps = sorted({d for d, _ in ep.device_types} - NON_APPLICATION)
        if len(apps) > 1 and not any(set(apps) - {a} <= SUPERSET_OF.get(a, set()) for a in apps):
            out.append(Problem(ep.id, ep.role, "Descriptor", "device-types",
                               "several application device types on one endpoint (none a superset of the others): "
                               + ", ".join(f"0x{a:04X}" for a in apps)))
    for ep in eps.values():
        if ep.role != "bridged":
            continue
        bridged = BRIDGED_NODE in {d for d, _ in ep.device_types}
        has_bdbi = BRIDGED_INFO_CLUSTER in ep.clusters
        if has_bdbi and not bridged:
            out.append(Problem(ep.id, "part", "Bridged Device Basic Information", "bdbi-on-part",
                               "served on an endpoint without the Bridged Node device type (a part)"))
        if bridged and not ep.parts_list:
            continue
        children = [eps[c] for c in ep.parts_list if c in eps]
        for child in children:
            if BRIDGED_NODE in {d for d, _ in child.device_types}:
                out.append(Problem(child.id, "part", "Descriptor", "part-is-bridged-node",
                                   f"child of endpoint {ep.id} lists Bridged Node: a part is no bridged device"))
            # Full family under an aggregator; on a node without one (a device on its own node) endpoint 0's
            # PartsList lists every endpoint (checked in static_problems).
            if aggregators and child.id not in agg_parts:
                out.append(Problem(child.id, "part", "Descriptor", "parts-list",
                                   "a part is missing from the aggregator's PartsList (full-family pattern)"))
            for ns, tag in _tags(child):
                known = SEMANTIC_TAG_NAMESPACES.get(ns)
                if known is None or tag not in known[1]:
                    out.append(Problem(child.id, "part", "Descriptor", "tag-list",
                                       f"TagList entry (namespace 0x{ns:02X}, tag {tag}) is not a defined tag"))
        by_type: dict[int, list[EndpointView]] = {}
        for child in children:
            for dt, _ in child.device_types:
                by_type.setdefault(dt, []).append(child)
        for dt, same in by_type.items():
            if len(same) < 2:
                continue
            seen: dict[tuple, int] = {}
            for child in same:
                desc = child.clusters.get(DESCRIPTOR)
                tags = tuple(sorted(_tags(child)))
                if not desc or not desc.feature_map & DESCRIPTOR_TAG_LIST_FEATURE or not tags:
                    out.append(Problem(child.id, "part", "Descriptor", "tag-list",
                                       f"one of {len(same)} children of endpoint {ep.id} with device type 0x{dt:04X} "
                                       "has no TagList (feature and a non-empty list are required)"))
                elif tags in seen:
                    out.append(Problem(child.id, "part", "Descriptor", "tag-list",
                                       f"TagList {tags} equals that of endpoint {seen[tags]} (same device type "
                                       f"0x{dt:04X}, same parent {ep.id})"))
                else:
                    seen[tags] = child.id
    return out


def _endpoint_problems(ep: EndpointView, root_conditions: set[str], notes: list[str]) -> list[Problem]:
    out: list[Problem] = []

    def p(cluster: str, code: str, detail: str):
        out.append(Problem(ep.id, ep.role, cluster, code, detail))

    if DESCRIPTOR not in ep.clusters:
        p("Descriptor", "missing-cluster", "every endpoint serves Descriptor")
    answered = set(ep.clusters)
    if set(ep.server_list) != answered:
        p("Descriptor", "server-list", f"ServerList {sorted(map(hex, ep.server_list))} != clusters answered in a "
                                       f"wildcard read {sorted(map(hex, answered))}")
    if not ep.device_types:
        p("Descriptor", "device-type-list", "DeviceTypeList is empty")
    conditions = BRIDGE_CONDITIONS | root_conditions
    required_features: dict[int, dict[str, str]] = {}
    required_elements: dict[int, dict[str, dict]] = {}
    for dt, rev in ep.device_types:
        facts = device_type_facts(dt)
        if facts is None:
            p("Descriptor", "no-device-type-facts",
              f"device type 0x{dt:04X} (revision {rev}) has no facts in hbe2e/spec_facts.py: add them from the spec")
            continue
        if rev != facts.revision:
            p("Descriptor", "device-type-revision",
              f"0x{dt:04X} {facts.name}: revision {rev}, the spec ({facts.source}) says {facts.revision}")
        for cid, conf in facts.clusters.items():
            verdict = Conformance.of(conf).evaluate(conditions)
            cname = (cluster_facts(cid).name if cluster_facts(cid) else f"0x{cid:04X}")
            if verdict == MANDATORY and cid not in ep.server_list:
                p(cname, "missing-cluster", f"{facts.name} requires server cluster {cname} ({conf})")
            # A condition the test cannot see (BridgedPowerSourceInfo, ...) makes a cluster conditionally
            # mandatory, not forbidden: only an explicit X forbids a cluster.
            if conf.strip() == "X" and cid in ep.server_list:
                p(cname, "disallowed-cluster", f"{facts.name} disallows server cluster {cname}")
        for cid, reqs in facts.elements.items():
            if cid not in ep.server_list:
                continue
            for kind, items in reqs.items():
                for elem, conf in items.items():
                    if Conformance.of(conf).evaluate(conditions) == MANDATORY:
                        why = facts.name if conf == "M" else f"{facts.name} ({conf})"
                        required_elements.setdefault(cid, {}).setdefault(kind, {})[elem] = why
            for code, conf in reqs.get("features", {}).items():
                if Conformance.of(conf).evaluate(conditions) == MANDATORY:
                    why = facts.name if conf == "M" else f"{facts.name} ({conf})"
                    required_features.setdefault(cid, {})[code] = why

    for cid in sorted(answered):
        facts = cluster_facts(cid)
        view = ep.clusters[cid]
        if facts is None:
            p(f"0x{cid:04X}", "no-cluster-facts", f"cluster 0x{cid:04X} has no facts in hbe2e/spec_facts.py")
            continue
        out += _cluster_problems(ep, facts, view, conditions, required_features.get(cid, {}),
                                 required_elements.get(cid, {}), notes)
    return out


def _cluster_problems(ep: EndpointView, facts: ClusterFacts, view: ClusterView, conditions, dt_features,
                      dt_elements, notes: list[str]) -> list[Problem]:
    out: list[Problem] = []

    def p(code: str, detail: str):
        out.append(Problem(ep.id, ep.role, facts.name, code, detail))

    if view.revision != facts.revision:
        p("cluster-revision", f"ClusterRevision {view.revision}, the spec ({facts.source}) says {facts.revision}")
    fm = view.feature_map
    undefined = fm & ~facts.defined_feature_mask
    if undefined:
        p("undefined-feature-bits", f"FeatureMap 0x{fm:X} sets bits 0x{undefined:X} the spec does not define")
    names = _names(facts, view, conditions)
    for bit, f in sorted(facts.features.items()):
        verdict = Conformance.of(f.conf).evaluate(names)
        on = bool(fm & (1 << bit))
        if verdict == MANDATORY and not on:
            p("missing-feature", f"feature {f.name} (bit {bit}) is mandatory here ({f.conf})")
        if verdict == DISALLOWED and on:
            p("disallowed-feature", f"feature {f.name} (bit {bit}) is not allowed here ({f.conf})")
    for code, dt_name in sorted(dt_features.items()):
        try:
            bit = facts.feature_bit(code)
        except KeyError:
            continue
        if not fm & (1 << bit):
            p("missing-feature", f"feature {code} (bit {bit}) is required by device type {dt_name}")

    listed = view.attribute_list
    for gid, gname in GLOBAL_ATTRIBUTES.items():
        if gid not in listed:
            p("missing-global-attribute", f"0x{gid:04X} {gname} is not in AttributeList")
    _element_set_problems(p, "attribute", facts.attributes, listed, names,
                          set(GLOBAL_ATTRIBUTES) | {EVENT_LIST}, dt_elements.get("attributes", {}))
    _element_set_problems(p, "command", facts.commands, view.accepted, names, set(),
                          dt_elements.get("commands", {}))
    # The responses of the accepted commands must be generated; the rest follows their own conformance.
    _element_set_problems(p, "response", facts.responses, view.generated, names, set(), {})
    for cmd in sorted(view.accepted):
        c = facts.commands.get(cmd)
        if c is not None and c.response is not None and c.response not in view.generated:
            resp = facts.responses.get(c.response)
            p("missing-response", f"0x{c.response:02X} {resp.name if resp else '?'} (the response of accepted "
                                  f"0x{cmd:02X} {c.name}) is not in GeneratedCommandList")
    if EVENT_LIST in listed:
        _element_set_problems(p, "event", facts.events, set(view.value(EVENT_LIST, []) or []), names, set(),
                              dt_elements.get("events", {}))
    elif facts.events and f"{facts.name}:events" not in notes:
        notes.append(f"{facts.name}:events")
    return out


def _element_set_problems(p, kind: str, defined: dict, served: set[int], names, globals_: set[int], dt_required):
    for eid, e in sorted(defined.items()):
        verdict = Conformance.of(e.conf).evaluate(names)
        width = 4 if kind == "attribute" else 2
        if verdict == MANDATORY and eid not in served:
            p(f"missing-{kind}", f"0x{eid:0{width}X} {e.name} is mandatory here ({e.conf})")
        if verdict == DISALLOWED and eid in served:
            p(f"disallowed-{kind}", f"0x{eid:0{width}X} {e.name} is not allowed here ({e.conf})")
    for eid in sorted(served - set(defined) - globals_):
        if eid <= 0xFFFF:  # standard ids; manufacturer-specific ones carry a vendor prefix above 0xFFFF
            p(f"undefined-{kind}", f"0x{eid:04X} is served but the spec defines no such {kind}")
    for eid, dt_name in sorted(dt_required.items()):
        if eid not in served:
            e = defined.get(eid)
            p(f"missing-{kind}", f"0x{eid:04X} {e.name if e else '?'} is required by device type {dt_name}")


# --------------------------------------------------------------------------------------------- answers

def _raw_command_class(cluster_id: int, command_id: int):
    """A command with no fields for any (cluster, command) id, for probing ids the node does not list. The
    controller's generated classes register themselves in a global index: the probe class is removed from it
    again so it never shadows a real command."""
    before = ClusterObjects.ALL_ACCEPTED_COMMANDS.get(cluster_id, {}).get(command_id)
    ns = {"__annotations__": {}, "cluster_id": cluster_id, "command_id": command_id, "is_client": True,
          "response_type": None, "descriptor": ClusterObjects.ClusterObjectDescriptor(Fields=[])}
    cls = dataclasses.dataclass(type(f"Probe_{cluster_id:04X}_{command_id:02X}", (ClusterObjects.ClusterCommand,), ns))
    table = ClusterObjects.ALL_ACCEPTED_COMMANDS.get(cluster_id)
    if table is not None:
        if before is None:
            table.pop(command_id, None)
        else:
            table[command_id] = before
    return cls


def invoke_status(controller: Controller, node: int, endpoint: int, cluster_id: int, command_id: int,
                  timeout: float = 15.0) -> str:
    """Invoke (cluster, command) with an empty payload; the IM status name it answers ("Success" if none)."""
    cmd = _raw_command_class(cluster_id, command_id)()
    try:
        controller.rt.run(controller.ctrl.SendCommand(node, endpoint, cmd), timeout,
                          f"probe 0x{cluster_id:04X}/0x{command_id:02X} on ep {endpoint}")
        return "Success"
    except ControllerError as e:
        cause = e.__cause__
        if isinstance(cause, InteractionModelError):
            return cause.status.name
        return f"error: {e}"


def answer_problems(controller: Controller, node: int, eps: dict[int, EndpointView],
                    batch: int = 9) -> tuple[list[Problem], dict[str, int]]:
    """Read every listed attribute on its own path and probe every defined but unlisted command."""
    problems: list[Problem] = []
    counts = {"attribute reads": 0, "command probes": 0}
    for ep in (eps[e] for e in sorted(eps)):
        for cid in sorted(ep.clusters):
            view = ep.clusters[cid]
            facts = cluster_facts(cid)
            cname = facts.name if facts else f"0x{cid:04X}"

            def p(code, detail, _ep=ep, _cname=cname):
                problems.append(Problem(_ep.id, _ep.role, _cname, code, detail))

            listed = view.attribute_list
            answered = set(view.attrs)
            for aid in sorted(answered - listed):
                p("unlisted-attribute-answered", f"a wildcard read returns 0x{aid:04X}, which AttributeList omits")
            for aid in sorted(listed - answered):
                p("listed-attribute-not-answered", f"0x{aid:04X} is listed but a wildcard read does not return it")
            ids = sorted(listed)
            for i in range(0, len(ids), batch):
                chunk = ids[i:i + batch]
                paths = [ClusterAttribute.AttributePath(EndpointId=ep.id, ClusterId=cid, AttributeId=a)
                         for a in chunk]
                res = controller.rt.run(controller.ctrl.Read(node, paths, fabricFiltered=True), 30,
                                        f"read {len(chunk)} paths of ep {ep.id} cluster 0x{cid:04X}")
                got = res.tlvAttributes.get(ep.id, {}).get(cid, {})
                counts["attribute reads"] += len(chunk)
                for a in chunk:
                    if a not in got:
                        p("read-failed", f"0x{a:04X}: no answer to a concrete read")
                    elif isinstance(got[a], ValueDecodeFailure):
                        p("read-failed", f"0x{a:04X}: {got[a].Reason}")
            if facts is None:
                continue
            probe = sorted(set(facts.commands) - view.accepted)
            # One id the cluster does not define at all, from the range the commands use.
            spare = next((c for c in range(0xFE, -1, -1) if c not in facts.commands), None)
            if spare is not None:
                probe.append(spare)
            for cmd in probe:
                status = invoke_status(controller, node, ep.id, cid, cmd)
                counts["command probes"] += 1
                if status != Status.UnsupportedCommand.name:
                    name = facts.commands[cmd].name if cmd in facts.commands else "(undefined)"
                    p("unlisted-command-answer", f"0x{cmd:02X} {name} is not in AcceptedCommandList but answers "
                                                 f"{status}, not UnsupportedCommand")
    return problems, counts
