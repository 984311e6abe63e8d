"""A full disk, end to end (issue 12): the bridge's storage dir is a small tmpfs this test mounts (in the test's
private mount namespace, before the bridge starts, so the bridge sees the same filesystem), the MQTT connector's
broker (a real mosquitto) is down, and a filler file takes the last free byte while state changes and events
flow from the API and the CHIP controller.

Checked as a user would notice it: /api/health says "disk full" plainly (the outbox and the bridge's own files),
the controller's reads, invokes and writes keep succeeding, and a second ecosystem can commission the node; then space is freed and the broker comes back: the
subscriber ends with the right state of every device, and every event it did not get is counted in the
outbox's drop counters (received + dropped = produced). A restart afterwards reads every file.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from hbe2e.api import Api
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml
from hbe2e.mosquitto import Watcher, connector_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
BASE = "hb"
OnOff = Clusters.OnOff.Attributes.OnOff
BDBI = Clusters.BridgedDeviceBasicInformation.Attributes
NodeLabel0 = Clusters.BasicInformation.Attributes.NodeLabel

DEVICES = [
    dict(id="kitchen-light", kind="dimmable_light", name="Kitchen light", state=dict(on=False, brightness=100)),
    dict(id="hall-light", kind="on_off_light", name="Hall light"),
    dict(id="front-door", kind="contact_sensor", name="Front door", state=dict(contact=True)),
]


@pytest.fixture
def small_fs(device_dir):
    """<device_dir>/state on a 16 MiB tmpfs (0700, as the bridge wants its storage)."""
    path = os.path.join(device_dir, "state")
    os.makedirs(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "hb-disk-full", path], check=True)
    try:
        yield path
    finally:
        # Lazily: the bridge may still hold files open until the device fixture stops it.
        subprocess.run(["umount", "-l", path], check=False)


def fill(path: str) -> int:
    """Writes a filler file until the filesystem refuses a single byte more; returns its size."""
    filler = os.path.join(path, "filler")
    size = 0
    with open(filler, "wb", buffering=0) as f:
        for chunk in (1 << 20, 1 << 12, 1):
            block = b"\0" * chunk
            while True:
                try:
                    f.write(block)
                    size += chunk
                except OSError:
                    break
    assert os.statvfs(path).f_bavail == 0
    return size


def health(api: Api) -> dict:
    return api.call("GET", "/health", expect=200)[1]


def test_disk_full_keeps_matter_answering_and_counts_every_dropped_event(
        hubbridge, mosquitto, sandbox, device_dir, controller, new_controller, small_fs):
    broker = mosquitto()
    # A persistent session: what the bridge publishes while this subscriber is away is queued for it.
    w = Watcher(broker, topics=(f"{BASE}/#",), client_id="watcher-disk")
    w.close()
    connector = connector_toml(broker, extra="[connectors.outbox]\nmemory_max_bytes = 4096")
    dev = hubbridge(config_toml(small_fs, interface=sandbox.pair.dev_if, name="hubbridge disk",
                                api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=DEVICES,
                                extra=connector))
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    api.wait_connector("home", lambda c: c["connected"], 60, "connected")
    node = controller.commission(dev.pairing_codes().manual)
    hall = api.device("hall-light")["endpoint"]
    kitchen = api.device("kitchen-light")["endpoint"]
    broker.stop()
    api.wait_connector("home", lambda c: not c["connected"], 60, "disconnected")

    produced = 0  # availability events of front-door, one per flip
    reachable = True

    def flip(n: int):
        nonlocal produced, reachable
        for _ in range(n):
            reachable = not reachable
            api.set_reachable("front-door", reachable)
            produced += 1

    def matter_round(i: int):
        # The controller's reads, invokes and writes succeed whatever the disk says (each raises otherwise).
        controller.invoke(node, hall, Clusters.OnOff.Commands.Toggle())
        assert controller.read_attribute(node, hall, OnOff) == api.device("hall-light")["state"]["on"]
        controller.invoke(node, kitchen, Clusters.LevelControl.Commands.MoveToLevelWithOnOff(
            level=20 + i, transitionTime=0, optionsMask=0, optionsOverride=0))

    # With room on the disk.
    flip(10)
    matter_round(0)
    api.set_state("kitchen-light", {"brightness": 60})

    fill(small_fs)
    # Full: keep going until the outbox has had to drop events (its memory budget is 4 KiB).
    full_seen = None
    for i in range(1, 40):
        flip(10)
        matter_round(i)
        api.set_state("kitchen-light", {"brightness": 100 + i})
        if i == 1:
            controller.write_attribute(node, hall, BDBI.NodeLabel("Hallway"))  # identity.json
            controller.write_attribute(node, 0, NodeLabel0("Full disk hub"))  # rs-matter's KV store
            # A second ecosystem commissions the node on the full disk: its fabric is kept in memory
            # and written when there is room again.
            window = controller.open_commissioning_window(node)
            second = new_controller("disk-full-second")
            node_b = second.commission(window.setupManualCode)
            assert second.read_attribute(node_b, hall, OnOff) == api.device("hall-light")["state"]["on"]
        h = health(api)
        c = h["connectors"][0]
        if c["outbox_disk_full"] and c["dropped_events"] > 0 and h["storage"]["disk_full"]:
            full_seen = h
            break
    assert full_seen is not None, f"the bridge never said disk full: {health(api)}"
    c = full_seen["connectors"][0]
    assert c["outbox_error"].startswith("disk full"), c
    assert full_seen["storage"]["last_error"].startswith("disk full"), full_seen["storage"]
    assert full_seen["status"] == "ok"  # and it keeps serving
    assert "disk full" in dev.log_text().lower()
    matter_round(99)

    # Room again: both recover without another change.
    os.remove(os.path.join(small_fs, "filler"))
    deadline = time.monotonic() + 60
    while True:
        h = health(api)
        if not h["connectors"][0]["outbox_disk_full"] and not h["storage"]["disk_full"] \
                and h["storage"]["last_error"] is None:
            break
        assert time.monotonic() < deadline, f"no recovery after space was freed: {h}"
        time.sleep(0.2)
    flip(4)
    matter_round(100)

    broker.start()
    w = Watcher(broker, topics=(f"{BASE}/#",), client_id="watcher-disk")
    try:
        api.wait_connector("home", lambda c: c["connected"], 60, "connected again")
        api.wait_connector("home", lambda c: c["outbox"]["depth"] == 0, 120, "outbox drained")
        stats = api.connectors()["home"]["outbox"]

        # Final state right at the subscriber.
        for dev_id in ("kitchen-light", "hall-light"):
            want = api.device(dev_id)["state"]
            w.wait_for(f"{BASE}/{dev_id}", lambda m, want=want: json.loads(m.payload) == want, timeout=30)
        want = b"online" if reachable else b"offline"
        w.wait_for(f"{BASE}/front-door/availability", lambda m: m.payload == want, timeout=30)
        time.sleep(1.0)  # late duplicates of the replay, if any

        def availability(msgs):
            evs = [json.loads(m.payload) for m in msgs if m.topic == f"{BASE}/bridge/event"]
            return {e["id"] for e in evs if e["device"] == "front-door" and e["type"] == "availability"}

        received = availability(w.on(f"{BASE}/bridge/event"))
        dropped = stats["dropped_events"]
        assert dropped > 0 and stats["drops"]["disk"] == dropped, stats
        # Every event the subscriber did not get is counted, and only those.
        assert len(received) + dropped == produced, (len(received), dropped, produced)
        assert not {d["id"] for d in stats["recent_drops"]} & received
        with open(os.path.join(sandbox.log_dir, "disk-full.json"), "w") as f:
            json.dump(dict(produced=produced, received=len(received), dropped=dropped, drops=stats["drops"],
                           storage_while_full=full_seen["storage"], outbox_error=c["outbox_error"]), f, indent=2)
    finally:
        w.close()

    # What was written during and after the full disk is readable after a restart.
    dev.restart()
    controller.reconnect(node)
    second.reconnect(node_b)  # the fabric added on the full disk
    assert second.read_attribute(node_b, 0, NodeLabel0) == "Full disk hub"
    assert controller.read_attribute(node, 0, NodeLabel0) == "Full disk hub"
    assert controller.read_attribute(node, hall, BDBI.NodeLabel) == "Hallway"
    assert api.device("hall-light")["state"]["on"] == controller.read_attribute(node, hall, OnOff)
