"""A FAKE Zigbee2MQTT (no Zigbee adapter exists here): publishes on a real broker what Zigbee2MQTT 2.x
publishes — retained `bridge/state`, `bridge/info`, `bridge/devices` (entries built from real
zigbee-herdsman-converters definitions by tests/e2e/z2m/dump.js, serialised as Zigbee2MQTT does), device state
(and button `action`s, published once and not retained) and `availability`, `bridge/event`, `bridge/response/device/rename` with the empty retained message on the old
topic — and answers `<name>/set` the way Zigbee2MQTT does: it publishes the device's new state."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time

from .mosquitto import Broker, TESTER_PASSWORD, TESTER_USER

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DUMP = os.path.join(HERE, "z2m", "dump.js")


def definitions(*models: str) -> dict[str, dict]:
    """{model: definition payload} from the pinned zigbee-herdsman-converters."""
    out = subprocess.run(["node", DUMP, *models], check=True, capture_output=True, timeout=300,
                         cwd=os.path.dirname(DUMP)).stdout
    return {d["model"]: d["definition"] for d in json.loads(out)}


class FakeZigbee2Mqtt:
    def __init__(self, broker: Broker, base: str = "zigbee2mqtt", client_id: str = "fake-z2m"):
        import paho.mqtt.client as mqtt

        self.base = base
        self.devices: dict[str, dict] = {}  # ieee -> bridge/devices entry
        self.state: dict[str, dict] = {}  # ieee -> current state
        self.sets: list[tuple[str, dict]] = []  # (friendly_name, payload) of every /set received
        self.set_at: list[float] = []  # time.monotonic() at each /set's arrival (the latency bench)
        self.deaf: set[str] = set()  # ieee addresses whose device never acts on a /set (out of range, broken)
        self.cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{client_id}-{os.getpid()}",
                                  protocol=mqtt.MQTTv311)
        self.client.username_pw_set(TESTER_USER, TESTER_PASSWORD)
        self.client.on_message = self._on_message
        # TCP_NODELAY: paho does not set it, and a state message of the fake would otherwise wait behind its own
        # unacknowledged PUBACKs (Nagle) for the broker's delayed ACK, ~40 ms the bridge has no part in.
        self.client.on_socket_open = lambda client, userdata, sock: sock.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.connect(broker.host, broker.tcp_port)
        self.client.subscribe(f"{base}/#", qos=1)
        self.client.loop_start()

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()

    def _pub(self, topic: str, payload, retain: bool = False):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload, sort_keys=True)
        self.client.publish(f"{self.base}/{topic}", payload, qos=1, retain=retain).wait_for_publish(10)

    def start(self):
        self._pub("bridge/state", {"state": "online"}, retain=True)
        self._pub("bridge/info", {"version": "2.6.0", "config": {"advanced": {"output": "json"}}}, retain=True)
        self.publish_devices()
        for ieee in self.devices:
            self.report(ieee)

    def publish_devices(self):
        coordinator = {"ieee_address": "0x00124b0000000001", "friendly_name": "Coordinator", "type": "Coordinator",
                       "supported": True, "disabled": False, "definition": None, "interview_completed": True}
        self._pub("bridge/devices", [coordinator, *self.devices.values()], retain=True)

    def add(self, ieee: str, name: str, definition: dict, power: str = "Mains (single phase)", state=None):
        self.devices[ieee] = {"ieee_address": ieee, "friendly_name": name, "type": "Router", "supported": True,
                              "disabled": False, "definition": definition, "power_source": power,
                              "interview_completed": True, "interviewing": False, "network_address": 1234,
                              "manufacturer": definition["vendor"], "model_id": definition["model"], "endpoints": {}}
        self.state[ieee] = dict(state or {})

    def name(self, ieee: str) -> str:
        return self.devices[ieee]["friendly_name"]

    def report(self, ieee: str, **fields):
        self.state[ieee].update(fields)
        # Retained, as with Zigbee2MQTT's per-device `retain: true`.
        self._pub(self.name(ieee), {**self.state[ieee], "linkquality": 120}, retain=True)

    def action(self, ieee: str, action: str):
        """A button gesture, as Zigbee2MQTT publishes it: once, in a state message carrying `action`, never
        retained (the action is not kept in the device's retained state)."""
        self._pub(self.name(ieee), {**self.state[ieee], "action": action, "linkquality": 120}, retain=False)

    def availability(self, ieee: str, online: bool):
        self._pub(f"{self.name(ieee)}/availability", {"state": "online" if online else "offline"}, retain=True)

    def rename(self, ieee: str, new: str):
        old = self.name(ieee)
        self.devices[ieee]["friendly_name"] = new
        self._pub(old, "", retain=True)
        self._pub("bridge/response/device/rename", {"data": {"from": old, "to": new, "homeassistant_rename": False},
                                                     "status": "ok"})
        self.publish_devices()

    def leave(self, ieee: str):
        name = self.name(ieee)
        self.devices.pop(ieee)
        self._pub("bridge/event", {"type": "device_leave", "data": {"ieee_address": ieee, "friendly_name": name}})
        self.publish_devices()

    def raw(self, topic: str, payload: bytes):
        self.client.publish(f"{self.base}/{topic}", payload, qos=1).wait_for_publish(10)

    def _on_message(self, client, userdata, msg):
        at = time.monotonic()
        if not msg.topic.endswith("/set"):
            return
        name = msg.topic[len(self.base) + 1:-len("/set")]
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            return
        with self.cond:
            self.sets.append((name, payload))
            self.set_at.append(at)
            self.cond.notify_all()
        ieee = next((i for i, d in self.devices.items() if d["friendly_name"] == name), None)
        if ieee is None or ieee in self.deaf:
            return
        # Zigbee2MQTT answers a /set with the device's new state (colour as the device reports it).
        new = {k: v for k, v in payload.items() if k != "transition"}
        if "fan_mode" in new and "fan_state" in self.state[ieee]:
            # zigbee-herdsman-converters' fan converter reports the state with the mode it reads back.
            new["fan_state"] = "OFF" if new["fan_mode"] == "off" else "ON"
        if "color" in new:
            new["color"] = {**self.state[ieee].get("color", {}), **new["color"]}
            new["color_mode"] = "hs" if "hue" in payload["color"] else "xy"
        threading.Thread(target=self.report, args=(ieee,), kwargs=new, daemon=True).start()

    def wait_set(self, name: str, check=lambda p: True, timeout: float = 20) -> dict:
        with self.cond:
            ok = self.cond.wait_for(lambda: any(n == name and check(p) for n, p in self.sets), timeout)
            assert ok, f"no matching /set for {name} within {timeout}s: {self.sets}"
            return next(p for n, p in reversed(self.sets) if n == name and check(p))
