"""Registry throughput with every cloud connector on (issue 14): the real `hubbridge run` binary with N on/off
lights (config devices) and all three connectors at once — a self-hosted MQTT broker (mosquitto, TLS with a
client certificate), AWS IoT (mosquitto with mutual TLS and the FAKE Device Shadow service of the end-to-end
tests, tests/e2e/hbe2e/aws_fake.py) and Azure IoT Hub (mosquitto with SAS passwords and the FAKE twin service,
tests/e2e/hbe2e/azure_fake.py, which refuses a reported PATCH that would take the twin past 32 KB as IoT Hub
does).

    python -m hbbench.clouds [--count 5000] [--seconds 10] [--out bench/clouds-5000.md]

Steps, each timed:
1. start: exec → "hubbridge ready"; then every connector connected and its outbox empty (the first full sync of
   N devices to each cloud: N retained MQTT states, N shadow reads and updates, the twin's reconciliation PATCH);
2. sustained load: for `--seconds`, a publisher on the MQTT broker sends OnOff commands (`hb/<id>/set`,
   `{"on": ...}`, QoS 0, devices round robin, each command flips its device) as fast as it can — a raw-socket
   MQTT client (pre-encoded PUBLISH packets), so the publisher is not what limits the figure. Every applied
   command is one registry change that goes to all three connectors (and the Matter node);
3. drain: from the publisher's last packet until every command is applied and every outbox is empty;
4. check at the far ends: every device's last state as the MQTT subscriber, the shadow service and the twin
   service hold it equals the registry's (the twin only for the devices whose section fits in its 32 KB).

Figures from the bridge's own `/metrics` (registry changes, commands applied, records delivered, dead letters,
drops), its /proc (CPU, RSS). Run as root from the e2e venv (`cargo xtask bench-clouds` builds the release
binary and calls this).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import signal
import socket
import sys
import time

from . import WORKSPACE, cmd, cpu_model, ensure_paths, git_state, interrupt, mosquitto_version

ensure_paths()

from hbe2e import aws_fake, azure_fake  # noqa: E402
from hbe2e.api import Api  # noqa: E402
from hbe2e.device import Device, Devices  # noqa: E402
from hbe2e.hubbridge import config_toml  # noqa: E402
from hbe2e.mosquitto import TESTER_PASSWORD, TESTER_USER, Watcher, connector_toml, make_broker  # noqa: E402
from hbe2e.sandbox import Sandbox  # noqa: E402

from .measure import proc_snapshot  # noqa: E402

API_PORT = 8080
KEY = base64.b64encode(b"bench-clouds-device-key-32-bytes").decode()
CONNECTORS = ("home", "aws", "azure")


# --------------------------------------------------------------------------------------- raw MQTT publisher

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(b: bytes) -> bytes:
    return len(b).to_bytes(2, "big") + b


def publish_packet(topic: str, payload: bytes) -> bytes:
    """An MQTT 3.1.1 PUBLISH, QoS 0, not retained."""
    body = _str(topic.encode()) + payload
    return b"\x30" + _varint(len(body)) + body


class RawPublisher:
    """An MQTT 3.1.1 client that only CONNECTs and sends pre-encoded QoS 0 PUBLISH packets (no library in the
    hot loop: paho's per-message overhead would make the publisher the bottleneck)."""

    def __init__(self, host: str, port: int, client_id: str, user: str, password: str):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        var = _str(b"MQTT") + bytes([4, 0xC2]) + (120).to_bytes(2, "big")  # user+password, clean, keepalive
        payload = _str(client_id.encode()) + _str(user.encode()) + _str(password.encode())
        self.sock.sendall(b"\x10" + _varint(len(var) + len(payload)) + var + payload)
        ack = self.sock.recv(4)
        if len(ack) != 4 or ack[0] != 0x20 or ack[3] != 0:
            raise RuntimeError(f"publisher CONNECT refused: {ack!r}")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        try:
            self.sock.sendall(b"\xe0\x00")  # DISCONNECT
        except OSError:
            pass
        self.sock.close()


# ------------------------------------------------------------------------------------------------- metrics

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')


def parse_metrics(text: str) -> dict[tuple[str, str], float]:
    """{(name, labels text): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def metric(ms: dict, name: str, **labels) -> float:
    """Sum of `name` over the series whose labels include `labels`."""
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for (n, lab), v in ms.items() if n == name and all(w in lab for w in want))


class Bridge:
    def __init__(self, api: Api):
        self.api = api

    def metrics(self) -> dict:
        status, _, text = self.api.raw("GET", self.api.root + "/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics -> {status}: {text[:200]}")
        return parse_metrics(text)


def changes(ms: dict) -> float:
    return metric(ms, "hubbridge_registry_changes_total")


def applied(ms: dict) -> float:
    return metric(ms, "hubbridge_connector_commands_total", connector="home", result="applied")


def delivered(ms: dict, c: str) -> float:
    return metric(ms, "hubbridge_connector_delivered_total", connector=c)


def depth(ms: dict, c: str) -> float:
    return metric(ms, "hubbridge_connector_outbox_depth", connector=c)


def connected(ms: dict, c: str) -> float:
    return metric(ms, "hubbridge_connector_connected", connector=c)


def dead(ms: dict, c: str) -> float:
    return metric(ms, "hubbridge_connector_dead_letters", connector=c)


def drops(ms: dict, c: str) -> float:
    return metric(ms, "hubbridge_connector_outbox_drops_total", connector=c)


def wait_until(check, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = check()
        if v:
            return v
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not reached within {timeout:.0f} s")
        time.sleep(every)


def phase(bridge: Bridge, dev, pub: RawPublisher, packets_for, rate: int, seconds: float, log, n: int) -> dict:
    """Commands at `rate` per second (0: as fast as the publisher sends) for `seconds`, then until every command
    is answered (applied or refused) and every outbox is empty."""
    ms0 = bridge.metrics()
    cpu0 = proc_snapshot(dev.pid)["cpu_s"]
    self0 = os.times()
    t0 = time.monotonic()
    sent, peak = 0, 0
    next_probe = t0 + 1
    tick = 0.01
    while (now := time.monotonic()) - t0 < seconds:
        if rate:
            due = int((now - t0 + tick) * rate) - sent
            if due > 0:
                pub.send(packets_for(due))
                sent += due
            time.sleep(max(0.0, t0 + (sent / rate) - tick - time.monotonic()))
        else:
            pub.send(packets_for(500))
            sent += 500
        if now >= next_probe:
            peak = max(peak, proc_snapshot(dev.pid)["rss_kb"])
            next_probe += 1
    t_sent = time.monotonic()
    timeline = []
    done_answered = None
    while True:
        ms = bridge.metrics()
        now = time.monotonic()
        ok = applied(ms) - applied(ms0)
        no = metric(ms, "hubbridge_connector_commands_total", connector="home", result="refused") - \
            metric(ms0, "hubbridge_connector_commands_total", connector="home", result="refused")
        timeline.append((round(now - t0, 2), ok, no, {c: depth(ms, c) for c in CONNECTORS}))
        peak = max(peak, proc_snapshot(dev.pid)["rss_kb"])
        if done_answered is None and ok + no >= sent:
            done_answered = now
        stalled = len(timeline) > 20 and timeline[-20][1:3] == (ok, no)
        if (ok + no >= sent or stalled) and all(depth(ms, c) == 0 for c in CONNECTORS):
            break
        if now - t_sent > 600:
            raise RuntimeError(f"not drained 600 s after the load: {timeline[-1]}")
        time.sleep(0.25)
    t_drained = time.monotonic()
    cpu1 = proc_snapshot(dev.pid)["cpu_s"]
    self1 = os.times()
    p = dict(rate=rate, sent=sent, send_s=t_sent - t0, applied=ok, refused=no,
             unanswered=sent - ok - no, changes=changes(ms) - changes(ms0),
             answered_s=(done_answered or t_drained) - t0, drain_after_load_s=t_drained - t_sent,
             bridge_cpu_s=cpu1 - cpu0, harness_cpu_s=(self1.user + self1.system) - (self0.user + self0.system),
             delivered={c: delivered(ms, c) - delivered(ms0, c) for c in CONNECTORS},
             drops={c: drops(ms, c) - drops(ms0, c) for c in CONNECTORS}, rss_peak_kb=peak,
             rss_after_kb=proc_snapshot(dev.pid)["rss_kb"], timeline=timeline[::4])
    log(f"N={n} rate={rate or 'max'}/s: sent {sent} in {p['send_s']:.1f} s, applied {ok:.0f}, refused {no:.0f} "
        f"(answered in {p['answered_s']:.1f} s), drained {p['drain_after_load_s']:.1f} s after; bridge CPU "
        f"{p['bridge_cpu_s']:.1f} s; delivered " + ", ".join(f"{c} {v:.0f}" for c, v in p["delivered"].items()))
    return p


# ---------------------------------------------------------------------------------------------------- run

def run(sb: Sandbox, binary: str, n: int, seconds: float, log, rates=(0,)) -> dict:
    base = os.path.join(sb.devices_dir, f"clouds-{n}")
    os.makedirs(base, exist_ok=True)
    devices = Devices(sb)
    host = sb.pair.dev_addr4
    closers = []
    try:
        mq = make_broker(devices, WORKSPACE, base, host)
        watcher = Watcher(mq, topics=("hb/+",), client_id="bench-clouds-watcher", clean=True)
        closers.append(watcher.close)
        az = azure_fake.AzureBroker(devices, WORKSPACE, base, host, KEY, 3600, log_all=False)
        closers.append(az.close)
        twin = azure_fake.FakeAzureTwinService(az)
        closers.append(twin.close)
        aws = aws_fake.AwsBroker(devices, WORKSPACE, base, host, sb.pair.ctl_addr4, log_all=False)
        closers.append(aws.close)
        shadows = aws_fake.FakeAwsShadowService(aws)
        closers.append(shadows.close)
        key_file = os.path.join(base, "azure.key")
        with open(key_file, "w") as f:
            f.write(KEY + "\n")
        # AWS straight to its broker (the e2e tests go through a cut-able Python relay, which would be what is
        # measured here).
        aws_toml = aws_fake.mqtt_connector_toml(aws).replace(
            f'endpoint = "{aws.uplink.host}"\nport = {aws.uplink.port}', f'endpoint = "{aws.host}"\nport = {aws.port}')
        assert f"port = {aws.port}" in aws_toml
        connectors = connector_toml(mq, name="home", base="hb") + "\n" + \
            azure_fake.connector_toml(az, key_file) + "\n" + aws_toml
        ids = [f"light-{i:04d}" for i in range(n)]
        cfg = config_toml(os.path.join(base, "state"), interface=sb.pair.dev_if, name="hubbridge clouds bench",
                          api_listen=f"[{sb.pair.dev_addr6}]:{API_PORT}",
                          devices=[dict(id=i, kind="on_off_light", name=f"Light {k}") for k, i in enumerate(ids)],
                          extra=connectors,
                          api_extra=dict(rate_limit_per_second=1000000, rate_limit_burst=1000000))
        cfg += "\n[virtual]\ndrift = false\n"
        path = os.path.join(base, "hubbridge.toml")
        with open(path, "w") as f:
            f.write(cfg)
        dev = Device(f"hubbridge-clouds-{n}", [binary, "run", "--config", path], netns=sb.pair.dev,
                     log_dir=sb.log_dir, ready=r"hubbridge ready: API on", ready_timeout=120,
                     env={"RUST_LOG": "warn"}, cwd=base)
        devices.started.append(dev)
        t_exec = time.monotonic()
        dev.start()
        fig: dict = {"count": n, "seconds": seconds}
        fig["ready_s"] = dev.last_start_s
        bridge = Bridge(Api(sb.pair.dev_addr6, API_PORT))
        proc = {"ready": proc_snapshot(dev.pid)}

        # ------------------------------------------------------------------ 1. first full sync
        synced = {}
        twin_seen = {"patches": -1, "since": 0.0}

        def far_end(c: str) -> bool:
            """The cloud holds every device's state (Azure: its reconciliation is over — all sections, or the
            twin refused the rest as full and nothing moved for a second)."""
            if c == "home":
                with watcher.cond:
                    return len({m.topic for m in watcher.messages}) >= n
            if c == "aws":
                with shadows.cond:
                    return all(i in shadows.shadows for i in ids)
            with twin.cond:
                if all(i in twin.reported for i in ids):
                    return True
                now, k = time.monotonic(), len(twin.patches)
                if k != twin_seen["patches"]:
                    twin_seen.update(patches=k, since=now)
                return twin.oversize_refusals > 0 and now - twin_seen["since"] > 1.0

        def all_synced():
            ms = bridge.metrics()
            for c in CONNECTORS:
                if c not in synced and connected(ms, c) == 1 and depth(ms, c) == 0 and far_end(c):
                    synced[c] = time.monotonic() - t_exec
            return len(synced) == len(CONNECTORS) and ms

        ms0 = wait_until(all_synced, 600, "every connector connected with an empty outbox")
        fig["sync_s"] = synced
        # The twin service's reconciliation: which device sections fit in 32 KB (the rest is refused, as IoT Hub
        # refuses them).
        with twin.cond:
            fig["twin_sections_after_sync"] = sum(1 for i in ids if i in twin.reported)
            fig["twin_refusals_after_sync"] = twin.oversize_refusals
        fig["dead_after_sync"] = {c: dead(ms0, c) for c in CONNECTORS}
        proc["synced"] = proc_snapshot(dev.pid)
        log(f"N={n}: ready {fig['ready_s'] * 1e3:.0f} ms; synced " +
            ", ".join(f"{c} {s:.1f} s" for c, s in synced.items()) +
            f"; twin holds {fig['twin_sections_after_sync']} sections; RSS {proc['synced']['rss_kb'] / 1024:.1f} MiB")

        # ------------------------------------------------------------------ 2.+3. commands at each rate
        packets = {(i, on): publish_packet(f"hb/{d}/set", b'{"on":true}' if on else b'{"on":false}')
                   for i, d in enumerate(ids) for on in (False, True)}
        want = [False] * n  # on_off_light starts off; each command flips its device
        pub = RawPublisher(mq.host, mq.tcp_port, "bench-clouds-publisher", TESTER_USER, TESTER_PASSWORD)
        closers.append(pub.close)
        state = {"k": 0}

        def packets_for(count: int) -> bytes:
            chunk = []
            for _ in range(count):
                i = state["k"] % n
                want[i] = not want[i]
                chunk.append(packets[(i, want[i])])
                state["k"] += 1
            return b"".join(chunk)

        fig["phases"] = []
        for rate in rates:
            time.sleep(1)
            fig["phases"].append(phase(bridge, dev, pub, packets_for, rate, seconds, log, n))
        fig["refused_total"] = sum(p["refused"] for p in fig["phases"])
        proc["drained"] = proc_snapshot(dev.pid)
        proc["hwm_during_kb"] = max(p["rss_peak_kb"] for p in fig["phases"])
        fig["mosquitto_cpu_s"] = {name: proc_snapshot(b.device.pid)["cpu_s"] for name, b in
                                  (("home", mq), ("aws", aws), ("azure", az))}
        ms1 = bridge.metrics()
        fig["dead_letters"] = {c: dead(ms1, c) for c in CONNECTORS}

        # ------------------------------------------------------------------ 4. the far ends hold the last state
        time.sleep(1)  # the fakes' last answers
        _, body = bridge.api.call("GET", "/devices")
        registry = {d["id"]: bool(d["state"].get("on")) for d in body}
        last_mqtt: dict[str, bool] = {}
        with watcher.cond:
            for m in watcher.messages:
                d = m.topic.split("/", 1)[1]
                if d in registry:
                    last_mqtt[d] = bool(json.loads(m.payload).get("on"))
        with shadows.cond:
            aws_state = {i: bool((shadows.reported(i) or {}).get("on")) for i in ids}
        with twin.cond:
            twin_state = {i: bool(twin.reported[i].get("on")) for i in ids if isinstance(twin.reported.get(i), dict)}
            fig["twin_sections"] = len(twin_state)
            fig["twin_bytes"] = twin.max_reported_bytes
            fig["twin_refusals"] = twin.oversize_refusals
        fig["registry_matches_commands"] = sum(1 for k2, i in enumerate(ids) if registry.get(i) == want[k2])
        fig["mismatch"] = {
            "home": sum(1 for i in ids if last_mqtt.get(i) != registry.get(i)),
            "aws": sum(1 for i in ids if aws_state.get(i) != registry.get(i)),
            "azure": sum(1 for i, v in twin_state.items() if v != registry.get(i)),
        }
        fig["mqtt_messages"] = len(watcher.messages)
        log(f"N={n}: registry = last command for {fig['registry_matches_commands']} of {n}; far ends differing "
            f"from the registry: {fig['mismatch']} (twin holds {fig['twin_sections']} sections)")
        return dict(fig=fig, proc=proc)
    finally:
        for c in reversed(closers):
            try:
                c()
            except Exception:  # noqa: BLE001
                pass
        devices.stop_all()


# ----------------------------------------------------------------------------------------------- report

def _mib(kb) -> str:
    return f"{kb / 1024:.1f}" if kb else "–"


def render(meta: dict, r: dict) -> str:
    f, p = r["fig"], r["proc"]
    n = f["count"]
    lines = [
        "# hubbridge: registry throughput with every cloud connector on", "",
        f"Generated {meta['finished']} (UTC) by `{meta['command']}`; the method is in `bench/hbbench/clouds.py`.",
        "",
        "| | |", "|---|---|",
        f"| hubbridge | {meta['hubbridge']} (RUST_LOG=warn), {n} on/off lights (config devices), the Matter node up "
        "and not commissioned |",
        "| connectors | `home`: mqtt, mosquitto over TLS with a client certificate; `aws`: aws_iot over MQTT, "
        "mosquitto with mutual TLS and the FAKE Device Shadow service (Python, tests/e2e/hbe2e/aws_fake.py); "
        "`azure`: azure_iot, mosquitto with a SAS password and the FAKE twin service (Python, "
        "tests/e2e/hbe2e/azure_fake.py; refuses a PATCH that would take reported properties past 32 KB, as IoT "
        "Hub does). Durable outboxes (redb) on, default settings |",
        f"| load | a raw-socket MQTT publisher: OnOff commands on `hb/<id>/set` (QoS 0), devices round robin, "
        f"every command flips its device; {f['seconds']:.0f} s at each offered rate (\"max\": as fast as the "
        "publisher sends), then until every command is answered and every outbox is empty |",
        f"| brokers | {meta['mosquitto']}, one per cloud, all in the bridge's network namespace |",
        f"| machine | {meta['machine']} — bridge, three brokers, both fakes and the publisher share its cores |",
        f"| git | {meta['git']} |", "",
        "## Start and first sync", "",
        "| figure | value |", "|---|---|",
        f"| exec → \"hubbridge ready\" | {f['ready_s'] * 1e3:.0f} ms |",
    ]
    for c in CONNECTORS:
        lines.append(f"| exec → `{c}` connected and every device's state at the far end (outbox empty) | "
                     f"{f['sync_s'][c]:.1f} s |")
    lines += [
        f"| RSS ready / after the first sync | {_mib(p['ready']['rss_kb'])} / {_mib(p['synced']['rss_kb'])} MiB |",
        f"| twin sections that fit in 32 KB after the sync (of {n}) | {f['twin_sections_after_sync']} |",
        "", "## Commands at each offered rate", "",
        "| offered (/s) | sent | applied | refused | applied per second | answered after (s) | drained after the "
        "load (s) | bridge CPU per applied change (µs) | delivered home / aws / azure | RSS peak (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ph in f["phases"]:
        offered = f"{ph['rate']}" if ph["rate"] else f"max ({ph['sent'] / ph['send_s']:.0f})"
        per_s = ph["applied"] / ph["answered_s"] if ph["answered_s"] else 0
        d = ph["delivered"]
        lines.append(f"| {offered} | {ph['sent']} | {ph['applied']:.0f} | {ph['refused']:.0f} | {per_s:.0f} | "
                     f"{ph['answered_s']:.1f} | {ph['drain_after_load_s']:.1f} | "
                     f"{ph['bridge_cpu_s'] / max(ph['applied'], 1) * 1e6:.0f} | "
                     f"{d['home']:.0f} / {d['aws']:.0f} / {d['azure']:.0f} | {_mib(ph['rss_peak_kb'])} |")
    lines += [
        "", "## At the far ends, after the last phase", "",
        "| connector | dead letters | last state differs from the registry |", "|---|---|---|",
    ]
    for c in CONNECTORS:
        ends = f"{f['mismatch'][c]} of {f['twin_sections']} sections" if c == "azure" else \
            f"{f['mismatch'][c]} of {n}"
        lines.append(f"| {c} | {f['dead_letters'][c]:.0f} | {ends} |")
    matches = (f"The registry holds the last command of {f['registry_matches_commands']} of {n} devices."
               if not f["refused_total"] else
               "Some commands were refused, so the registry's state is compared with the clouds', not with the "
               "last command sent.")
    lines += [
        "",
        f"{matches} A connector's outbox keeps one state record per device (a newer state replaces one not yet "
        "sent), so a cloud slower than the registry receives fewer, later states and still ends at the last one: "
        "\"delivered\" below \"applied\" is that coalescing, not loss. A refused command is answered on "
        "`hb/bridge/response` with the reason and counted in `hubbridge_connector_commands_total{result=\"refused\"}`. "
        "CPU of the brokers over the whole run (s): " +
        ", ".join(f"{c} {v:.1f}" for c, v in f["mosquitto_cpu_s"].items()) + ".",
    ]
    if meta.get("errors"):
        lines += ["", "Failed:", ""] + [f"- {e}" for e in meta["errors"]]
    return "\n".join(lines) + "\n"




def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hbbench.clouds")
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=10, help="seconds of commands at each rate")
    ap.add_argument("--rates", default="2000,5000,10000,20000,0",
                    help="offered command rates per second, one phase each (0: as fast as the publisher sends)")
    ap.add_argument("--hubbridge-bin", default=os.path.join(WORKSPACE, "target", "release", "hubbridge"))
    ap.add_argument("--out", default=os.path.join(WORKSPACE, "bench", "clouds-5000.md"))
    ap.add_argument("--run-dir", default=None)
    ap.add_argument("--rerender", action="store_true", help="write the Markdown again from the JSON beside --out")
    a = ap.parse_args(argv)
    a.hubbridge_bin, a.out = os.path.abspath(a.hubbridge_bin), os.path.abspath(a.out)
    json_path = os.path.splitext(a.out)[0] + ".json"
    if a.rerender:
        with open(json_path) as f:
            run_ = json.load(f)
        with open(a.out, "w") as f:
            f.write(render(run_["meta"], run_["result"]))
        return 0
    signal.signal(signal.SIGTERM, interrupt)
    cmdline = "python -m hbbench.clouds " + " ".join(argv if argv is not None else sys.argv[1:])

    def log(msg: str) -> None:
        print(f"[hbbench clouds {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    cpu = cpu_model()
    meta = dict(command=cmdline,
                hubbridge=f"{cmd([a.hubbridge_bin, '--version'])} (`{os.path.relpath(a.hubbridge_bin, WORKSPACE)}`)",
                mosquitto=mosquitto_version(),
                machine=f"{cpu or platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}",
                git=git_state(), errors=[])
    sb = Sandbox.enter(WORKSPACE, a.run_dir)
    try:
        result = run(sb, a.hubbridge_bin, a.count, a.seconds, log, [int(x) for x in a.rates.split(",")])
        meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        with open(json_path, "w") as f:
            json.dump(dict(meta=meta, result=result), f, indent=1)
        with open(a.out, "w") as f:
            f.write(render(meta, result))
        log(f"wrote {a.out}")
        return 0
    finally:
        sb.leave()


if __name__ == "__main__":
    sys.exit(main())
