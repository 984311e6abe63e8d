"""The Zigbee2MQTT source, end to end: a real mosquitto, the real hubbridge process, the real CHIP controller, and
a FAKE Zigbee2MQTT (hbe2e/z2m_fake.py) whose bridge/devices entries are real zigbee-herdsman-converters
definitions. Scenarios of issue 10: a colour bulb appears; Matter commands arrive at /set with the right payload
and are answered once the broker acknowledged them; the device's state report reaches the controller's
subscription; availability offline -> Reachable false and a command fails cleanly; rename keeps endpoint and
UniqueID; leave removes, re-join restores the endpoint; broker down -> every device unreachable, Matter keeps
answering, recovery on reconnect; hostile broker input changes nothing."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from hbe2e.api import Api
from hbe2e.controller import Clusters, ControllerError
from hbe2e.hubbridge import config_toml
from hbe2e.mosquitto import BRIDGE_PASSWORD, BRIDGE_USER
from hbe2e.z2m_fake import FakeZigbee2Mqtt, definitions

pytestmark = pytest.mark.hubbridge

OnOff = Clusters.OnOff
Level = Clusters.LevelControl
Color = Clusters.ColorControl
BDBI = Clusters.BridgedDeviceBasicInformation.Attributes
API_PORT = 8080
BULB, SENSOR = "0x0017880108a1b2c3", "0x00158d0001a2b3c4"
BULB_ID, SENSOR_ID = f"z2m-home-{BULB}", f"z2m-home-{SENSOR}"


def source_toml(broker, tls: bool = False) -> str:
    lines = ["[[sources]]", 'type = "zigbee2mqtt"', 'name = "home"', f'host = "{broker.host}"',
             f"port = {broker.tls_port if tls else broker.tcp_port}", f'username = "{BRIDGE_USER}"',
             f'password = "{BRIDGE_PASSWORD}"', "keep_alive_secs = 5"]
    if tls:
        lines += ["[sources.tls]", f'ca_file = "{broker.ca}"', f'client_cert_file = "{broker.file("client.pem")}"',
                  f'client_key_file = "{broker.file("client.key")}"']
    else:
        lines += ["allow_insecure = true"]  # a password over plain TCP must be allowed explicitly
    return "\n".join(lines) + "\n"


def wait(check, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout}s"
        time.sleep(0.1)


def device(api: Api, dev_id: str):
    status, body = api.call("GET", f"/devices/{dev_id}")
    return body if status == 200 else None


@pytest.fixture
def setup(hubbridge, mosquitto, sandbox, device_dir):
    defs = definitions("9290022166", "WSDCGQ11LM")
    broker = mosquitto()
    fake = FakeZigbee2Mqtt(broker)
    fake.add(BULB, "living/bulb", defs["9290022166"], state={"state": "OFF", "brightness": 100})
    fake.add(SENSOR, "bedroom_sensor", defs["WSDCGQ11LM"], power="Battery", state={"temperature": 21.5})
    fake.start()
    cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge z2m",
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", extra=source_toml(broker))
    dev = hubbridge(cfg)
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    wait(lambda: device(api, BULB_ID) and device(api, SENSOR_ID), what="Zigbee2MQTT devices in the registry")
    yield broker, fake, dev, api
    fake.close()


def test_colour_bulb_commands_reports_and_availability(setup, controller):
    broker, fake, dev, api = setup
    bulb = device(api, BULB_ID)
    assert bulb["kind"] == "extended_color_light" and bulb["source"] == "zigbee2mqtt:home"
    assert bulb["name"] == "living/bulb"
    assert "power_on_behavior" in bulb["unmapped"]
    sensor = device(api, SENSOR_ID)
    assert sensor["kind"] == "temperature_sensor" and sensor["state"]["temperature"] == 21.5

    node = controller.commission(dev.pairing_codes().manual)
    ep = bulb["endpoint"]
    sub = controller.subscribe(node, [(ep, OnOff.Attributes.OnOff), (ep, Level.Attributes.CurrentLevel),
                                      (ep, BDBI.Reachable)], min_interval=0, max_interval=10)
    mark = sub.mark()
    controller.invoke(node, ep, OnOff.Commands.On())
    assert fake.wait_set("living/bulb", lambda p: "state" in p) == {"state": "ON"}
    assert sub.wait_for(ep, OnOff.Attributes.OnOff, True, since=mark, timeout=10) is True
    wait(lambda: device(api, BULB_ID)["state"]["on"] is True, what="confirmed on")

    controller.invoke(node, ep, Level.Commands.MoveToLevel(level=200, transitionTime=20, optionsMask=0,
                                                          optionsOverride=0))
    assert fake.wait_set("living/bulb", lambda p: "brightness" in p) == {"brightness": 200, "transition": 2.0}
    controller.invoke(node, ep, Color.Commands.MoveToHueAndSaturation(hue=127, saturation=254, transitionTime=0,
                                                                     optionsMask=0, optionsOverride=0))
    p = fake.wait_set("living/bulb", lambda p: "color" in p)
    assert set(p["color"]) == {"hue", "saturation"} and p["color"]["saturation"] == 100

    # The device's own report (someone used the wall switch) reaches the subscription.
    mark = sub.mark()
    fake.report(BULB, state="OFF", brightness=50)
    assert sub.wait_for(ep, OnOff.Attributes.OnOff, False, since=mark, timeout=10) is False
    assert sub.wait_for(ep, Level.Attributes.CurrentLevel, 50, since=mark, timeout=10) == 50

    # Availability offline: Reachable false, and a command fails cleanly (no hang, nothing published).
    mark = sub.mark()
    fake.availability(BULB, False)
    assert sub.wait_for(ep, BDBI.Reachable, False, since=mark, timeout=10) is False
    sets = len(fake.sets)
    started = time.monotonic()
    with pytest.raises(ControllerError):
        controller.invoke(node, ep, OnOff.Commands.On())
    assert time.monotonic() - started < 8
    assert len(fake.sets) == sets
    fake.availability(BULB, True)
    wait(lambda: device(api, BULB_ID)["reachable"], what="reachable again")

    # Hostile input: not JSON, wrong types, unknown devices, oversized payloads change nothing.
    before = device(api, BULB_ID)["state"]
    fake.raw("living/bulb", b"\xff not json")
    fake.raw("living/bulb", b'{"state": 42, "brightness": "bright"}')
    fake.raw("ghost", b'{"state": "ON"}')
    fake.raw("living/bulb", b'{"state": "ON", "pad": "' + b"x" * 200_000 + b'"}')
    fake.raw("bridge/devices", b"[{\"ieee_address\": 5}]")
    fake.report(SENSOR, temperature=22.25)
    wait(lambda: device(api, SENSOR_ID)["state"]["temperature"] == 22.25, what="source still running")
    assert device(api, BULB_ID)["state"] == before
    assert device(api, BULB_ID) is not None, "a bad bridge/devices does not drop the devices"


def test_rename_leave_rejoin_and_broker_outage(setup, controller):
    broker, fake, dev, api = setup
    node = controller.commission(dev.pairing_codes().manual)
    bulb = device(api, BULB_ID)
    ep, uid = bulb["endpoint"], controller.read_attribute(node, bulb["endpoint"], BDBI.UniqueID)

    fake.rename(BULB, "kitchen/bulb")
    wait(lambda: device(api, BULB_ID)["name"] == "kitchen/bulb", what="renamed")
    assert device(api, BULB_ID)["endpoint"] == ep
    assert controller.read_attribute(node, ep, BDBI.UniqueID) == uid
    controller.invoke(node, ep, OnOff.Commands.On())
    assert fake.wait_set("kitchen/bulb") == {"state": "ON"}

    definition = fake.devices[BULB]["definition"]
    fake.leave(BULB)
    wait(lambda: device(api, BULB_ID) is None, what="removed after leave")
    wait(lambda: ep not in controller.endpoints(node), what="endpoint gone from the controller")
    fake.add(BULB, "kitchen/bulb", definition, state={"state": "OFF"})
    fake.publish_devices()
    wait(lambda: device(api, BULB_ID), what="back after re-join")
    assert device(api, BULB_ID)["endpoint"] == ep
    assert controller.read_attribute(node, ep, BDBI.UniqueID) == uid

    fake.close()
    broker.stop()
    wait(lambda: not device(api, BULB_ID)["reachable"] and not device(api, SENSOR_ID)["reachable"],
         what="every device unreachable with the broker down")
    assert controller.read_attribute(node, ep, BDBI.Reachable) is False, "Matter keeps answering"
    with pytest.raises(ControllerError):
        controller.invoke(node, ep, OnOff.Commands.Off())
    broker.start()
    fake2 = FakeZigbee2Mqtt(broker, client_id="fake-z2m-after-outage")
    try:
        wait(lambda: device(api, BULB_ID)["reachable"], timeout=60, what="recovered after reconnect")
        controller.invoke(node, ep, OnOff.Commands.Off())
        fake2.wait_set("kitchen/bulb")
    finally:
        fake2.close()


def test_a_command_the_device_never_confirms_is_rolled_back_in_the_controller(setup, controller):
    broker, fake, dev, api = setup
    node = controller.commission(dev.pairing_codes().manual)
    ep = device(api, BULB_ID)["endpoint"]
    sub = controller.subscribe(node, [(ep, OnOff.Attributes.OnOff)], min_interval=0, max_interval=10)
    fake.deaf.add(BULB)
    mark = sub.mark()
    controller.invoke(node, ep, OnOff.Commands.On())  # accepted: the broker acknowledged the /set
    assert fake.wait_set("living/bulb") == {"state": "ON"}
    assert sub.wait_for(ep, OnOff.Attributes.OnOff, True, since=mark, timeout=5) is True
    assert device(api, BULB_ID)["state"]["on"] is False, "the registry holds confirmed state only"
    # No confirmation within 10 s: the controller is told the lamp is still off.
    mark = sub.mark()
    assert sub.wait_for(ep, OnOff.Attributes.OnOff, False, since=mark, timeout=20) is False
    assert controller.read_attribute(node, ep, OnOff.Attributes.OnOff) is False


REMOTE, IKEA = "0x00158d0002c3d4e5", "0x000d6ffffe1a2b3c"
REMOTE_ID, IKEA_ID = f"z2m-home-{REMOTE}", f"z2m-home-{IKEA}"


def test_remote_actions_become_switch_events_and_connector_events(hubbridge, mosquitto, sandbox, device_dir,
                                                                  controller):
    """A remote's `action` (published once, not retained) reaches the controller's event subscription as the
    Switch event sequence and the MQTT connector's ordered event log as a `press` record."""
    from hbe2e.mosquitto import Watcher, connector_toml

    defs = definitions("WXKG11LM", "E1743")
    broker = mosquitto()
    fake = FakeZigbee2Mqtt(broker)
    fake.add(REMOTE, "hall/remote", defs["WXKG11LM"], power="Battery", state={"battery": 90})
    fake.add(IKEA, "living/remote", defs["E1743"], power="Battery", state={"battery": 70})
    fake.start()
    cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge z2m",
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                      extra=source_toml(broker) + "\n" + connector_toml(broker, tls=False, base="hb"))
    watcher = Watcher(broker, topics=("hb/bridge/event",))
    try:
        dev = hubbridge(cfg)
        api = Api(sandbox.pair.dev_addr6, API_PORT)
        wait(lambda: device(api, REMOTE_ID) and device(api, IKEA_ID), what="remotes in the registry")
        remote = device(api, REMOTE_ID)
        # A button's presses are events, not state; its battery joins the same endpoint (`with`).
        assert remote["kind"] == "generic_switch" and remote["with"] == ["battery"], remote
        assert set(remote["state"]) <= {"battery", "battery_low"}, remote["state"]
        assert device(api, IKEA_ID)["kind"] == "generic_switch"
        node = controller.commission(dev.pairing_codes().manual)
        ep = remote["endpoint"]
        sub = controller.subscribe_events(node, [(ep, Clusters.Switch, 1)])
        mark, wmark = sub.mark(), watcher.mark()
        fake.action(REMOTE, "double")
        got = sub.wait_for_count(6, since=mark, predicate=lambda e: e.cluster_id == 0x003B)
        assert [e.event_id for e in got] == [1, 3, 1, 5, 3, 6]
        assert got[-1].data.totalNumberOfPressesCounted == 2
        msg = watcher.wait_for("hb/bridge/event", lambda m: m.json().get("type") == "press"
                               and m.json()["device"] == REMOTE_ID, since=wmark)
        body = msg.json()
        assert body["press"] == "double" and body["id"] and body["at_ms"] > 0 and "button" not in body
        assert not msg.retain

        # hold → InitialPress, LongPress; release → LongRelease.
        mark = sub.mark()
        fake.action(REMOTE, "hold")
        fake.action(REMOTE, "release")
        got = sub.wait_for_count(3, since=mark, predicate=lambda e: e.cluster_id == 0x003B)
        assert [e.event_id for e in got] == [1, 2, 4]

        # IKEA E1743 (`on`, `off`, `brightness_move_up`: not every value names a button and a gesture) stays one
        # switch with the button named in the record; remotes that split by button: test_z2m_buttons.py.
        ikea_ep = device(api, IKEA_ID)["endpoint"]
        isub = controller.subscribe_events(node, [(ikea_ep, Clusters.Switch, 1)])
        mark, wmark = isub.mark(), watcher.mark()
        fake.action(IKEA, "on")
        got = isub.wait_for_count(3, since=mark, predicate=lambda e: e.cluster_id == 0x003B)
        assert [e.event_id for e in got] == [1, 3, 6]
        msg = watcher.wait_for("hb/bridge/event", lambda m: m.json().get("type") == "press"
                               and m.json()["device"] == IKEA_ID, since=wmark)
        assert msg.json()["press"] == "single" and msg.json()["button"] == "on"

        # A bad action value (not a string) changes nothing and stops nothing.
        fake.raw("hall/remote", b'{"action": 5}')
        fake.action(REMOTE, "single")
        watcher.wait_for("hb/bridge/event", lambda m: m.json().get("press") == "single"
                         and m.json()["device"] == REMOTE_ID, since=wmark)
    finally:
        watcher.close()
        fake.close()


def test_over_tls_with_a_client_certificate_and_hold_to_dim(hubbridge, mosquitto, sandbox, device_dir, controller):
    """The source on the broker's TLS listener (CA-checked, client certificate, password); a Matter
    Move … Stop on the bulb reaches Zigbee2MQTT as a transition and a `brightness_move` stop."""
    defs = definitions("9290022166")
    broker = mosquitto()
    fake = FakeZigbee2Mqtt(broker)
    fake.add(BULB, "living/bulb", defs["9290022166"], state={"state": "ON", "brightness": 54})
    fake.start()
    try:
        cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge z2m",
                          api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", extra=source_toml(broker, tls=True))
        dev = hubbridge(cfg)
        api = Api(sandbox.pair.dev_addr6, API_PORT)
        bulb = wait(lambda: device(api, BULB_ID), what="the bulb over TLS")
        node = controller.commission(dev.pairing_codes().manual)
        ep = bulb["endpoint"]
        # Move up at 50/s from 54: 200 units → 4 s; stopped a second later.
        controller.invoke(node, ep, Level.Commands.Move(moveMode=0, rate=50, optionsMask=0, optionsOverride=0))
        assert fake.wait_set("living/bulb", lambda p: "brightness" in p) == {"brightness": 254, "transition": 4.0}
        time.sleep(1)
        controller.invoke(node, ep, Level.Commands.Stop(optionsMask=0, optionsOverride=0))
        assert fake.wait_set("living/bulb", lambda p: "brightness_move" in p) == {"brightness_move": "stop"}
    finally:
        fake.close()


def test_a_password_over_plain_tcp_is_refused_unless_allowed(sandbox, device_dir, mosquitto):
    broker = mosquitto()
    text = source_toml(broker).replace("allow_insecure = true\n", "")
    cfg_path = os.path.join(device_dir, "insecure.toml")
    with open(cfg_path, "w") as f:
        f.write(config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="x",
                            api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", extra=text))
    from conftest import hubbridge_binary
    r = subprocess.run(["ip", "netns", "exec", sandbox.pair.dev, hubbridge_binary(), "run", "--config", cfg_path],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "tls" in r.stderr and "allow_insecure" in r.stderr and "home" in r.stderr, r.stderr


FAN, PURIFIER = "0x5c0272fffe0a1b2c", "0x842e14fffe3d4e5f"
FAN_ID, PURIFIER_ID = f"z2m-home-{FAN}", f"z2m-home-{PURIFIER}"


def test_fans_take_matter_mode_and_percent_writes_and_report_back(hubbridge, mosquitto, sandbox, device_dir,
                                                                  controller):
    """A ceiling fan with named modes (Schneider 41ECSFWMZ-VW: off/low/medium/high/on) and an air purifier with
    numbered levels (IKEA E2007 STARKVIND: off/auto/1..9, with PM2.5 and air quality): Fan Control writes from the
    controller arrive at /set as the device's own `fan_mode` values, the device's reports reach the subscription,
    and a mode the fan does not have (Auto on the ceiling fan) fails in the controller with nothing published."""
    Fan = Clusters.FanControl.Attributes
    defs = definitions("41ECSFWMZ-VW", "E2007")
    broker = mosquitto()
    fake = FakeZigbee2Mqtt(broker)
    fake.add(FAN, "bedroom/fan", defs["41ECSFWMZ-VW"], state={"fan_state": "OFF", "fan_mode": "off"})
    fake.add(PURIFIER, "living/purifier", defs["E2007"],
             state={"fan_state": "ON", "fan_mode": "auto", "pm25": 12, "air_quality": "excellent"})
    fake.start()
    try:
        cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge z2m",
                          api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", extra=source_toml(broker))
        dev = hubbridge(cfg)
        api = Api(sandbox.pair.dev_addr6, API_PORT)
        wait(lambda: device(api, FAN_ID) and device(api, PURIFIER_ID), what="the fans in the registry")
        fan = device(api, FAN_ID)
        assert fan["kind"] == "fan" and fan["state"]["fan_mode"] == "off", fan
        purifier = device(api, PURIFIER_ID)
        assert purifier["kind"] == "fan" and {"air_quality_sensor", "pm25"} <= set(purifier["with"]), purifier
        assert purifier["state"]["fan_mode"] == "auto" and purifier["state"]["pm25"] == 12

        node = controller.commission(dev.pairing_codes().manual)
        ep = fan["endpoint"]
        sub = controller.subscribe(node, [(ep, Fan.FanMode), (ep, Fan.PercentCurrent)], min_interval=0,
                                   max_interval=10)
        controller.write_attribute(node, ep, Fan.FanMode(1))  # Low
        assert fake.wait_set("bedroom/fan", lambda p: "fan_mode" in p) == {"fan_mode": "low"}
        wait(lambda: device(api, FAN_ID)["state"] == {"fan_mode": "low", "fan_percent": 33}, what="confirmed low")
        controller.write_attribute(node, ep, Fan.PercentSetting(80))
        assert fake.wait_set("bedroom/fan", lambda p: p.get("fan_mode") == "high") == {"fan_mode": "high"}
        controller.write_attribute(node, ep, Fan.FanMode(0))  # Off
        assert fake.wait_set("bedroom/fan", lambda p: p.get("fan_mode") == "off") == {"fan_mode": "off"}
        wait(lambda: device(api, FAN_ID)["state"]["fan_mode"] == "off", what="confirmed off")

        sets = len(fake.sets)
        with pytest.raises(ControllerError):
            controller.write_attribute(node, ep, Fan.FanMode(5))  # Auto: this fan has none
        assert len(fake.sets) == sets, "nothing published for a mode the fan lacks"

        # Someone pulls the chain: the fan's own report reaches the subscription.
        mark = sub.mark()
        fake.report(FAN, fan_state="ON", fan_mode="medium")
        assert sub.wait_for(ep, Fan.FanMode, 2, since=mark, timeout=10) == 2
        assert sub.wait_for(ep, Fan.PercentCurrent, 66, since=mark, timeout=10) == 66

        # Numbered levels: 50 % is level 5 of 9; Auto is the purifier's own.
        pep = purifier["endpoint"]
        controller.write_attribute(node, pep, Fan.PercentSetting(50))
        assert fake.wait_set("living/purifier", lambda p: "fan_mode" in p) == {"fan_mode": "5"}
        wait(lambda: device(api, PURIFIER_ID)["state"]["fan_percent"] == 56, what="level 5 of 9 confirmed")
        assert controller.read_attribute(node, pep, Fan.FanMode) == 2  # Medium
        controller.write_attribute(node, pep, Fan.FanMode(5))
        assert fake.wait_set("living/purifier", lambda p: p.get("fan_mode") == "auto") == {"fan_mode": "auto"}
    finally:
        fake.close()


TRV = "0x0015bc001a02c3d4"
TRV_ID = f"z2m-home-{TRV}"


def test_a_trv_takes_setpoint_and_mode_writes_and_refuses_a_mode_it_lacks(hubbridge, mosquitto, sandbox,
                                                                           device_dir, controller):
    """A radiator valve (Eurotronic SPZB0001: system_mode off/auto/heat): Thermostat writes arrive at /set as the
    device's properties; Cool, which it does not have, fails in the controller with nothing published."""
    T = Clusters.Thermostat.Attributes
    defs = definitions("SPZB0001")
    broker = mosquitto()
    fake = FakeZigbee2Mqtt(broker)
    fake.add(TRV, "bathroom/trv", defs["SPZB0001"], power="Battery",
             state={"local_temperature": 19.5, "occupied_heating_setpoint": 20, "system_mode": "heat", "battery": 80})
    fake.start()
    try:
        cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge z2m",
                          api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", extra=source_toml(broker))
        dev = hubbridge(cfg)
        api = Api(sandbox.pair.dev_addr6, API_PORT)
        trv = wait(lambda: device(api, TRV_ID), what="the TRV in the registry")
        assert trv["kind"] == "thermostat" and trv["state"]["temperature"] == 19.5, trv
        node = controller.commission(dev.pairing_codes().manual)
        ep = trv["endpoint"]
        controller.write_attribute(node, ep, T.OccupiedHeatingSetpoint(2150))
        assert fake.wait_set("bathroom/trv", lambda p: "occupied_heating_setpoint" in p) == {
            "occupied_heating_setpoint": 21.5}
        wait(lambda: device(api, TRV_ID)["state"]["heating_setpoint"] == 21.5, what="confirmed setpoint")
        controller.write_attribute(node, ep, T.SystemMode(0))  # Off
        assert fake.wait_set("bathroom/trv", lambda p: "system_mode" in p) == {"system_mode": "off"}
        sets = len(fake.sets)
        with pytest.raises(ControllerError):
            controller.write_attribute(node, ep, T.SystemMode(3))  # Cool: a radiator valve cannot
        assert len(fake.sets) == sets
        assert controller.read_attribute(node, ep, T.SystemMode) == 0
    finally:
        fake.close()
