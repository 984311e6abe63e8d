"""The cloud side of the benchmark (hubbridge only), in its own process, sandbox and run directory:

1. `hubbridge-bench-mqtt --json` (bench/mqtt, beside the hubbridge binary) inside the sandbox's dev namespace (mosquitto on that namespace's loopback):
   sustained state changes per second delivered (PUBACKed) with the durable outbox on, 100k events queued during
   a cut link and the time to drain them, the RSS during the drain, and the events a subscriber connected to
   mosquitto throughout did not receive (lost).
2. Start-up with a cloud connector: the real `hubbridge run` with N on/off lights and an MQTT connector (TLS with
   a client certificate and a password, as configured in production) to a mosquitto in the dev namespace, fresh
   storage each time; timed from exec to the pairing code (Matter ready), to the connector connected, and to
   every device's state arriving at a subscriber of mosquitto (the connector publishes the full state, retained,
   on every connect).

    python -m hbbench.cloud --run-dir DIR --out cloud.json [--hubbridge-bin B] [--startups 10] [--devices 100]

Run as root from the e2e venv (`python -m hbbench` runs it after the Matter repetitions).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

from . import WORKSPACE, ensure_paths, interrupt

ensure_paths()

from hbe2e.api import Api  # noqa: E402
from hbe2e.device import Devices  # noqa: E402
from hbe2e.mosquitto import Watcher, connector_toml, make_broker  # noqa: E402
from hbe2e.sandbox import Sandbox  # noqa: E402

from .peers import API_PORT, HubbridgePeer  # noqa: E402


def bench_mqtt_binary(hubbridge_bin: str) -> str:
    """The cloud benchmark's own binary, built with the workspace beside `hubbridge` (same profile)."""
    b = os.path.join(os.path.dirname(os.path.abspath(hubbridge_bin)), "hubbridge-bench-mqtt")
    if not (os.path.isfile(b) and os.access(b, os.X_OK)):
        raise RuntimeError(f"no {b}: build the workspace (cargo build --workspace, or --release -p hubbridge-bench-mqtt)")
    return b


def bench_mqtt(sb: Sandbox, binary: str, out_dir: str, log, extra: list[str] = ()) -> dict:
    """`hubbridge-bench-mqtt` (found beside the hubbridge `binary`) in the dev namespace; its Markdown report goes
    to `out_dir`/mqtt-report.md."""
    js = os.path.join(sb.run_dir, "bench-mqtt.json")
    argv = ["ip", "netns", "exec", sb.pair.dev, bench_mqtt_binary(binary), "--report",
            os.path.join(out_dir, "mqtt-report.md"), "--json", js, *extra]
    log("bench-mqtt: sustained changes, 100k events queued and drained (about a minute)")
    with open(os.path.join(sb.log_dir, "bench-mqtt.log"), "w") as f:
        r = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, env=dict(os.environ, RUST_LOG="warn"),
                           timeout=1200)
    if r.returncode != 0:
        raise RuntimeError(f"bench-mqtt exited with {r.returncode}; see {sb.log_dir}/bench-mqtt.log")
    with open(js) as f:
        return json.load(f)


def startups(sb: Sandbox, binary: str, count: int, times: int, log) -> dict:
    devices = Devices(sb)
    samples: dict[str, list[float]] = {"ready_s": [], "connected_s": [], "synced_s": []}
    try:
        broker = make_broker(devices, WORKSPACE, os.path.join(sb.devices_dir, "cloud"), sb.pair.dev_addr4)
        for i in range(times):
            # The Matter bench's hubbridge (same lights, same config), plus an MQTT connector.
            peer = HubbridgePeer(binary=binary, count=count, sandbox=sb,
                                 storage=os.path.join(sb.devices_dir, "cloud", f"hubbridge-{i}"),
                                 extra=connector_toml(broker, name="home", base=f"bench{i}"))
            dev = peer.device
            devices.started.append(dev)
            api = Api(sb.pair.dev_addr6, API_PORT)
            ids = set(peer.ids)
            watcher = Watcher(broker, topics=(f"bench{i}/+",), client_id=f"bench-startup-{i}", clean=True)
            t0 = time.monotonic()
            dev.start()
            samples["ready_s"].append(time.monotonic() - t0)
            connected = None
            deadline = t0 + 60
            while connected is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"start-up {i}: connector not connected within 60 s: {dev.tail()}")
                try:
                    if api.connectors()["home"]["connected"]:
                        connected = time.monotonic() - t0
                except OSError:
                    pass
                time.sleep(0.002)

            def all_states(msgs):
                first = {}
                for m in msgs:
                    dev_id = m.topic.split("/", 1)[1]
                    if dev_id in ids and dev_id not in first:
                        first[dev_id] = m.at
                return max(first.values()) if len(first) == len(ids) else None

            try:
                last = watcher.wait_until(all_states, timeout=60, what=f"start-up {i}: every device's state")
            finally:
                watcher.close()
            samples["connected_s"].append(connected)
            samples["synced_s"].append(last - t0)
            dev.stop()
            devices.started.remove(dev)
        log(f"start-up with an MQTT connector, N={count}, x{times}: ready {statistics.median(samples['ready_s']):.3f} s, "
            f"connected {statistics.median(samples['connected_s']):.3f} s, synced {statistics.median(samples['synced_s']):.3f} s")
    finally:
        devices.stop_all()
    return {k: dict(median=statistics.median(v), min=min(v), max=max(v), samples=v) for k, v in samples.items()}



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hbbench.cloud")
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out", required=True, help="JSON result")
    ap.add_argument("--report-dir", default=os.path.join(WORKSPACE, "bench"), help="where mqtt-report.md goes")
    ap.add_argument("--hubbridge-bin", default=os.path.join(WORKSPACE, "target", "release", "hubbridge"))
    ap.add_argument("--startups", type=int, default=10)
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--mqtt-args", default="", help="extra bench-mqtt arguments (the quick run's smaller load)")
    a = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)

    def log(msg: str) -> None:
        print(f"[hbbench {time.strftime('%H:%M:%S')}] cloud: {msg}", file=sys.stderr, flush=True)

    sb = Sandbox.enter(WORKSPACE, a.run_dir)
    try:
        result = dict(mqtt=bench_mqtt(sb, a.hubbridge_bin, a.report_dir, log, a.mqtt_args.split()),
                      startup=startups(sb, a.hubbridge_bin, a.devices, a.startups, log),
                      startup_devices=a.devices)
        m = result["mqtt"]
        log(f"{m['state_changes_per_s']:.0f} state changes/s delivered; {m['events']} events drained in "
            f"{m['drain_s']:.2f} s, {m['lost']} lost; RSS {m['rss_before_drain_mib']:.1f} -> {m['rss_peak_drain_mib']:.1f} MiB")
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=1)
        os.replace(tmp, a.out)
        return 0
    finally:
        sb.leave()


if __name__ == "__main__":
    sys.exit(main())
