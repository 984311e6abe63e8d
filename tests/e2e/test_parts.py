"""Composed devices with child endpoints (`parts`), as the connectedhomeip controller sees them.

- The demo's two-gang switch and four-button remote: the tree (the aggregator's PartsList names parents and
  children, each parent's PartsList names its parts, each part has its device type, no Bridged Node, no Bridged
  Device Basic Information, and a TagList: Common Position left/right, Common Number 1..4), each gang toggled on its
  own endpoint changes only that part in the API, a press on button 3 gives Switch events on its endpoint only.
- Endpoints of the parts stay across a restart; a part added at run time (with its device) appears in the parent's
  PartsList, and removing the device removes the parts from the node.
"""

from __future__ import annotations

import os
import time

import pytest

from hbe2e.api import Api
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml
from test_bridge_demo import demo  # noqa: F401 - the demo fixture
from test_bridge_matter import API_PORT

pytestmark = pytest.mark.hubbridge

C = Clusters
SWITCH = 0x003B
POSITION, NUMBER = 0x08, 0x07  # semantic tag namespaces Common Position, Common Number


def device_types(controller, node, ep) -> set[int]:
    return {t.deviceType for t in controller.read_attribute(node, ep, C.Descriptor.Attributes.DeviceTypeList)}


def tags(controller, node, ep) -> list[tuple[int, int]]:
    return [(t.namespaceID, t.tag) for t in controller.read_attribute(node, ep, C.Descriptor.Attributes.TagList)]


def wait_state(api: Api, dev_id: str, field: str, value, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while api.device(dev_id)["state"].get(field) != value and time.monotonic() < deadline:
        time.sleep(0.05)
    return api.device(dev_id)["state"].get(field)


def test_two_gang_switch_and_remote_tree_gangs_and_buttons(demo, controller, timings):  # noqa: F811
    _dev, node, api = demo
    gang = api.device("hall-switch")
    left, right = api.device("hall-switch:left"), api.device("hall-switch:right")
    remote = api.device("living-remote")
    buttons = [api.device(f"living-remote:b{n}") for n in range(1, 5)]
    assert gang["kind"] == "bridged_node" and gang["parts"] == ["hall-switch:left", "hall-switch:right"]
    assert left["parent"] == "hall-switch" and left["tag"] == "left" and right["tag"] == "right"
    assert [b["tag"] for b in buttons] == [1, 2, 3, 4]

    # The tree.
    aggregator = set(controller.read_attribute(node, 1, C.Descriptor.Attributes.PartsList))
    children = [left["endpoint"], right["endpoint"]] + [b["endpoint"] for b in buttons]
    assert {gang["endpoint"], remote["endpoint"], *children} <= aggregator
    assert controller.read_attribute(node, gang["endpoint"], C.Descriptor.Attributes.PartsList) == \
        [left["endpoint"], right["endpoint"]]
    assert controller.read_attribute(node, remote["endpoint"], C.Descriptor.Attributes.PartsList) == \
        [b["endpoint"] for b in buttons]
    assert device_types(controller, node, gang["endpoint"]) == {0x0013}
    assert device_types(controller, node, remote["endpoint"]) == {0x0013, 0x0011}  # Bridged Node, Power Source
    servers = set(controller.read_attribute(node, remote["endpoint"], C.Descriptor.Attributes.ServerList))
    assert {0x001D, 0x0039, 0x002F} == servers, sorted(map(hex, servers))
    assert controller.read_attribute(node, remote["endpoint"], C.PowerSource.Attributes.BatPercentRemaining) == 200
    # The remote's battery powers the remote and every button (what TC_PS_3_1 checks on a bridged node).
    assert controller.read_attribute(node, remote["endpoint"], C.PowerSource.Attributes.EndpointList) == \
        [remote["endpoint"], *sorted(b["endpoint"] for b in buttons)]
    for ep, dt in [(left["endpoint"], 0x0100), (right["endpoint"], 0x0100)] + \
            [(b["endpoint"], 0x000F) for b in buttons]:
        assert device_types(controller, node, ep) == {dt}
        servers = set(controller.read_attribute(node, ep, C.Descriptor.Attributes.ServerList))
        assert 0x0039 not in servers, f"endpoint {ep}: a part has no Bridged Device Basic Information"
        assert controller.read_attribute(node, ep, C.Descriptor.Attributes.FeatureMap) & 1 == 1
        assert controller.read_attribute(node, ep, C.Descriptor.Attributes.PartsList) == []
    assert tags(controller, node, left["endpoint"]) == [(POSITION, 0)]
    assert tags(controller, node, right["endpoint"]) == [(POSITION, 1)]
    assert [tags(controller, node, b["endpoint"]) for b in buttons] == [[(NUMBER, n)] for n in range(1, 5)]

    # Each gang on its own: only that part changes.
    t0 = time.monotonic()
    controller.invoke(node, left["endpoint"], C.OnOff.Commands.On())
    assert wait_state(api, "hall-switch:left", "on", True) is True
    timings.add("two-gang: On to the left gang → API", time.monotonic() - t0)
    assert api.device("hall-switch:right")["state"]["on"] is False
    assert controller.read_attribute(node, right["endpoint"], C.OnOff.Attributes.OnOff) is False
    controller.invoke(node, right["endpoint"], C.OnOff.Commands.On())
    assert wait_state(api, "hall-switch:right", "on", True) is True
    controller.invoke(node, left["endpoint"], C.OnOff.Commands.Off())
    assert wait_state(api, "hall-switch:left", "on", False) is False
    assert api.device("hall-switch:right")["state"]["on"] is True
    assert controller.read_attribute(node, right["endpoint"], C.OnOff.Attributes.OnOff) is True
    # And from the API, as the device itself would report it.
    api.set_state("hall-switch:right", {"on": False})
    assert controller.read_attribute(node, right["endpoint"], C.OnOff.Attributes.OnOff) is False

    # Button 3 pressed: Switch events on button 3's endpoint only.
    sub = controller.subscribe_events(node, [(b["endpoint"], C.Switch, 1) for b in buttons])
    mark = sub.mark()
    api.call("POST", "/devices/living-remote:b3/events", {"press": "single"}, expect=202)
    got = sub.wait_for_count(3, since=mark, predicate=lambda e: e.cluster_id == SWITCH, timeout=20)
    sub.settle(1.5)
    got = [e for e in sub.events[mark:] if e.cluster_id == SWITCH]
    assert {e.endpoint for e in got} == {buttons[2]["endpoint"]}, [(e.endpoint, e.event_id) for e in got]
    assert [e.event_id for e in got] == [1, 3, 6]  # InitialPress, ShortRelease, MultiPressComplete
    # The container itself raises no press.
    _, err = api.call("POST", "/devices/living-remote/events", {"press": "single"}, expect=400)
    assert "press" in err["error"], err


def test_part_endpoints_stay_across_restart_and_go_with_their_device(hubbridge, sandbox, device_dir, controller):
    gang = dict(id="gang", kind="bridged_node", name="Gang", parts=[
        dict(id="left", kind="on_off_light", tag="left"), dict(id="right", kind="on_off_light", tag="right")])
    storage = os.path.join(device_dir, "state")
    cfg = config_toml(storage, interface=sandbox.pair.dev_if, api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                      devices=[dict(id="lamp", kind="on_off_light", name="Lamp"), gang])
    dev = hubbridge(cfg)
    node = controller.commission(dev.pairing_codes().manual)
    api = Api(sandbox.pair.dev_addr6)
    before = {d["id"]: d["endpoint"] for d in api.call("GET", "/devices", expect=200)[1]}
    assert set(before) == {"lamp", "gang", "gang:left", "gang:right"}
    parts = [before["gang:left"], before["gang:right"]]
    assert controller.read_attribute(node, before["gang"], C.Descriptor.Attributes.PartsList) == parts
    controller.invoke(node, before["gang:right"], C.OnOff.Commands.On())
    assert wait_state(api, "gang:right", "on", True) is True

    dev.stop()
    dev.start()
    controller.reconnect(node)
    after = {d["id"]: d["endpoint"] for d in api.call("GET", "/devices", expect=200)[1]}
    assert after == before
    assert controller.read_attribute(node, before["gang"], C.Descriptor.Attributes.PartsList, timeout=60) == parts
    assert controller.read_attribute(node, before["gang:right"], C.OnOff.Attributes.OnOff) is True
    assert tags(controller, node, before["gang:left"]) == [(POSITION, 0)]

    # A device with parts added at run time: the node grows by the parent and its children, ConfigurationVersion
    # goes up; removing it removes them all.
    version = controller.read_attribute(node, 0, C.BasicInformation.Attributes.ConfigurationVersion)
    remote = dict(id="remote", kind="bridged_node", name="Remote", parts=[
        dict(id="b1", kind="generic_switch", tag=1), dict(id="b2", kind="generic_switch", tag=2)])
    _, added = api.call("POST", "/devices", remote, expect=201)
    b1, b2 = api.device("remote:b1")["endpoint"], api.device("remote:b2")["endpoint"]
    deadline = time.monotonic() + 10
    while controller.read_attribute(node, added["endpoint"], C.Descriptor.Attributes.PartsList) != [b1, b2] and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    assert controller.read_attribute(node, added["endpoint"], C.Descriptor.Attributes.PartsList) == [b1, b2]
    assert {added["endpoint"], b1, b2} <= set(controller.read_attribute(node, 1, C.Descriptor.Attributes.PartsList))
    assert controller.read_attribute(node, 0, C.BasicInformation.Attributes.ConfigurationVersion) > version
    _, err = api.call("DELETE", "/devices/remote:b1", expect=409)
    assert "part of `remote`" in err["error"], err
    api.call("DELETE", "/devices/remote", expect=200)
    deadline = time.monotonic() + 10
    while b1 in controller.endpoints(node) and time.monotonic() < deadline:
        time.sleep(0.2)
    remaining = set(controller.endpoints(node))
    assert not {added["endpoint"], b1, b2} & remaining
    assert set(parts) <= remaining
