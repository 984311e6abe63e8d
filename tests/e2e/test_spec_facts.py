"""The facts table and the conformance evaluator the conformance test relies on (no device needed).

A typo in `hbe2e/spec_facts.py` (an expression that does not parse, a feature code a device type asks for that
the cluster does not define, a response id no response has) would make the conformance test check the wrong
thing; these tests catch it before any device is started.
"""

from __future__ import annotations

import pytest

from hbe2e.conformance import DISALLOWED, MANDATORY, OPTIONAL, Conformance, ConformanceError, evaluate
from hbe2e.spec_facts import CLUSTERS, DEVICE_TYPES


@pytest.mark.parametrize("text, true, expected", [
    ("M", (), MANDATORY),
    ("O", (), OPTIONAL),
    ("X", (), DISALLOWED),
    ("D", (), OPTIONAL),
    ("P, M", (), OPTIONAL),                       # provisional first: never required
    ("desc", (), OPTIONAL),
    ("LT", ("LT",), MANDATORY),
    ("LT", (), DISALLOWED),                       # a feature-conditional element without its feature
    ("[LT]", ("LT",), OPTIONAL),
    ("[LT]", (), DISALLOWED),
    ("!OFFONLY", (), MANDATORY),
    ("!OFFONLY", ("OFFONLY",), DISALLOWED),
    ("AUTO, O", ("AUTO",), MANDATORY),
    ("AUTO, O", (), OPTIONAL),
    ("LF & PA_LF, [LF]", ("LF",), OPTIONAL),
    ("LF & PA_LF, [LF]", ("LF", "PA_LF"), MANDATORY),
    ("[!(LT | DF)]", ("DF",), DISALLOWED),
    ("MS & (MSR | AS)", ("MS", "AS"), MANDATORY),
    ("M, D", (), MANDATORY),
    ("[Wi-Fi]", ("Wi-Fi",), OPTIONAL),
])
def test_conformance_notation(text, true, expected):
    assert evaluate(text, true) == expected


@pytest.mark.parametrize("bad", ["LT &", "(LT", "[LT", "LT LT", "&", ""])
def test_bad_expressions_are_refused(bad):
    with pytest.raises(ConformanceError):
        Conformance(bad)


def test_every_expression_in_the_facts_parses():
    for c in CLUSTERS.values():
        for group in (c.features, c.attributes, c.commands, c.responses, c.events):
            for e in group.values():
                Conformance.of(e.conf)
    for d in DEVICE_TYPES.values():
        for conf in list(d.clusters.values()) + list(d.root_conditions.values()):
            Conformance.of(conf)
        for reqs in d.elements.values():
            for items in reqs.values():
                for conf in items.values():
                    Conformance.of(conf)


def test_device_types_name_only_clusters_and_features_with_facts():
    for d in DEVICE_TYPES.values():
        for cid, conf in d.clusters.items():
            if evaluate(conf, {"Active", "Matter", "Ethernet"}) == MANDATORY:
                assert cid in CLUSTERS, f"{d.name} requires cluster 0x{cid:04X}, which has no facts"
        for cid, reqs in d.elements.items():
            c = CLUSTERS[cid]
            for code in reqs.get("features", {}):
                c.feature_bit(code)  # raises if the cluster facts lack the feature
            for aid in reqs.get("attributes", {}):
                assert aid in c.attributes, f"{d.name}: {c.name} has no attribute 0x{aid:04X}"
            for cmd in reqs.get("commands", {}):
                assert cmd in c.commands, f"{d.name}: {c.name} has no command 0x{cmd:02X}"


def test_commands_name_responses_that_exist():
    for c in CLUSTERS.values():
        for cmd in c.commands.values():
            if cmd.response is not None:
                assert cmd.response in c.responses, f"{c.name} {cmd.name} -> 0x{cmd.response:02X}"


def test_the_kinds_the_bridge_serves_and_will_serve_have_facts():
    # Issue 9's device kinds: lights and plugs, sensors, alarms, air quality, fan, power, switch, composed nodes.
    for dt in (0x0016, 0x000E, 0x0013, 0x0011, 0x0100, 0x0101, 0x010C, 0x010D, 0x010A, 0x010B, 0x0015, 0x0107,
               0x0302, 0x0307, 0x0301, 0x000A, 0x0202, 0x0106, 0x0305, 0x0306, 0x0043, 0x0041, 0x0044, 0x0076,
               0x002C, 0x002B, 0x0510, 0x000F):
        assert dt in DEVICE_TYPES, hex(dt)
    for cid in (0x002F, 0x0062, 0x0080, 0x005C, 0x005B, 0x040D, 0x042A, 0x042D, 0x042E, 0x042B, 0x0202, 0x0090,
                0x0091, 0x009C, 0x003B, 0x0400, 0x0403, 0x0404):
        assert cid in CLUSTERS, hex(cid)


def _view(ep, types, clusters, parts=(), tags=None, tag_feature=False):
    """A synthetic endpoint as `snapshot` builds it (Descriptor attributes in raw TLV form)."""
    from hbe2e.conformance_check import ClusterView, EndpointView
    desc = {0x0000: [[t, 1] for t in types], 0x0003: list(parts), 0xFFFC: 1 if tag_feature else 0}
    if tags is not None:
        desc[0x0004] = [{0: None, 1: ns, 2: tag} for ns, tag in tags]
    views = {0x001D: ClusterView(0x001D, desc)}
    views.update({c: ClusterView(c, {}) for c in clusters})
    return EndpointView(ep, views, [(t, 1) for t in types], [0x001D, *clusters], list(parts))


def test_composition_rules_catch_a_part_with_bdbi_or_without_distinct_tags():
    from hbe2e.conformance_check import composition_problems
    ok = {
        1: _view(1, [0x000E], [], parts=[2, 3, 4]),
        2: _view(2, [0x0013], [0x0039], parts=[3, 4]),
        3: _view(3, [0x0100], [0x0006], tags=[(0x08, 0)], tag_feature=True),
        4: _view(4, [0x0100], [0x0006], tags=[(0x08, 1)], tag_feature=True),
    }
    assert composition_problems(ok) == []
    bad = dict(ok)
    bad[3] = _view(3, [0x0100, 0x0013], [0x0006, 0x0039], tags=[(0x08, 1)], tag_feature=True)
    bad[1] = _view(1, [0x000E], [], parts=[2, 4])
    codes = sorted(p.code for p in composition_problems(bad))
    assert codes == ["part-is-bridged-node", "parts-list", "tag-list"], codes
    no_tags = dict(ok)
    no_tags[4] = _view(4, [0x0100], [0x0006])
    assert [p.code for p in composition_problems(no_tags)] == ["tag-list"]
    unknown = dict(ok)
    unknown[4] = _view(4, [0x0100], [0x0006], tags=[(0x08, 9)], tag_feature=True)
    assert [p.code for p in composition_problems(unknown)] == ["tag-list"]
    bdbi_on_part = dict(ok)
    bdbi_on_part[4] = _view(4, [0x0100], [0x0006, 0x0039], tags=[(0x08, 1)], tag_feature=True)
    assert [p.code for p in composition_problems(bdbi_on_part)] == ["bdbi-on-part"]
