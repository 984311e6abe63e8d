"""A real mosquitto broker for the MQTT connector tests, and a paho client to watch and drive it.

The broker runs in the dev namespace (where hubbridge runs), bound to the veth address so both hubbridge
(dev side) and the test's client (ctl side) reach it; never on the host. Two listeners: plain TCP and TLS
with a required client certificate, both with password authentication. The TLS material is a test PKI
generated per test by certs/gen-test-pki.sh. Persistence is on (in the test's directory) so a client's
session and retained messages survive a broker restart, as they would in production.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from dataclasses import dataclass, field

BRIDGE_USER, BRIDGE_PASSWORD = "hubbridge", "bridge-secret-1"
TESTER_USER, TESTER_PASSWORD = "tester", "tester-secret-1"


def wait_on(cond: threading.Condition, check, timeout: float, failure) -> object:
    """Waits on `cond` (notified by an MQTT client thread) until `check()` returns something truthy, and
    returns it; after `timeout` s raises AssertionError(`failure()`). Holds `cond` while checking."""
    deadline = time.monotonic() + timeout
    with cond:
        while True:
            r = check()
            if r:
                return r
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(failure())
            cond.wait(min(left, 1.0))


def start_mosquitto(devices, name: str, conf_path: str, render, ports: int = 1, line_buffered: bool = False):
    """Starts mosquitto with the config `render(*ports)` on random ports, trying others when one is taken;
    returns (device, ports). `line_buffered`: its stdout log line by line (`log_dest stdout`)."""
    last = None
    for _ in range(5):
        chosen = random.sample(range(20000, 60000), ports)
        with open(conf_path, "w") as f:
            f.write(render(*chosen))
        argv = (["stdbuf", "-oL"] if line_buffered else []) + ["mosquitto", "-c", conf_path]
        dev = devices.create(name, argv, ready=r"mosquitto version \S+ running", ready_timeout=20)
        try:
            dev.start()
            return dev, chosen
        except Exception as e:  # a port already taken: try others
            last = e
            dev.kill()
            devices.started.remove(dev)
    raise RuntimeError(f"mosquitto did not start: {last}")


def sign_client_cert(pki: str, leaf: str, cn: str) -> None:
    """`<leaf>.key` and `<leaf>.pem` in `pki`: an X.509 v3 client certificate (rustls refuses v1) with CN `cn`,
    signed by the test CA of certs/gen-test-pki.sh."""
    p = lambda f: os.path.join(pki, f)  # noqa: E731
    with open(p(f"{leaf}.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n")
    for argv in (["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p(f"{leaf}.key")],
                 ["openssl", "req", "-new", "-key", p(f"{leaf}.key"), "-subj", f"/CN={cn}", "-out", p(f"{leaf}.csr")],
                 ["openssl", "x509", "-req", "-in", p(f"{leaf}.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                  "-CAcreateserial", "-days", "2", "-extfile", p(f"{leaf}.ext"), "-out", p(f"{leaf}.pem")]):
        subprocess.run(argv, check=True, capture_output=True)


@dataclass
class Broker:
    device: object  # hbe2e.device.Device
    host: str
    tcp_port: int
    tls_port: int
    pki: str
    dir: str

    @property
    def ca(self) -> str:
        return os.path.join(self.pki, "ca.pem")

    def file(self, name: str) -> str:
        return os.path.join(self.pki, name)

    def stop(self):
        self.device.stop()

    def start(self):
        self.device.start()


def make_broker(devices, workspace: str, base_dir: str, host: str, name: str = "mosquitto",
                extra_conf: str = "") -> Broker:
    """`extra_conf`: more global mosquitto settings (the Zigbee2MQTT bench adds `set_tcp_nodelay true`)."""
    d = os.path.join(base_dir, name)
    pki = os.path.join(d, "pki")
    os.makedirs(pki, exist_ok=True)
    subprocess.run([os.path.join(workspace, "certs", "gen-test-pki.sh"), pki, f"IP:{host}"], check=True,
                   capture_output=True)
    passwd = os.path.join(d, "passwd")
    open(passwd, "w").close()
    for user, pw in ((BRIDGE_USER, BRIDGE_PASSWORD), (TESTER_USER, TESTER_PASSWORD)):
        subprocess.run(["mosquitto_passwd", "-b", passwd, user, pw], check=True, capture_output=True)
    os.chmod(passwd, 0o644)
    os.chmod(d, 0o777)  # mosquitto started as root drops to its own user, and persists here

    def render(tcp: int, tls: int) -> str:
        return f"""# per-test broker (generated)
per_listener_settings false
allow_anonymous false
password_file {passwd}
persistence true
persistence_location {d}/
max_queued_messages 0
max_inflight_messages 0
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
{extra_conf}
listener {tcp} {host}
listener {tls} {host}
cafile {pki}/ca.pem
certfile {pki}/server.pem
keyfile {pki}/server.key
require_certificate true
"""

    dev, (tcp, tls) = start_mosquitto(devices, name, os.path.join(d, "mosquitto.conf"), render, ports=2)
    return Broker(device=dev, host=host, tcp_port=tcp, tls_port=tls, pki=pki, dir=d)


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool
    at: float = field(default_factory=time.monotonic)

    def json(self):
        return json.loads(self.payload)


class Watcher:
    """A paho client (persistent session, QoS 1) recording every message on `topics`."""

    def __init__(self, broker: Broker, topics=("#",), client_id: str | None = None, clean: bool = False):
        import paho.mqtt.client as mqtt

        self.messages: list[Message] = []
        self.cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"watcher-{os.getpid()}",
                                  clean_session=clean, protocol=mqtt.MQTTv311)
        self.client.username_pw_set(TESTER_USER, TESTER_PASSWORD)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.topics = topics
        self.connected = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect(broker.host, broker.tcp_port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(20):
            raise AssertionError("test MQTT client could not connect")

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        for t in self.topics:
            client.subscribe(t, qos=1)
        self.connected.set()

    def _on_message(self, client, userdata, msg):
        with self.cond:
            self.messages.append(Message(msg.topic, bytes(msg.payload), bool(msg.retain)))
            self.cond.notify_all()

    def mark(self) -> int:
        with self.cond:
            return len(self.messages)

    def on(self, topic: str, since: int = 0) -> list[Message]:
        with self.cond:
            return [m for m in self.messages[since:] if m.topic == topic]

    def wait_for(self, topic: str, predicate=lambda m: True, timeout: float = 30, since: int = 0) -> Message:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.messages[since:]:
                    if m.topic == topic:
                        try:
                            if predicate(m):
                                return m
                        except (ValueError, KeyError, TypeError):
                            pass
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m.topic, m.payload[:200]) for m in self.messages[since:] if m.topic == topic][-5:]
                    raise AssertionError(f"no matching message on {topic} within {timeout}s; last seen: {seen}")
                self.cond.wait(left)

    def wait_until(self, check, timeout: float = 60, what: str = "condition"):
        return wait_on(self.cond, lambda: check(self.messages), timeout,
                       lambda: f"{what} not reached within {timeout}s")

    def publish(self, topic: str, payload, qos: int = 1, retain: bool = False):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload)
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return info

    def close(self):
        self.client.loop_stop()
        try:
            self.client.disconnect()
        except Exception:
            pass


def connector_toml(broker: Broker, *, name: str = "home", tls: bool = True, base: str = "hb", password: str | None = None,
                   ca: str | None = None, client_cert: bool = True, protocol: str = "3.1.1",
                   backoff_max_ms: int = 1000, extra: str = "") -> str:
    """A [[connectors]] table for `broker` (keys as in bridge/hubbridge.example.toml)."""
    lines = ["[[connectors]]", 'type = "mqtt"', f'name = "{name}"', f'host = "{broker.host}"',
             f"port = {broker.tls_port if tls else broker.tcp_port}", f'protocol = "{protocol}"',
             f'username = "{BRIDGE_USER}"', f'password = "{password or BRIDGE_PASSWORD}"', f'base_topic = "{base}"',
             "keep_alive_secs = 10"]
    if not tls:
        lines += ["allow_insecure = true"]  # a password over plain TCP must be allowed explicitly
    lines += [extra] if extra else []
    lines += ["[connectors.retry]", "backoff_min_ms = 200", f"backoff_max_ms = {backoff_max_ms}"]
    if tls:
        lines += ["[connectors.tls]", f'ca_file = "{ca or broker.ca}"']
        if client_cert:
            lines += [f'client_cert_file = "{broker.file("client.pem")}"',
                      f'client_key_file = "{broker.file("client.key")}"']
    return "\n".join(lines) + "\n"
