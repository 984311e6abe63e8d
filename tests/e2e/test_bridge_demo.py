"""The built-in demo (`hubbridge run` with no config): one device of every kind, read and driven by the
connectedhomeip controller. This is what a user gets from the README's one command, and it exercises every
kind's cluster set against a real controller's decoder."""

from __future__ import annotations

import os
import time

import pytest

from conftest import hubbridge_binary
from hbe2e.controller import Clusters
from hbe2e.api import Api
from test_bridge_matter import API_PORT

pytestmark = pytest.mark.hubbridge

C = Clusters
KIND_DEVICE_TYPE = {
    "on_off_light": 0x0100, "dimmable_light": 0x0101, "color_temperature_light": 0x010C,
    "extended_color_light": 0x010D, "on_off_plug_in_unit": 0x010A, "contact_sensor": 0x0015,
    "occupancy_sensor": 0x0107, "temperature_sensor": 0x0302, "humidity_sensor": 0x0307,
    "thermostat": 0x0301, "door_lock": 0x000A, "window_covering": 0x0202, "generic_switch": 0x000F,
    "dimmable_plug_in_unit": 0x010B, "light_sensor": 0x0106, "pressure_sensor": 0x0305, "flow_sensor": 0x0306,
    "water_leak_detector": 0x0043, "water_freeze_detector": 0x0041, "rain_sensor": 0x0044,
    "smoke_alarm": 0x0076, "co_alarm": 0x0076, "smoke_co_alarm": 0x0076, "air_quality_sensor": 0x002C,
    "fan": 0x002B, "bridged_node": 0x0013,
}
# Device types the `with` capabilities add (Power Source, Electrical Sensor); concentrations add none.
CAPABILITY_DEVICE_TYPE = {"battery": 0x0011, "mains": 0x0011, "electrical": 0x0510}
# Demo devices whose kind also appears on a plain demo device: the composed ones (`with`), the parts of the
# two-gang switch and of the remote, and the second bridged_node container.
PART_IDS = {"hall-switch:left", "hall-switch:right"} | {f"living-remote:b{n}" for n in range(1, 5)}
COMPOSED_IDS = {"office-multisensor", "washer-plug", "living-remote"} | PART_IDS


def expected_device_types(device: dict) -> set[int]:
    """The Descriptor DeviceTypeList a demo device must serve on its own endpoint: its kind's, each `with`
    capability's, Bridged Node (not on a part: a child endpoint is a function of its bridged device, not a bridged
    device). A `with` kind is not there: it has a child endpoint of its own (see `facet_device_types`)."""
    types = {KIND_DEVICE_TYPE[device["kind"]]}
    if not device.get("parent"):
        types.add(0x0013)
    for entry in device.get("with", []):
        if entry in CAPABILITY_DEVICE_TYPE:
            types.add(CAPABILITY_DEVICE_TYPE[entry])
    return types


def facet_endpoints(device: dict) -> dict[str, int]:
    """`with` kind -> the child endpoint it is served on (one application device type per endpoint)."""
    return {f["kind"]: f["endpoint"] for f in device.get("facets", [])}


@pytest.fixture
def demo(devices, sandbox, device_dir, controller, timings):
    binary = hubbridge_binary()
    if binary is None:
        pytest.skip("hubbridge binary not built")
    dev = devices.start("hubbridge-demo", [
        binary, "run", "--storage", os.path.join(device_dir, "state"), "--interface", sandbox.pair.dev_if,
        "--api-listen", f"[{sandbox.pair.dev_addr6}]:{API_PORT}"], ready=r"hubbridge ready: API on", cwd=device_dir,
        env={"RUST_LOG": "info"})
    # The demo uses a random passcode: this is the code it printed, as a user would type it.
    codes = dev.pairing_codes()
    assert codes.manual.replace("-", "") != "34970112332", "the demo must not use the well-known test passcode"
    t0 = time.monotonic()
    node = controller.commission(codes.manual)
    timings.add("demo: commission by manual code", time.monotonic() - t0)
    return dev, node, Api(sandbox.pair.dev_addr6)


def test_every_kind_reads_cleanly_and_obeys(demo, controller, timings, sandbox):
    dev, node, api = demo
    _, listing = api.call("GET", "/devices", expect=200)
    assert len(listing) == len(KIND_DEVICE_TYPE) + len(COMPOSED_IDS)
    by_kind = {d["kind"]: d for d in listing if d["id"] not in COMPOSED_IDS}
    assert set(by_kind) == set(KIND_DEVICE_TYPE)

    t0 = time.monotonic()
    tree = controller.read_all(node)
    timings.add(f"demo: wildcard read of {len(listing)} devices", time.monotonic() - t0)
    facets = {e: (d, k) for d in listing for k, e in facet_endpoints(d).items()}
    assert sorted(tree) == [0, 1] + sorted([d["endpoint"] for d in listing] + list(facets))
    served = [(d["id"] if d["id"] in COMPOSED_IDS else d["kind"], d["endpoint"], expected_device_types(d))
              for d in listing]
    served += [(f"{d['id']}#{k}", e, {KIND_DEVICE_TYPE[k]}) for e, (d, k) in facets.items()]
    for kind, endpoint, expected in served:
        ep = tree[endpoint]
        types = {t.deviceType for t in ep[C.Descriptor][C.Descriptor.Attributes.DeviceTypeList]}
        assert types == expected, kind
        for cluster, attrs in ep.items():
            for attr, value in attrs.items():
                # The controller puts decode failures and error statuses in place of values.
                assert "ValueDecodeFailure" not in type(value).__name__, (kind, cluster, attr, value)
                assert type(value).__name__ != "Status", (kind, cluster, attr, value)
            listed = set(attrs[cluster.Attributes.AttributeList])
            served = {a.attribute_id for a in attrs if hasattr(a, "attribute_id")}
            assert served <= listed | {0xFFF8, 0xFFF9, 0xFFFB, 0xFFFC, 0xFFFD, 0xFFFA}, (kind, cluster)

    with open(os.path.join(sandbox.log_dir, "demo-tree.txt"), "w") as f:
        for d in sorted(listing, key=lambda d: d["endpoint"]):
            f.write(f"endpoint {d['endpoint']} {d['kind']} {d.get('with', [])} {d['name']!r}\n")
            for cluster, attrs in tree[d["endpoint"]].items():
                f.write(f"  {cluster.__name__}\n")
                for attr, value in attrs.items():
                    f.write(f"    {attr.__name__} = {value!r}\n")

    ep = lambda kind: by_kind[kind]["endpoint"]  # noqa: E731
    state = lambda kind: api.device(by_kind[kind]["id"])["state"]  # noqa: E731

    controller.invoke(node, ep("color_temperature_light"), C.ColorControl.Commands.MoveToColorTemperature(
        colorTemperatureMireds=300, transitionTime=0, optionsMask=1, optionsOverride=1))
    assert controller.read_attribute(node, ep("color_temperature_light"),
                                     C.ColorControl.Attributes.ColorTemperatureMireds) == 300
    assert state("color_temperature_light")["color_temp_mireds"] == 300

    controller.invoke(node, ep("extended_color_light"), C.OnOff.Commands.On())
    controller.invoke(node, ep("extended_color_light"), C.ColorControl.Commands.MoveToHueAndSaturation(
        hue=127, saturation=254, transitionTime=0, optionsMask=0, optionsOverride=0))
    s = state("extended_color_light")
    assert s["color_mode"] == "hs" and s["saturation"] == 100 and 178 <= s["hue"] <= 182

    controller.write_attribute(node, ep("thermostat"), C.Thermostat.Attributes.OccupiedHeatingSetpoint(2150))
    assert state("thermostat")["heating_setpoint"] == 21.5
    controller.write_attribute(node, ep("thermostat"), C.Thermostat.Attributes.SystemMode(4))  # heat
    assert state("thermostat")["system_mode"] == "heat"

    controller.invoke(node, ep("door_lock"), C.DoorLock.Commands.LockDoor(), timed_ms=1000)
    assert controller.read_attribute(node, ep("door_lock"), C.DoorLock.Attributes.LockState) == 1
    controller.invoke(node, ep("door_lock"), C.DoorLock.Commands.UnlockDoor(), timed_ms=1000)
    assert state("door_lock")["lock_state"] == "unlocked"

    # A simulated covering travels (virtual.cover_travel_secs, 10 s for the whole way): from fully
    # open to 25 % closed takes 2.5 s, during which Matter shows the target and "closing"; then it
    # stops on the target. A second move, stopped after about a second, stays where it got to.
    wc, blind = C.WindowCovering.Attributes, ep("window_covering")
    controller.invoke(node, blind, C.WindowCovering.Commands.GoToLiftPercentage(2500))
    assert controller.read_attribute(node, blind, wc.TargetPositionLiftPercent100ths) == 2500
    assert controller.read_attribute(node, blind, wc.OperationalStatus) == 0b1010  # closing
    assert state("window_covering")["position"] > 75, "a covering does not jump"
    deadline = time.monotonic() + 15
    while state("window_covering")["position"] != 75 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state("window_covering")["position"] == 75
    assert controller.read_attribute(node, blind, wc.CurrentPositionLiftPercent100ths) == 2500
    assert controller.read_attribute(node, blind, wc.OperationalStatus) == 0
    controller.invoke(node, blind, C.WindowCovering.Commands.UpOrOpen())
    assert controller.read_attribute(node, blind, wc.OperationalStatus) == 0b0101  # opening
    time.sleep(1.0)
    controller.invoke(node, blind, C.WindowCovering.Commands.StopMotion())
    stopped = state("window_covering")["position"]
    assert 75 < stopped < 100, stopped
    time.sleep(1.0)
    assert state("window_covering")["position"] == stopped, "it stays where it was stopped"
    assert controller.read_attribute(node, blind, wc.OperationalStatus) == 0
    assert controller.read_attribute(node, blind, wc.TargetPositionLiftPercent100ths) == \
        controller.read_attribute(node, blind, wc.CurrentPositionLiftPercent100ths)

    api.set_state(by_kind["humidity_sensor"]["id"], {"humidity": 55.5})
    assert controller.read_attribute(node, ep("humidity_sensor"),
                                     C.RelativeHumidityMeasurement.Attributes.MeasuredValue) == 5550
    api.set_state(by_kind["occupancy_sensor"]["id"], {"occupied": True})
    assert controller.read_attribute(node, ep("occupancy_sensor"), C.OccupancySensing.Attributes.Occupancy) == 1

    controller.invoke(node, ep("on_off_plug_in_unit"), C.Identify.Commands.Identify(identifyTime=5))
    assert 1 <= controller.read_attribute(node, ep("on_off_plug_in_unit"),
                                          C.Identify.Attributes.IdentifyTime) <= 5
