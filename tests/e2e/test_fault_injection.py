"""hubbridge's persistence under a tracer and injected faults (issue 12): Debian's strace runs the real bridge.

- Which thread makes the durable writes: while the CHIP controller commissions, subscribes, toggles and writes
  NodeLabels and the API changes state and adds devices, every fsync/fdatasync/rename is made by the
  persistence writer thread ("persist"); none by the Matter thread ("matter") or a tokio worker.
- Faults: fsync failing with EIO or ENOSPC, rename failing with EIO (every few calls, per thread, as a flaky
  disk does). Every record that was acknowledged (API 2xx, Matter success) is on disk after a SIGKILL and a
  restart, no file is torn (the bridge starts and reads every one, the controller's fabric still works), and
  the bridge said what went wrong (health `storage` and the log).
- A slow disk (every fsync delayed 50 ms): no controller invoke fails or times out. The latencies with and
  without the delay are written to the run's logs (bench/slow-disk.sh turns them into bench/slow-disk.md);
  nothing here asserts a duration.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from collections import Counter

import pytest

from hbe2e.api import Api
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml
from hbe2e import straced

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
READY = r"hubbridge ready: API on"
OnOff = Clusters.OnOff.Attributes.OnOff
CurrentLevel = Clusters.LevelControl.Attributes.CurrentLevel
BDBI = Clusters.BridgedDeviceBasicInformation.Attributes
NodeLabel0 = Clusters.BasicInformation.Attributes.NodeLabel

DEVICES = [
    dict(id="kitchen-light", kind="dimmable_light", name="Kitchen light", state=dict(on=False, brightness=100)),
    dict(id="hall-light", kind="on_off_light", name="Hall light"),
    dict(id="desk-light", kind="on_off_light", name="Desk light"),
]


def bridge_cfg(sandbox, device_dir) -> str:
    return config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge faults",
                       api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=DEVICES)


@pytest.fixture
def start_traced(devices, device_dir):
    """Factory: start_traced(config, name, inject=()) -> (Device, strace log). At the end of the test the
    traced bridge itself is killed (killing only strace would leave it running, detached)."""
    from conftest import hubbridge_binary
    started = []

    def start(config: str, name: str, inject=()):
        log = os.path.join(device_dir, f"{name}.strace")
        argv = straced.strace_argv(hubbridge_binary(), config, log=log, inject=list(inject))
        straced.register(argv, device_dir)
        dev = devices.create(name, argv, ready=READY, ready_timeout=180, cwd=device_dir,
                             env={"RUST_LOG": os.environ.get("RUST_LOG", "info")})
        started.append(dev)
        dev.start()
        return dev, log

    yield start
    for dev in started:
        if dev.running:
            straced.kill_traced(dev)


@pytest.fixture
def prepared(hubbridge, sandbox, device_dir, controller):
    """A bridge that ran once (storage made, commissioned by `controller`) and is stopped again:
    (the stopped Device, its config file, node id, Api)."""
    dev = hubbridge(bridge_cfg(sandbox, device_dir))
    node = controller.commission(dev.pairing_codes().manual)
    dev.stop()
    return dev, os.path.join(device_dir, "hubbridge.toml"), node, Api(sandbox.pair.dev_addr6, API_PORT)


def test_the_matter_thread_makes_no_durable_write(hubbridge, start_traced, sandbox, device_dir, controller):
    # Storage made by a first start (commissioning data, identity), so that everything the traced run writes
    # comes from serving: commissioning, subscriptions, control, labels, API changes and adds.
    first = hubbridge(bridge_cfg(sandbox, device_dir))
    first.stop()
    dev, log = start_traced(os.path.join(device_dir, "hubbridge.toml"), "hubbridge-traced")
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    node = controller.commission(dev.pairing_codes().manual)
    light = api.device("hall-light")["endpoint"]
    sub = controller.subscribe(node, [(light, OnOff), (light, BDBI.NodeLabel)], max_interval=5)
    for i in range(6):
        controller.invoke(node, light, Clusters.OnOff.Commands.Toggle())
    for i in range(3):
        controller.write_attribute(node, light, BDBI.NodeLabel(f"Hallway {i}"))
    controller.write_attribute(node, 0, NodeLabel0("Hub"))  # rs-matter's own KV store
    api.set_state("kitchen-light", {"on": True, "brightness": 42})
    api.call("POST", "/devices", dict(id="porch-light", kind="on_off_light", name="Porch"), expect=201)
    sub.wait_for(light, BDBI.NodeLabel, "Hallway 2")
    time.sleep(1.0)  # the writer's debounce and the last writes

    pid = straced.traced_pid(dev)
    names = straced.thread_names(pid)
    calls = straced.parse(log)
    by_thread = Counter((names.get(c.tid, f"exited thread {c.tid}"), c.name) for c in calls)
    with open(os.path.join(sandbox.log_dir, "durable-writes-by-thread.txt"), "w") as f:
        for (thread, call), n in sorted(by_thread.items()):
            f.write(f"{thread:<24} {call:<10} {n}\n")
    matter = {tid for tid, n in names.items() if n == "matter"}
    assert matter, f"no thread named matter: {names}"
    assert [c for c in calls if c.tid in matter] == [], "the Matter thread made a durable write"
    assert {thread for thread, _ in by_thread} == {"persist"}, dict(by_thread)
    # The writes were seen: the fabric, the labels, the state, the added device.
    assert by_thread[("persist", "fsync")] >= 8, dict(by_thread)
    sub.close()

    # And they are on disk: a SIGKILL, a restart without the tracer, the fabric and the label still there.
    straced.kill_traced(dev)
    first.start()
    controller.reconnect(node)
    assert controller.read_attribute(node, light, BDBI.NodeLabel) == "Hallway 2"
    assert controller.read_attribute(node, 0, NodeLabel0) == "Hub"
    assert api.device("porch-light")["endpoint"] > 0


FAULTS = {
    # Per thread, as strace counts: the persistence writer's 3rd, 6th, ... fsync fails.
    "fsync-eio": ["fsync,fdatasync:error=EIO:when=3+3"],
    "fsync-enospc": ["fsync,fdatasync:error=ENOSPC:when=2+3"],
    "rename-eio": ["rename,renameat,renameat2:error=EIO:when=2+2"],
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_injected_faults_lose_no_acknowledged_record(prepared, start_traced, controller, fault):
    stopped, config, node, api = prepared
    dev, log = start_traced(config, f"hubbridge-{fault}", FAULTS[fault])
    controller.reconnect(node)
    ep = {d["id"]: api.device(d["id"])["endpoint"] for d in DEVICES}
    acked_state: dict[str, dict] = {}
    acked_labels: dict[str, str] = {}
    acked_adds: list[str] = []
    node_label = None
    seen_errors: set[str] = set()

    def note_health():
        s = api.call("GET", "/health", expect=200)[1]["storage"]
        if s["last_error"]:
            seen_errors.add(s["last_error"])

    for i in range(8):
        # Matter: a success is an acknowledgement.
        controller.invoke(node, ep["hall-light"], Clusters.OnOff.Commands.Toggle())
        controller.invoke(node, ep["kitchen-light"], Clusters.LevelControl.Commands.MoveToLevelWithOnOff(
            level=10 + 20 * i, transitionTime=0, optionsMask=0, optionsOverride=0))
        controller.write_attribute(node, ep["desk-light"], BDBI.NodeLabel(f"Desk {i}"))
        acked_labels["desk-light"] = f"Desk {i}"
        controller.write_attribute(node, 0, NodeLabel0(f"Hub {i}"))
        node_label = f"Hub {i}"
        # API: a 2xx is an acknowledgement.
        api.set_state("desk-light", {"on": i % 2 == 0})
        status, body = api.call("POST", "/devices", dict(id=f"extra-{i}", kind="on_off_light", name=f"Extra {i}"))
        if status == 201:
            acked_adds.append(f"extra-{i}")
        else:
            # Refused because the disk failed: it says so, naming the file.
            assert status >= 500 and ("cannot" in json.dumps(body)), (status, body)
        note_health()
    for d in DEVICES:
        acked_state[d["id"]] = api.device(d["id"])["state"]
    assert acked_state["hall-light"] == {"on": False} and acked_state["kitchen-light"]["brightness"] == 150

    # Everything lands once the failing calls are retried; meanwhile the bridge said what went wrong.
    deadline = time.monotonic() + 60
    quiet_since = None
    while True:
        storage = api.call("GET", "/health", expect=200)[1]["storage"]
        if storage["last_error"]:
            seen_errors.add(storage["last_error"])
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 3:  # retries are 1 s apart: nothing left failing
            break
        assert time.monotonic() < deadline, f"writes never landed: {storage}"
        time.sleep(0.3)
    assert storage["failures"] > 0, f"no injected fault was hit: {storage}"
    injected = [c for c in straced.parse(log) if c.injected]
    assert injected, "strace injected nothing"
    text = dev.log_text()
    assert "cannot persist" in text
    word = {"fsync-eio": "Input/output error", "fsync-enospc": "No space left on device",
            "rename-eio": "Input/output error"}[fault]
    assert word in text, "the log names the error"
    if fault == "fsync-enospc":
        assert any("disk full" in e for e in seen_errors) or "disk full" in text

    straced.kill_traced(dev)
    stopped.start()  # no tracer; a torn or inconsistent file would stop it here
    for d in DEVICES:
        assert api.device(d["id"])["state"] == acked_state[d["id"]], d["id"]
    assert api.device("desk-light")["label"] == acked_labels["desk-light"]
    for dev_id in acked_adds:
        assert api.device(dev_id)["endpoint"] > 0, dev_id
    controller.reconnect(node)  # the fabric (rs-matter's KV files) intact
    assert controller.read_attribute(node, 0, NodeLabel0) == node_label
    assert controller.read_attribute(node, ep["desk-light"], BDBI.NodeLabel) == acked_labels["desk-light"]
    assert controller.read_attribute(node, ep["hall-light"], OnOff) is False


def _invoke_latencies(controller, node, api, ep, n: int) -> tuple[list[float], list[float]]:
    """`n` toggles, each timed, while label writes (bridged NodeLabel: identity.json; the node's NodeLabel:
    rs-matter's KV store) and API changes keep the writer busy."""
    stop = threading.Event()

    def churn():
        i = 0
        while not stop.is_set():
            api.set_state("kitchen-light", {"brightness": 1 + i % 250})
            i += 1
            time.sleep(0.02)

    t = threading.Thread(target=churn, daemon=True)
    t.start()
    out, kv = [], []
    try:
        for i in range(n):
            t0 = time.monotonic()
            controller.invoke(node, ep, Clusters.OnOff.Commands.Toggle(), timeout=10)
            out.append(time.monotonic() - t0)
            if i % 5 == 0:
                controller.write_attribute(node, ep, BDBI.NodeLabel(f"Hall {i}"), timeout=10)  # identity.json
                t0 = time.monotonic()
                controller.write_attribute(node, 0, NodeLabel0(f"Hub {i}"), timeout=10)  # rs-matter's KV
                kv.append(time.monotonic() - t0)
    finally:
        stop.set()
        t.join(5)
    return out, kv


def test_slow_disk_fails_no_invoke(prepared, start_traced, sandbox, controller):
    stopped, config, node, api = prepared
    n = int(os.environ.get("HB_SLOW_DISK_INVOKES", "30"))
    results = {}
    for mode, inject in (("no strace", None),
                         ("strace, no delay", []),
                         ("strace, fsync +50 ms", ["fsync,fdatasync:delay_enter=50ms"])):
        if inject is None:
            dev = stopped
            dev.start()
        else:
            dev, _ = start_traced(config, "hubbridge-slow" if inject else "hubbridge-plain", inject)
        controller.reconnect(node)
        ep = api.device("hall-light")["endpoint"]
        lat, kv = _invoke_latencies(controller, node, api, ep, n)  # raises on any failure or timeout
        assert len(lat) == n
        writes = api.call("GET", "/health", expect=200)[1]["storage"]["writes"]
        if inject is None:
            dev.stop()
        else:
            straced.kill_traced(dev)
        lat.sort()
        kv.sort()
        results[mode] = dict(invokes=n, p50_ms=round(1000 * statistics.median(lat), 1),
                             p99_ms=round(1000 * lat[min(n - 1, int(n * 0.99))], 1),
                             max_ms=round(1000 * lat[-1], 1), writer_writes=writes,
                             kv_writes=len(kv), kv_write_p50_ms=round(1000 * statistics.median(kv), 1),
                             kv_write_max_ms=round(1000 * kv[-1], 1))
    with open(os.path.join(sandbox.log_dir, "slow-disk.json"), "w") as f:
        json.dump(results, f, indent=2)
    out = os.environ.get("HB_SLOW_DISK_REPORT")
    if out:
        with open(out, "w") as f:
            json.dump(results, f, indent=2)
