"""Metrics and monitoring, end to end: the real hubbridge process, a real mosquitto (its connector and a
Zigbee2MQTT source on it), a real Prometheus scraping `GET /metrics` with a read-only token, Debian's
`promtool check metrics` on a scrape, the real Matter controller for the Matter figures, and certificates
with short and past validity (made here with `cryptography`) for the expiry warnings.

What a user would check: the scrape is valid Prometheus text; Prometheus sees devices, reachability and
registry changes move when a device changes, a connector and a source go to 0 when their broker goes
away (with the outbox filling) and back when it returns (with delivery latency and bytes counted); the
Matter controller's session, subscription and commands show up; every configured certificate's days left
are in health and metrics, and the log warns (error once expired). Logs: journald's format by default off
a terminal, JSON with `--log-format json`.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import re
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from hbe2e.api import Api, read_token
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml
from hbe2e.mosquitto import BRIDGE_PASSWORD, BRIDGE_USER, connector_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
OnOff = Clusters.OnOff.Attributes.OnOff
DEVICES = [
    dict(id="kitchen-light", kind="dimmable_light", name="Kitchen light", state=dict(on=False, brightness=100)),
    dict(id="hall-light", kind="on_off_light", name="Hall light"),
]


def make_cert(path: str, cn: str, not_before: datetime.datetime, not_after: datetime.datetime) -> str:
    """A self-signed CA certificate (PEM) valid from `not_before` to `not_after`; returns its path."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return path


def source_toml(broker) -> str:
    return "\n".join([
        "[[sources]]", 'type = "zigbee2mqtt"', 'name = "z"', f'host = "{broker.host}"', f"port = {broker.tls_port}",
        f'username = "{BRIDGE_USER}"', f'password = "{BRIDGE_PASSWORD}"', "keep_alive_secs = 5",
        "[sources.tls]", f'ca_file = "{broker.ca}"', f'client_cert_file = "{broker.file("client.pem")}"',
        f'client_key_file = "{broker.file("client.key")}"']) + "\n"


def bridge_config(sandbox, device_dir, broker, expired_ca: str) -> str:
    # "home" delivers to the broker; "spare" trusts an expired CA and never connects.
    extra = (connector_toml(broker) + connector_toml(broker, name="spare", base="spare", ca=expired_ca)
             + source_toml(broker))
    return config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge metrics",
                       api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=DEVICES,
                       api_extra=dict(read_only_tokens=["prometheus"]), extra=extra)


def scrape(api: Api, token: str) -> tuple[int, dict, str]:
    return api.raw("GET", api.root + "/metrics", headers={"authorization": f"Bearer {token}"})


def sample(text: str, name: str, **labels) -> float | None:
    """The value of the first sample of `name` whose labels include `labels`."""
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    return None


class Prometheus:
    """A real Prometheus on a free loopback port of the controller's namespace, its own storage in the test dir."""

    def __init__(self, devices, workdir: str, target: str, token_file: str):
        os.makedirs(workdir, exist_ok=True)
        conf = os.path.join(workdir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hubbridge
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: {token_file}
    static_configs:
      - targets: ['{target}']
""")
        last = None
        for _ in range(5):
            self.port = random.randint(20000, 60000)
            argv = ["prometheus", f"--config.file={conf}", f"--storage.tsdb.path={os.path.join(workdir, 'data')}",
                    f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"]
            self.device = devices.create("prometheus", argv, side="ctl", ready=None)
            self.device.start()
            deadline = time.monotonic() + 30
            while self.device.running and time.monotonic() < deadline:
                if self._get("/-/ready") is not None:
                    return
                time.sleep(0.25)
            last = self.device.tail()  # exited (the port was taken?) or never ready: try another port
            self.device.kill()
            devices.started.remove(self.device)
        raise RuntimeError(f"prometheus did not start: {last}")

    def _get(self, path: str):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.read().decode()
        except OSError:
            return None

    def query(self, q: str) -> list[dict]:
        body = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": q}))
        assert body is not None, f"prometheus did not answer {q}"
        doc = json.loads(body)
        assert doc["status"] == "success", doc
        return doc["data"]["result"]

    def value(self, q: str) -> float | None:
        r = self.query(q)
        return float(r[0]["value"][1]) if r else None

    @staticmethod
    def wait(check, timeout: float, what):
        """Polls `check` until true; `what` (a string, or a callable read at failure time) names it."""
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"{what() if callable(what) else what} not reached within {timeout}s"
            time.sleep(0.25)

    def wait_value(self, q: str, predicate, timeout: float = 30, what: str | None = None) -> float:
        seen = []

        def ok():
            v = self.value(q)
            seen.append(v)
            return v is not None and predicate(v)
        self.wait(ok, timeout, lambda: f"{what or q} (last: {seen[-1:]})")
        return seen[-1]


def test_prometheus_scrapes_the_bridge_and_sees_what_changes(hubbridge, mosquitto, sandbox, device_dir, devices,
                                                          controller, timings):
    broker = mosquitto()
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = make_cert(os.path.join(device_dir, "expired-ca.pem"), "expired test CA",
                        now - datetime.timedelta(days=400), now - datetime.timedelta(days=3))
    dev = hubbridge(bridge_config(sandbox, device_dir, broker, expired))
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    storage = os.path.join(device_dir, "state")
    ro_token = read_token(storage, "prometheus")
    assert ro_token, "the read-only token was not made"
    api.wait_connector("home", lambda c: c["connected"], 60, "connector home connected")

    # Journald's format by default when stderr is not a terminal: priority prefix, no colour, no timestamp.
    log = dev.log_text()
    assert re.search(r"^<6> ?INFO hubbridge::app: hubbridge running", log, re.M), log[-2000:]
    assert "\x1b[" not in log
    assert not re.search(r"^(<\d>)?\d{4}-\d\d-\d\dT", log, re.M)

    # Certificates: the expired CA is an error, the test PKI (2 days) a warning; health and metrics agree.
    dev.wait_for_log(r"<3> ?ERROR hubbridge::certs: certificate EXPIRED.*expired-ca\.pem")
    dev.wait_for_log(r"<4> ?WARN hubbridge::certs: certificate expires in [12] day\(s\).*ca\.pem")
    health = api.call("GET", "/health", expect=200)[1]
    certs = {c["path"]: c for c in health["certificates"]}
    assert certs[expired]["status"] == "expired" and certs[expired]["days_left"] == -3
    assert certs[expired]["subject"] == "CN=expired test CA"
    assert certs[expired]["used_by"] == ["connector spare: tls.ca_file"]
    ca = certs[broker.ca]
    assert ca["status"] == "expires_soon" and ca["days_left"] in (1, 2)
    assert ca["used_by"] == ["connector home: tls.ca_file", "source zigbee2mqtt:z: tls.ca_file"]
    assert ca["not_after"].endswith("Z")
    assert certs[broker.file("client.pem")]["status"] == "expires_soon"

    # A scrape: the token is needed (a read-only one will do), and promtool finds nothing wrong with it.
    assert scrape(api, "")[0] == 401
    status, headers, text = scrape(api, ro_token)
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert sample(text, "hubbridge_devices", source="config") == 2
    left = sample(text, "hubbridge_certificate_expiry_seconds", path=expired)
    assert left is not None and -4 * 86400 < left < -3 * 86400 + 60, left
    assert 0 < sample(text, "hubbridge_certificate_expiry_seconds", path=broker.ca) <= 2 * 86400
    assert sample(text, "hubbridge_connector_connected", connector="spare") == 0
    assert sample(text, "process_resident_memory_bytes") > 1e6
    assert sample(text, "process_open_fds") > 3

    # A real Prometheus scrapes it with the read-only token.
    token_file = os.path.join(device_dir, "prometheus-token")
    with open(token_file, "w") as f:
        f.write(ro_token)
    t0 = time.monotonic()
    prom = Prometheus(devices, os.path.join(device_dir, "prometheus"), f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                      token_file)
    prom.wait_value('up{job="hubbridge"}', lambda v: v == 1, 30, "target up")
    timings.add("metrics: prometheus start to first scrape", time.monotonic() - t0)
    prom.wait_value('hubbridge_connector_connected{connector="home"}', lambda v: v == 1)
    prom.wait_value('hubbridge_source_connected{source="zigbee2mqtt:z"}', lambda v: v == 1)

    # A device change: the API's commands, the source's confirmations and reachability move.
    commands = prom.value('hubbridge_registry_commands_total{origin="api"}') or 0
    changes = prom.value('hubbridge_registry_changes_total{origin="local"}') or 0
    api.set_state("kitchen-light", {"on": True, "brightness": 200})
    api.set_state("kitchen-light", {"brightness": 150})
    prom.wait_value('hubbridge_registry_commands_total{origin="api"}', lambda v: v == commands + 2)
    prom.wait_value('hubbridge_registry_changes_total{origin="local"}', lambda v: v >= changes + 2)
    api.set_reachable("hall-light", False)
    prom.wait_value('hubbridge_devices_reachable{source="config"}', lambda v: v == 1)
    api.set_reachable("hall-light", True)
    prom.wait_value('hubbridge_devices_reachable{source="config"}', lambda v: v == 2)

    # Matter: a controller's session, its subscription and its commands.
    node = controller.commission(dev.pairing_codes().manual)
    hall = api.device("hall-light")["endpoint"]
    sub = controller.subscribe(node, [(hall, OnOff)])
    controller.invoke(node, hall, Clusters.OnOff.Commands.Toggle())
    with pytest.raises(Exception):
        # A level out of range is refused (constraint error) and counted as such.
        kitchen = api.device("kitchen-light")["endpoint"]
        controller.invoke(node, kitchen, Clusters.LevelControl.Commands.MoveToLevel(
            level=255, transitionTime=0, optionsMask=0, optionsOverride=0))
    prom.wait_value('hubbridge_matter_fabrics{node="main"}', lambda v: v == 1)
    prom.wait_value('hubbridge_matter_sessions{node="main"}', lambda v: v >= 1)
    prom.wait_value('hubbridge_matter_subscriptions', lambda v: v >= 1)
    prom.wait_value('hubbridge_matter_invokes_total{node="main",result="success"}', lambda v: v >= 1)
    prom.wait_value('hubbridge_matter_invokes_total{node="main",result="constraint_error"}', lambda v: v >= 1)
    prom.wait_value('hubbridge_registry_commands_total{origin="matter"}', lambda v: v >= 1)
    prom.wait_value('hubbridge_matter_attribute_reports_total{node="main"}', lambda v: v >= 1)
    prom.wait_value('hubbridge_matter_im_messages_sent_total', lambda v: v >= 1)
    sub.close()

    # The broker goes away: the connector and the source say so, the outbox fills; then it comes back.
    broker.stop()
    prom.wait_value('hubbridge_connector_connected{connector="home"}', lambda v: v == 0)
    prom.wait_value('hubbridge_source_connected{source="zigbee2mqtt:z"}', lambda v: v == 0)
    for level in (10, 20, 30):
        api.set_state("kitchen-light", {"brightness": level})
    api.set_reachable("hall-light", False)  # an availability event: queued in order
    prom.wait_value('hubbridge_connector_outbox_depth{connector="home"}', lambda v: v >= 1)
    prom.wait_value('hubbridge_connector_outbox_oldest_age_seconds{connector="home"}', lambda v: v >= 1)
    sent_before = prom.value('hubbridge_connector_sent_bytes_total{connector="home"}') or 0
    delivered_before = prom.value('hubbridge_connector_delivery_latency_seconds_count{connector="home"}') or 0
    broker.start()
    prom.wait_value('hubbridge_connector_connected{connector="home"}', lambda v: v == 1, 60)
    prom.wait_value('hubbridge_connector_outbox_depth{connector="home"}', lambda v: v == 0, 60)
    prom.wait_value('hubbridge_source_connected{source="zigbee2mqtt:z"}', lambda v: v == 1, 60)
    prom.wait_value('hubbridge_connector_sent_bytes_total{connector="home"}', lambda v: v > sent_before)
    prom.wait_value('hubbridge_connector_delivery_latency_seconds_count{connector="home"}',
                    lambda v: v > delivered_before)
    # What waited through the outage was delivered a second or more after it was queued.
    prom.wait_value('hubbridge_connector_delivery_latency_seconds_count{connector="home"} - ignoring(le)'
                    ' hubbridge_connector_delivery_latency_seconds_bucket{connector="home",le="0.5"}',
                    lambda v: v >= 1, what="records delivered after more than 0.5 s")
    # Nothing was dropped or dead-lettered on the way.
    assert prom.value('sum(hubbridge_connector_outbox_drops_total{connector="home"})') == 0
    assert prom.value('hubbridge_connector_dead_letters{connector="home"}') == 0


def test_json_logs_for_log_shippers(hubbridge, sandbox, device_dir):
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = make_cert(os.path.join(device_dir, "old.pem"), "old API cert",
                        now - datetime.timedelta(days=30), now - datetime.timedelta(days=2, hours=1))
    # An expired certificate on a connector that is never reached (nothing listens on port 9).
    extra = "\n".join(["[[connectors]]", 'type = "mqtt"', 'name = "far"', 'host = "127.0.0.1"', "port = 9",
                       "[connectors.tls]", f'ca_file = "{expired}"']) + "\n"
    cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge json",
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=DEVICES[:1], extra=extra)
    dev = hubbridge(cfg, args=("--log-format", "json"))
    dev.wait_for_log(r'"message":"hubbridge running"')
    lines = [ln for ln in dev.log_text().splitlines() if ln.startswith("{")]
    records = [json.loads(ln) for ln in lines]  # every log line is one JSON object
    assert records and all({"timestamp", "level", "target", "fields"} <= r.keys() for r in records), lines[:5]
    # Nothing else on stderr looks like a text log line.
    assert not re.search(r"^\S*\s*(INFO|WARN|ERROR) hubbridge", dev.log_text(), re.M)
    running = next(r for r in records if r["fields"].get("message") == "hubbridge running")
    assert running["level"] == "INFO" and running["target"] == "hubbridge::app"
    assert running["fields"]["devices"] == 1
    cert = next(r for r in records if r["target"] == "hubbridge::certs")
    assert cert["level"] == "ERROR" and cert["fields"]["path"] == expired
    assert cert["fields"]["days_left"] == -2 and cert["fields"]["subject"] == "CN=old API cert"
    datetime.datetime.fromisoformat(running["timestamp"].replace("Z", "+00:00"))
