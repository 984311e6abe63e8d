"""A Zigbee2MQTT four-button remote (the real Tuya TS0044 definition of zigbee-herdsman-converters, whose `action`
values are `1_single` … `4_hold`) through the FAKE Zigbee2MQTT, a real mosquitto, the real hubbridge with an MQTT
connector and the CHIP controller: one bridged device (battery on the container) with a Generic Switch part per
button, tagged Common Number 1..4; a double press of button 2 is the Switch event sequence on button 2's endpoint
and nothing on button 1's, and the connector's event log names the part."""

from __future__ import annotations

import os

import pytest

from hbe2e.api import Api
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml
from hbe2e.mosquitto import Watcher, connector_toml
from hbe2e.z2m_fake import FakeZigbee2Mqtt, definitions
from test_zigbee2mqtt import API_PORT, device, source_toml, wait

pytestmark = pytest.mark.hubbridge

Descriptor = Clusters.Descriptor.Attributes
REMOTE = "0xa4c138000044b2c3"
REMOTE_ID = f"z2m-home-{REMOTE}"
BUTTONS = [f"{REMOTE_ID}:{n}" for n in range(1, 5)]
NUMBER = 0x07  # semantic tag namespace Common Number
GENERIC_SWITCH = 0x000F
SWITCH = 0x003B


def test_four_button_remote_has_a_switch_part_per_button_and_presses_reach_only_theirs(
        hubbridge, mosquitto, sandbox, device_dir, controller):
    broker = mosquitto()
    fake = FakeZigbee2Mqtt(broker)
    watcher = Watcher(broker, topics=("hb/bridge/event",))
    try:
        fake.add(REMOTE, "hall/four buttons", definitions("TS0044")["TS0044"], power="Battery",
                 state={"battery": 80})
        fake.start()
        cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge z2m",
                          api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                          extra=source_toml(broker) + "\n" + connector_toml(broker, tls=False, base="hb"))
        dev = hubbridge(cfg)
        api = Api(sandbox.pair.dev_addr6, API_PORT)
        wait(lambda: all(device(api, b) for b in BUTTONS), what="the four buttons in the registry")
        parent = device(api, REMOTE_ID)
        assert parent["kind"] == "bridged_node" and parent["with"] == ["battery"], parent
        assert parent["parts"] == BUTTONS
        wait(lambda: device(api, REMOTE_ID)["state"].get("battery") == 80, what="battery on the container")
        buttons = [device(api, b) for b in BUTTONS]
        assert [(b["kind"], b["tag"]) for b in buttons] == [("generic_switch", n) for n in range(1, 5)]

        node = controller.commission(dev.pairing_codes().manual)
        eps = [b["endpoint"] for b in buttons]
        assert controller.read_attribute(node, parent["endpoint"], Descriptor.PartsList) == eps
        for n, ep in enumerate(eps, start=1):
            assert [(t.namespaceID, t.tag) for t in controller.read_attribute(node, ep, Descriptor.TagList)] == \
                [(NUMBER, n)]
            assert [d.deviceType for d in controller.read_attribute(node, ep, Descriptor.DeviceTypeList)] == \
                [GENERIC_SWITCH]

        sub = controller.subscribe_events(node, [(eps[0], Clusters.Switch, 1), (eps[1], Clusters.Switch, 1)])
        mark, wmark = sub.mark(), watcher.mark()
        fake.action(REMOTE, "2_double")
        got = sub.wait_for_count(6, since=mark, predicate=lambda e: e.cluster_id == SWITCH and e.endpoint == eps[1])
        # InitialPress, ShortRelease, InitialPress, MultiPressOngoing(2), ShortRelease, MultiPressComplete(2).
        assert [e.event_id for e in got] == [1, 3, 1, 5, 3, 6]
        assert got[-1].data.totalNumberOfPressesCounted == 2
        msg = watcher.wait_for("hb/bridge/event", lambda m: m.json().get("type") == "press", since=wmark)
        body = msg.json()
        assert body["device"] == BUTTONS[1] and body["press"] == "double" and "button" not in body, body
        sub.settle(1.5)
        assert [e for e in sub.events[mark:] if e.endpoint == eps[0]] == [], "button 1 saw button 2's press"

        # Button 1's hold reaches button 1's endpoint: InitialPress, LongPress.
        mark = sub.mark()
        fake.action(REMOTE, "1_hold")
        got = sub.wait_for_count(2, since=mark, predicate=lambda e: e.cluster_id == SWITCH)
        assert [(e.endpoint, e.event_id) for e in got] == [(eps[0], 1), (eps[0], 2)]
    finally:
        watcher.close()
        fake.close()
