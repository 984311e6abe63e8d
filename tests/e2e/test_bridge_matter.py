"""hubbridge as a Matter bridge, driven by the connectedhomeip Python controller over IP.

Each test starts its own bridge in the dev namespace (fresh storage), commissions it with the manual code the
bridge printed (mDNS discovery over the veth), and checks what a user of a Matter controller would notice:
the device tree, control, reports of local changes, runtime add/remove, identity across restarts, multi-admin.
The bridge's local HTTP API listens on the dev side of the veth so the tests can act as "local" sources.
"""

from __future__ import annotations

import os
import time

import pytest

from hbe2e.api import Api
from hbe2e.controller import Clusters, ControllerError
from hbe2e.hubbridge import config_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
AGGREGATOR = 1
DT_AGGREGATOR = 0x000E
DT_BRIDGED_NODE = 0x0013
DT_ON_OFF_LIGHT = 0x0100
DT_DIMMABLE_LIGHT = 0x0101
DT_TEMPERATURE_SENSOR = 0x0302
DT_CONTACT_SENSOR = 0x0015

Descriptor = Clusters.Descriptor.Attributes
BDBI = Clusters.BridgedDeviceBasicInformation.Attributes
OnOff = Clusters.OnOff.Attributes.OnOff
CurrentLevel = Clusters.LevelControl.Attributes.CurrentLevel
MeasuredValue = Clusters.TemperatureMeasurement.Attributes.MeasuredValue
StateValue = Clusters.BooleanState.Attributes.StateValue
ConfigurationVersion = Clusters.BasicInformation.Attributes.ConfigurationVersion

DEVICES = [
    dict(id="kitchen-light", kind="dimmable_light", name="Kitchen light", room="Kitchen",
         state=dict(on=False, brightness=100)),
    dict(id="hall-light", kind="on_off_light", name="Hall light"),
    dict(id="living-temp", kind="temperature_sensor", name="Living temperature", state=dict(temperature=21.5)),
    dict(id="front-door", kind="contact_sensor", name="Front door", state=dict(contact=True)),
]


def bridge_config(sandbox, device_dir, devices=DEVICES, storage="state"):
    return config_toml(os.path.join(device_dir, storage), interface=sandbox.pair.dev_if, name="hubbridge e2e",
                       api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=devices)


@pytest.fixture
def bridge(hubbridge, sandbox, device_dir, controller, timings):
    """A started, commissioned hubbridge: (device process, node id, Api)."""
    dev = hubbridge(bridge_config(sandbox, device_dir))
    codes = dev.pairing_codes()
    t0 = time.monotonic()
    node = controller.commission(codes.manual)
    timings.add("hubbridge: commission by manual code", time.monotonic() - t0)
    return dev, node, Api(sandbox.pair.dev_addr6)


def endpoint_of(api: Api, dev_id: str) -> int:
    return api.device(dev_id)["endpoint"]


def device_types(controller, node, ep) -> set[int]:
    return {t.deviceType for t in controller.read_attribute(node, ep, Descriptor.DeviceTypeList)}


def test_tree_as_a_controller_sees_it(bridge, controller, sandbox, timings):
    dev, node, api = bridge
    eps = {d["id"]: endpoint_of(api, d["id"]) for d in DEVICES}
    assert sorted(eps.values()) == [2, 3, 4, 5]

    assert DT_AGGREGATOR in device_types(controller, node, AGGREGATOR)
    assert sorted(controller.read_attribute(node, AGGREGATOR, Descriptor.PartsList)) == [2, 3, 4, 5]
    assert sorted(controller.read_attribute(node, 0, Descriptor.PartsList)) == [1, 2, 3, 4, 5]

    assert device_types(controller, node, eps["kitchen-light"]) == {DT_DIMMABLE_LIGHT, DT_BRIDGED_NODE}
    assert device_types(controller, node, eps["hall-light"]) == {DT_ON_OFF_LIGHT, DT_BRIDGED_NODE}
    assert device_types(controller, node, eps["living-temp"]) == {DT_TEMPERATURE_SENSOR, DT_BRIDGED_NODE}

    t0 = time.monotonic()
    tree = controller.read_all(node)
    timings.add("hubbridge: wildcard read of 4 devices", time.monotonic() - t0)
    assert sorted(tree) == [0, 1, 2, 3, 4, 5]
    for d in DEVICES:
        info = tree[eps[d["id"]]][Clusters.BridgedDeviceBasicInformation]
        assert info[BDBI.NodeLabel] == d["name"]
        assert info[BDBI.Reachable] is True
        assert len(info[BDBI.UniqueID]) == 32
    unique_ids = {tree[ep][Clusters.BridgedDeviceBasicInformation][BDBI.UniqueID] for ep in eps.values()}
    assert len(unique_ids) == 4
    assert tree[0][Clusters.BasicInformation][Clusters.BasicInformation.Attributes.VendorID] == 0xFFF1

    # A printed read of the tree, kept with the run's logs (the closing note quotes it).
    lines = []
    for ep in sorted(tree):
        types = sorted(t.deviceType for t in tree[ep][Clusters.Descriptor][Descriptor.DeviceTypeList])
        label = tree[ep].get(Clusters.BridgedDeviceBasicInformation, {}).get(BDBI.NodeLabel, "")
        clusters = sorted(c.__name__ for c in tree[ep])
        lines.append(f"endpoint {ep}: device types {[hex(t) for t in types]} {label!r}\n    clusters: {clusters}")
    with open(os.path.join(sandbox.log_dir, "controller-tree.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def test_toggle_and_level_from_the_controller_reach_the_registry(bridge, controller):
    dev, node, api = bridge
    light = endpoint_of(api, "kitchen-light")
    assert controller.read_attribute(node, light, OnOff) is False
    assert controller.read_attribute(node, light, CurrentLevel) == 100

    controller.invoke(node, light, Clusters.OnOff.Commands.Toggle())
    assert controller.read_attribute(node, light, OnOff) is True
    assert api.device("kitchen-light")["state"]["on"] is True

    controller.invoke(node, light, Clusters.LevelControl.Commands.MoveToLevelWithOnOff(
        level=200, transitionTime=0, optionsMask=0, optionsOverride=0))
    assert controller.read_attribute(node, light, CurrentLevel) == 200
    state = api.device("kitchen-light")["state"]
    assert state["brightness"] == 200 and state["on"] is True

    # Level to the minimum with on/off turns the light off, as the spec says.
    controller.invoke(node, light, Clusters.LevelControl.Commands.MoveToLevelWithOnOff(
        level=1, transitionTime=0, optionsMask=0, optionsOverride=0))
    assert controller.read_attribute(node, light, OnOff) is False

    # Out-of-range level is refused and changes nothing.
    with pytest.raises(ControllerError):
        controller.invoke(node, light, Clusters.LevelControl.Commands.MoveToLevelWithOnOff(
            level=255, transitionTime=0, optionsMask=0, optionsOverride=0))
    assert api.device("kitchen-light")["state"]["brightness"] == 1


def test_sensor_reads_and_local_changes_are_reported(bridge, controller, timings):
    dev, node, api = bridge
    temp = endpoint_of(api, "living-temp")
    door = endpoint_of(api, "front-door")
    light = endpoint_of(api, "hall-light")
    assert controller.read_attribute(node, temp, MeasuredValue) == 2150
    assert controller.read_attribute(node, door, StateValue) is True

    sub = controller.subscribe(node, [(temp, MeasuredValue), (door, StateValue), (light, OnOff)],
                               min_interval=0, max_interval=10)
    mark = sub.mark()
    t0 = time.monotonic()
    api.set_state("living-temp", {"temperature": 23.25})
    assert sub.wait_for(temp, MeasuredValue, 2325, since=mark, timeout=10) == 2325
    timings.add("hubbridge: HTTP API change -> subscription report", time.monotonic() - t0)

    api.set_state("front-door", {"contact": False})
    assert sub.wait_for(door, StateValue, False, since=mark, timeout=10) is False
    api.set_state("hall-light", {"on": True})
    assert sub.wait_for(light, OnOff, True, since=mark, timeout=10) is True

    # Bad values from the local side are refused by the registry and never reach Matter.
    status, body = api.call("PATCH", "/devices/living-temp/state", {"temperature": "hot"})
    assert status == 400 and "temperature" in body["error"]
    assert controller.read_attribute(node, temp, MeasuredValue) == 2325


def test_add_and_remove_devices_at_runtime(bridge, controller, timings):
    dev, node, api = bridge
    sub = controller.subscribe(node, [(AGGREGATOR, Descriptor.PartsList), (0, ConfigurationVersion)],
                               min_interval=0, max_interval=10)
    version0 = controller.read_attribute(node, 0, ConfigurationVersion)
    mark = sub.mark()
    t0 = time.monotonic()
    status, added = api.call("POST", "/devices", dict(id="garage-plug", kind="on_off_plug_in_unit",
                                                      name="Garage plug"))
    assert status == 201, added
    new_ep = added["endpoint"]
    assert new_ep == 6
    sub.wait_for(AGGREGATOR, Descriptor.PartsList, predicate=lambda v: new_ep in v, since=mark, timeout=10)
    timings.add("hubbridge: device added -> PartsList report", time.monotonic() - t0)
    assert controller.read_attribute(node, 0, ConfigurationVersion) > version0

    # The new device works at once, over the same session and subscription.
    controller.invoke(node, new_ep, Clusters.OnOff.Commands.On())
    assert api.device("garage-plug")["state"]["on"] is True
    assert controller.read_attribute(node, new_ep, BDBI.NodeLabel) == "Garage plug"

    version1 = controller.read_attribute(node, 0, ConfigurationVersion)
    mark = sub.mark()
    api.call("DELETE", "/devices/garage-plug", expect=200)
    sub.wait_for(AGGREGATOR, Descriptor.PartsList, predicate=lambda v: new_ep not in v, since=mark, timeout=10)
    assert controller.read_attribute(node, 0, ConfigurationVersion) > version1
    assert sorted(controller.read_attribute(node, 0, Descriptor.PartsList)) == [1, 2, 3, 4, 5]
    with pytest.raises(ControllerError):
        controller.invoke(node, new_ep, Clusters.OnOff.Commands.On())

    # Endpoint numbers are never reused: another new device gets a fresh one.
    status, other = api.call("POST", "/devices", dict(id="porch-light", kind="on_off_light", name="Porch"))
    assert status == 201 and other["endpoint"] == 7

    # Devices from the config file cannot be removed through the API (the file would bring them back).
    status, body = api.call("DELETE", "/devices/hall-light")
    assert status == 409 and "config" in body["error"]


def test_reachability_and_node_label(bridge, controller):
    dev, node, api = bridge
    light = endpoint_of(api, "hall-light")
    sub = controller.subscribe(node, [(light, BDBI.Reachable), (light, BDBI.NodeLabel)],
                               min_interval=0, max_interval=10)
    mark = sub.mark()
    api.call("PUT", "/devices/hall-light/reachable", {"reachable": False}, expect=200)
    assert sub.wait_for(light, BDBI.Reachable, False, since=mark, timeout=10) is False

    controller.write_attribute(node, light, BDBI.NodeLabel("Hallway"))
    assert controller.read_attribute(node, light, BDBI.NodeLabel) == "Hallway"
    assert api.device("hall-light")["label"] == "Hallway"

    with pytest.raises(ControllerError):
        controller.write_attribute(node, light, BDBI.NodeLabel("x" * 33))


def test_restart_keeps_fabric_endpoints_unique_ids_and_labels(bridge, controller, hubbridge, sandbox, device_dir,
                                                              timings):
    dev, node, api = bridge
    before = {}
    for d in DEVICES:
        ep = endpoint_of(api, d["id"])
        before[d["id"]] = (ep, controller.read_attribute(node, ep, BDBI.UniqueID))
    controller.write_attribute(node, before["hall-light"][0], BDBI.NodeLabel("Hallway"))

    dev.stop()
    # Reorder the config and add a device in front: identities must not move.
    reordered = [dict(id="new-plug", kind="on_off_plug_in_unit", name="New plug")] + list(reversed(DEVICES))
    with open(os.path.join(device_dir, "hubbridge.toml"), "w") as f:
        f.write(bridge_config(sandbox, device_dir, devices=reordered))
    dev.start()
    t = controller.reconnect(node)
    timings.add("hubbridge: CASE reconnect after restart", t)

    for dev_id, (ep, uid) in before.items():
        assert endpoint_of(api, dev_id) == ep
        assert controller.read_attribute(node, ep, BDBI.UniqueID) == uid
    assert endpoint_of(api, "new-plug") == 6
    assert controller.read_attribute(node, before["hall-light"][0], BDBI.NodeLabel) == "Hallway"
    assert sorted(controller.read_attribute(node, AGGREGATOR, Descriptor.PartsList)) == [2, 3, 4, 5, 6]
    controller.invoke(node, before["hall-light"][0], Clusters.OnOff.Commands.On())
    assert api.device("hall-light")["state"]["on"] is True


def test_second_fabric_through_administrator_commissioning(bridge, controller, new_controller, timings):
    dev, node, api = bridge
    params = controller.open_commissioning_window(node)
    other = new_controller("beta")
    t0 = time.monotonic()
    node_b = other.commission(params.setupManualCode)
    timings.add("hubbridge: second fabric commissioned", time.monotonic() - t0)
    fabrics = controller.read_attribute(node, 0, Clusters.OperationalCredentials.Attributes.Fabrics,
                                        fabric_filtered=False)
    assert len(fabrics) == 2

    light = endpoint_of(api, "hall-light")
    other.invoke(node_b, light, Clusters.OnOff.Commands.On())
    assert controller.read_attribute(node, light, OnOff) is True
    assert api.device("hall-light")["state"]["on"] is True


def test_pairing_minutes_after_start_is_found_by_subtype_query(hubbridge, sandbox, device_dir, controller):
    """A user types the manual code long after the hub booted: the controller's `_S<n>` subtype
    query must be answered then too, not only the start-up announcements (regression: with
    mdns-sd the node was only discoverable in its first seconds)."""
    dev = hubbridge(bridge_config(sandbox, device_dir))
    codes = dev.pairing_codes()
    time.sleep(6)  # announcements are over; only query answers can find the node now
    node = controller.commission(codes.manual)
    assert sorted(controller.read_attribute(node, AGGREGATOR, Descriptor.PartsList)) == [2, 3, 4, 5]


def test_a_burst_of_changes_is_reported_as_what_changed_not_as_everything(hubbridge, sandbox, device_dir, controller):
    """rs-matter remembers at most 16 changed paths between reports; beyond that it marks everything as changed
    and every subscription re-reports all it covers (at 5,000 lights one change cost a 5,000-attribute report,
    bench/scale-5000). The bridge paces its notifications so that never happens: after a burst on 30 of 40
    lights, the subscription hears those 30 and nothing about the other 10 — both for changes made while it
    was subscribed and for the recent changes replayed to a fresh subscription."""
    lights = [dict(id=f"l{i:02d}", kind="on_off_light", name=f"Light {i}") for i in range(1, 41)]
    cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge e2e",
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=lights,
                      api_extra=dict(rate_limit_per_second=100000, rate_limit_burst=100000))
    dev = hubbridge(cfg)
    node = controller.commission(dev.pairing_codes().manual)
    api = Api(sandbox.pair.dev_addr6)
    eps = {d["id"]: endpoint_of(api, d["id"]) for d in lights}
    burst, quiet = [d["id"] for d in lights[:30]], [d["id"] for d in lights[30:]]

    # Changed just before the controller subscribes: the bridge replays recent changes to a new subscription
    # (rs-matter can lose one made while the priming report is built), 1 s and 5 s after it appears.
    for i in burst:
        api.set_state(i, {"on": True})
    sub = controller.subscribe(node, [OnOff], min_interval=0, max_interval=30)
    primed = sub.mark()
    assert {r.endpoint for r in sub.reports[:primed] if r.value is True} == {eps[i] for i in burst}
    time.sleep(6.5)  # both replays
    after_replay = sub.mark()
    replayed = {r.endpoint for r in sub.reports[primed:after_replay]}
    assert replayed <= {eps[i] for i in burst}, (
        f"lights that did not change were reported again: {sorted(replayed - {eps[i] for i in burst})}")

    # A burst while subscribed: every change arrives, nothing else is reported.
    for i in burst:
        api.set_state(i, {"on": False})
    for i in burst:
        sub.wait_for(eps[i], OnOff, False, since=after_replay, timeout=15)
    time.sleep(1.0)
    seen = {r.endpoint for r in sub.reports[after_replay:]}
    assert not seen & {eps[i] for i in quiet}, (
        f"lights that did not change were reported: {sorted(seen & {eps[i] for i in quiet})}")
    for i in burst:
        assert controller.read_attribute(node, eps[i], OnOff) is False
    # The pacer is what kept it so: it held changes back for later rounds (30 endpoints > 12 per round).
    status, _, text = api.raw("GET", api.root + "/metrics")
    assert status == 200
    series = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert int(series['hubbridge_matter_changes_deferred_total{node="main"}']) >= 30 - 12, text
    assert series['hubbridge_matter_changes_waiting{node="main"}'] == "0", text
