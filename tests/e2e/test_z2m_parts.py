"""A Zigbee2MQTT two-gang wall switch (the real Tuya TS0012 definition of zigbee-herdsman-converters, whose
exposes are `state_left` / `state_right`) through the FAKE Zigbee2MQTT, a real mosquitto, the real hubbridge and
the CHIP controller: one bridged device with a part per gang; a gang switched from Matter is `/set`
`{"state_right": ...}` on the device's topic, and only that gang; the device's report of one gang reaches only that
gang's endpoint; two gangs switched within the merge window go out in one `/set`."""

from __future__ import annotations

import os
import threading
import time

import pytest

from hbe2e.api import Api
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml
from hbe2e.z2m_fake import FakeZigbee2Mqtt, definitions
from test_zigbee2mqtt import API_PORT, device, source_toml, wait

pytestmark = pytest.mark.hubbridge

OnOff = Clusters.OnOff
Descriptor = Clusters.Descriptor.Attributes
SWITCH = "0xa4c1380000a1b2c3"
SWITCH_ID = f"z2m-home-{SWITCH}"
LEFT, RIGHT = f"{SWITCH_ID}:left", f"{SWITCH_ID}:right"


def test_two_gang_switch_is_one_device_with_a_part_per_gang(hubbridge, mosquitto, sandbox, device_dir, controller):
    broker = mosquitto()
    fake = FakeZigbee2Mqtt(broker)
    try:
        fake.add(SWITCH, "hall/wall switch", definitions("TS0012")["TS0012"],
                 state={"state_left": "OFF", "state_right": "ON"})
        fake.start()
        cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge z2m",
                          api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                          # A window long enough that the two commands below surely fall into it.
                          extra=source_toml(broker) + "merge_ms = 1000\n")
        dev = hubbridge(cfg)
        api = Api(sandbox.pair.dev_addr6, API_PORT)
        wait(lambda: device(api, LEFT) and device(api, RIGHT), what="the two gangs in the registry")
        parent = device(api, SWITCH_ID)
        assert parent["kind"] == "bridged_node" and parent["parts"] == [LEFT, RIGHT]
        assert "power_on_behavior" in parent["unmapped"]
        left, right = device(api, LEFT), device(api, RIGHT)
        assert (left["kind"], left["tag"], right["tag"]) == ("on_off_plug_in_unit", "left", "right")
        # The retained state reached each gang.
        wait(lambda: device(api, LEFT)["state"]["on"] is False and device(api, RIGHT)["state"]["on"] is True,
             what="retained state per gang")

        node = controller.commission(dev.pairing_codes().manual)
        assert controller.read_attribute(node, parent["endpoint"], Descriptor.PartsList) == \
            [left["endpoint"], right["endpoint"]]
        assert [(t.namespaceID, t.tag) for t in
                controller.read_attribute(node, right["endpoint"], Descriptor.TagList)] == [(0x08, 1)]

        # Matter → /set of the one gang, confirmed by the device's report.
        sub = controller.subscribe(node, [(left["endpoint"], OnOff.Attributes.OnOff),
                                          (right["endpoint"], OnOff.Attributes.OnOff)])
        controller.invoke(node, right["endpoint"], OnOff.Commands.Off())
        assert fake.wait_set("hall/wall switch", lambda p: "state_right" in p) == {"state_right": "OFF"}
        wait(lambda: device(api, RIGHT)["state"]["on"] is False, what="right gang confirmed off")
        assert device(api, LEFT)["state"]["on"] is False
        controller.invoke(node, left["endpoint"], OnOff.Commands.On())
        assert fake.wait_set("hall/wall switch", lambda p: "state_left" in p) == {"state_left": "ON"}
        wait(lambda: device(api, LEFT)["state"]["on"] is True, what="left gang confirmed on")
        assert device(api, RIGHT)["state"]["on"] is False

        # The device's own report of one gang (someone pressed the rocker) reaches that gang's endpoint only.
        mark = sub.mark()
        fake.report(SWITCH, state_right="ON")
        assert sub.wait_for(right["endpoint"], OnOff.Attributes.OnOff, True, since=mark, timeout=10) is True
        assert controller.read_attribute(node, left["endpoint"], OnOff.Attributes.OnOff) is True
        assert device(api, RIGHT)["state"]["on"] is True

        # Both gangs within the merge window: one /set for the device. A command for a device that had
        # no /set for a window goes out at once and opens the next window; the two that follow within
        # it go out together when it closes (each call is answered once its /set is acknowledged).
        time.sleep(1.1)  # the device is quiet again
        sets = len(fake.sets)
        t0 = time.monotonic()
        api.call("PATCH", f"/devices/{LEFT}/state", {"on": False}, expect=200)
        assert time.monotonic() - t0 < 0.9, "a quiet device's command does not wait for the window"
        assert fake.wait_set("hall/wall switch", lambda p: "state_left" in p) == {"state_left": "OFF"}
        calls = [threading.Thread(target=api.call, args=("PATCH", f"/devices/{gang}/state", {"on": on}),
                                  kwargs={"expect": 200}) for gang, on in ((LEFT, True), (RIGHT, False))]
        for t in calls:
            t.start()
        for t in calls:
            t.join(15)
        deadline = time.monotonic() + 10
        while not any("state_left" in p and "state_right" in p for _, p in fake.sets[sets:]) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        merged = [p for _, p in fake.sets[sets:]]
        assert merged[0] == {"state_left": "OFF"} and \
            {"state_left": "ON", "state_right": "OFF"} in merged, merged

        # Availability of the device applies to both gangs.
        fake.availability(SWITCH, False)
        wait(lambda: not device(api, LEFT)["reachable"] and not device(api, RIGHT)["reachable"],
             what="gangs unreachable with their device")
    finally:
        fake.close()
