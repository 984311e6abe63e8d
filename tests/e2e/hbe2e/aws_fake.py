"""AWS IoT, as far as the tests need it.

- `AwsBroker`: a real mosquitto with mutual TLS (`require_certificate true`, `use_identity_as_username true`),
  as AWS IoT Core authenticates things by X.509 certificate. hubbridge reaches it through an `Uplink` relay
  (hbe2e.outage) so a test can cut the hub's link while the cloud side stays up.
- `FakeAwsShadowService`: a test-side FAKE of the AWS IoT Device Shadow service for NAMED shadows, speaking the
  documented MQTT topics through that broker: `update` -> `update/accepted` (with the clientToken, new version,
  per-field metadata timestamps) or `update/rejected` (409 "Version conflict" when the request's version is not
  the current one; a code the test chose), `update/delta` after EVERY update that leaves desired != reported (as
  AWS documents; with metadata timestamps), `desired: {field: null}` clears the field, `get` -> `get/accepted` / `get/rejected` (404), `delete`.
- `Moto`: moto_server (PyPI `moto[server]`), the AWS API emulator for the HTTPS data plane, on 127.0.0.1 inside
  the dev namespace (or on the dev namespace's veth address, reachable from the test process too); `call` runs
  boto3 against it from the dev namespace.
- `MotoBackedShadowFake`: the FAKE MQTT shadow service whose shadows live in moto, so that the hub's MQTT updates
  and its HTTPS `GetThingShadow` reads see one store, as on AWS IoT (for `shadow_reads = "https"`).
"""

from __future__ import annotations

import json
import os
import random
import ssl
import subprocess
import sys
import threading
import time

from hbe2e.mosquitto import sign_client_cert, start_mosquitto, wait_on

THING = "living-room-hub"
EVENTS = "hubbridge/living-room-hub/events"


class AwsBroker:
    def __init__(self, devices, workspace: str, base_dir: str, host: str, relay_host: str, name: str = "mosquitto-aws",
                 log_all: bool = True):
        """`log_all=False`: errors, warnings, notices and information (start, connections) but not
        every PUBLISH (for the cloud bench: logging each one costs the broker)."""
        from hbe2e.outage import Uplink

        self.host = host
        self.dir = os.path.join(base_dir, name)
        self.pki = os.path.join(self.dir, "pki")
        os.makedirs(self.pki, exist_ok=True)
        subprocess.run([os.path.join(workspace, "certs", "gen-test-pki.sh"), self.pki, f"IP:{host}", f"IP:{relay_host}"],
                       check=True, capture_output=True)
        # The fake service's own certificate (CN = its username), signed by the test CA.
        p = lambda f: os.path.join(self.pki, f)  # noqa: E731
        sign_client_cert(self.pki, "fake", "aws-shadow-fake")

        log_types = "log_type all" if log_all else "log_type error\nlog_type warning\nlog_type notice\nlog_type information"

        def render(port: int) -> str:
            return f"""# AWS IoT Core stand-in broker (generated)
per_listener_settings false
allow_anonymous false
persistence false
log_dest stdout
{log_types}
connection_messages true
listener {port} {host}
cafile {p("ca.pem")}
certfile {p("server.pem")}
keyfile {p("server.key")}
require_certificate true
use_identity_as_username true
"""

        self.device, (self.port,) = start_mosquitto(devices, name, os.path.join(self.dir, "mosquitto.conf"), render,
                                                    line_buffered=True)
        self.uplink = Uplink(relay_host, (host, self.port))

    def file(self, name: str) -> str:
        return os.path.join(self.pki, name)

    def close(self):
        self.uplink.close()


class FakeAwsShadowService:
    """The FAKE Device Shadow service (named shadows of `THING`) plus a recorder of the events topic."""

    def __init__(self, broker: AwsBroker, thing: str = THING):
        import paho.mqtt.client as mqtt

        self.thing = thing
        self.cond = threading.Condition()
        self.shadows: dict[str, dict] = {}  # name -> {"desired","reported","meta_desired","meta_reported","version"}
        self.reject_next: dict[str, tuple[int, str]] = {}
        self.updates: list[tuple[str, dict]] = []
        self.rejections: list[tuple[str, int]] = []
        self.gets: list[str] = []
        self.ops: list[tuple[str, str]] = []  # (shadow, op) in arrival order, hub requests only
        self.events: list[dict] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="aws-shadow-fake", clean_session=True,
                                  protocol=mqtt.MQTTv311)
        self.client.tls_set(ca_certs=broker.file("ca.pem"), certfile=broker.file("fake.pem"),
                            keyfile=broker.file("fake.key"), cert_reqs=ssl.CERT_REQUIRED)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.connected = threading.Event()
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(20):
            raise AssertionError("the AWS shadow fake could not connect")

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        base = f"$aws/things/{self.thing}/shadow/name/+/"
        for op in ("update", "get", "delete"):
            client.subscribe(base + op, qos=1)
        client.subscribe(EVENTS, qos=1)
        self.connected.set()

    def _topic(self, name: str, op: str) -> str:
        return f"$aws/things/{self.thing}/shadow/name/{name}/{op}"

    def _pub(self, topic: str, doc: dict):
        self.client.publish(topic, json.dumps(doc), qos=1)

    def _on_message(self, client, userdata, msg):
        with self.cond:
            if msg.topic == EVENTS:
                self.events.append(json.loads(msg.payload))
            else:
                parts = msg.topic.split("/")
                name, op = parts[5], parts[6]
                body = json.loads(msg.payload) if msg.payload else {}
                token = body.get("clientToken")
                self.ops.append((name, op))
                if op == "update":
                    self._update(name, body, token, from_hub=True)
                elif op == "get":
                    self.gets.append(name)
                    sh = self.shadows.get(name)
                    if sh is None:
                        self._pub(self._topic(name, "get/rejected"),
                                  {"code": 404, "message": f"No shadow exists with name: '{name}'", "clientToken": token})
                    else:
                        self._pub(self._topic(name, "get/accepted"), dict(self._document(sh), clientToken=token))
                elif op == "delete":
                    self.shadows.pop(name, None)
                    self._pub(self._topic(name, "delete/accepted"), {"version": 0, "timestamp": int(time.time())})
            self.cond.notify_all()

    def _document(self, sh: dict) -> dict:
        delta = {k: v for k, v in sh["desired"].items() if sh["reported"].get(k) != v}
        state = {"desired": sh["desired"], "reported": sh["reported"]}
        if delta:
            state["delta"] = delta
        return {"state": state, "metadata": {"desired": sh["meta_desired"], "reported": sh["meta_reported"]},
                "version": sh["version"], "timestamp": int(time.time())}

    def _update(self, name: str, body: dict, token, from_hub: bool):
        """Applies an update as the service does (caller holds the lock)."""
        if from_hub and name in self.reject_next:
            code, message = self.reject_next.pop(name)
            self.rejections.append((name, code))
            self._pub(self._topic(name, "update/rejected"), {"code": code, "message": message, "clientToken": token})
            return
        sh = self.shadows.get(name)
        if from_hub and "version" in body and (sh is None or body["version"] != sh["version"]):
            self.rejections.append((name, 409))
            self._pub(self._topic(name, "update/rejected"),
                      {"code": 409, "message": "Version conflict", "clientToken": token})
            return
        if sh is None:
            sh = self.shadows[name] = {"desired": {}, "reported": {}, "meta_desired": {}, "meta_reported": {},
                                       "version": 0}
        now = int(time.time())
        state = body.get("state", {})
        meta = {}
        for part in ("desired", "reported"):
            for k, v in (state.get(part) or {}).items():
                if v is None:
                    sh[part].pop(k, None)
                    sh["meta_" + part].pop(k, None)
                else:
                    sh[part][k] = v
                    sh["meta_" + part][k] = {"timestamp": now}
                meta.setdefault(part, {})[k] = {"timestamp": now}
        sh["version"] += 1
        if from_hub:
            self.updates.append((name, body))
            self._pub(self._topic(name, "update/accepted"),
                      {"state": state, "metadata": meta, "version": sh["version"], "timestamp": now,
                       "clientToken": token})
        delta = {k: v for k, v in sh["desired"].items() if sh["reported"].get(k) != v}
        # As AWS does: a delta after EVERY update that leaves desired != reported.
        if delta:
            self._pub(self._topic(name, "update/delta"),
                      {"version": sh["version"], "timestamp": now, "state": delta,
                       "metadata": {k: sh["meta_desired"][k] for k in delta}})

    # ---------------------------------------------------------------------------------------------- test API
    def set_desired(self, name: str, desired: dict):
        """A cloud application updates the shadow's desired state (a delta goes out if the hub is connected)."""
        with self.cond:
            self._update(name, {"state": {"desired": desired}}, None, from_hub=False)

    def bump(self, name: str):
        """Another writer changes the shadow (its version moves on) without the hub hearing of it."""
        with self.cond:
            self.shadows[name]["version"] += 1

    def reconciled(self, name: str) -> bool:
        """The hub read this shadow and wrote it back since (its reconciliation after a connect is done)."""
        ops = [op for n, op in self.ops if n == name]
        return "get" in ops and "update" in ops[len(ops) - 1 - ops[::-1].index("get"):] and \
            self._answered(name)

    def _answered(self, name: str) -> bool:
        sh = self.shadows.get(name)
        return sh is not None and sum(1 for n, op in self.ops if n == name and op == "update") <= sh["version"] + \
            sum(1 for n, c in self.rejections if n == name)

    def reported(self, name: str) -> dict | None:
        sh = self.shadows.get(name)
        return dict(sh["reported"]) if sh else None

    def desired(self, name: str) -> dict | None:
        sh = self.shadows.get(name)
        return dict(sh["desired"]) if sh else None

    def wait(self, check, timeout: float = 60, what: str = "condition"):
        return wait_on(self.cond, check, timeout,
                       lambda: f"{what} not reached within {timeout}s (shadows={self.shadows})")

    def close(self):
        self.client.loop_stop()
        try:
            self.client.disconnect()
        except Exception:
            pass


def mqtt_connector_toml(broker: AwsBroker, *, name: str = "aws", backoff_max_ms: int = 1000,
                        reads_from: "Moto | None" = None) -> str:
    """A [[connectors]] table of type aws_iot, transport mqtt, through the broker's uplink relay; with `reads_from`,
    shadows are read with GetThingShadow from that moto (`shadow_reads = "https"`)."""
    reads = [] if reads_from is None else [
        'shadow_reads = "https"', f'data_endpoint = "{reads_from.url}"', 'region = "eu-west-1"']
    return "\n".join([
        "[[connectors]]", 'type = "aws_iot"', f'name = "{name}"', f'thing_name = "{THING}"', 'transport = "mqtt"',
        f'endpoint = "{broker.uplink.host}"', f"port = {broker.uplink.port}", f'ca_file = "{broker.file("ca.pem")}"',
        f'client_cert_file = "{broker.file("client.pem")}"', f'client_key_file = "{broker.file("client.key")}"',
        f'events_topic = "{EVENTS}"', "keep_alive_secs = 30", *reads,
        "[connectors.retry]", "backoff_min_ms = 200", f"backoff_max_ms = {backoff_max_ms}",
    ]) + "\n"


# ---------------------------------------------------------------------------------------------------- moto

class Moto:
    """moto_server on 127.0.0.1 in the dev namespace (where hubbridge runs); the thing is registered first."""

    def __init__(self, devices, sandbox, venv_python: str, host: str = "127.0.0.1"):
        self.sandbox = sandbox
        self.python = venv_python
        moto = os.path.join(os.path.dirname(venv_python), "moto_server")
        last = None
        for _ in range(5):
            self.port = random.randint(20000, 60000)
            self.device = devices.create("moto", [moto, "-H", host, "-p", str(self.port)],
                                         ready=r"Running on", ready_timeout=60)
            try:
                self.device.start()
                break
            except Exception as e:
                last = e
                devices.started.remove(self.device)
        else:
            raise RuntimeError(f"moto_server did not start: {last}")
        self.url = f"http://{host}:{self.port}"
        self.call("iot", "create_thing", thingName=THING)

    def call(self, service: str, op: str, **kw):
        """Runs one boto3 call against moto from inside the dev namespace; returns the JSON-able result."""
        script = (
            "import boto3, json, sys\n"
            f"c = boto3.client({service!r}, region_name='eu-west-1', endpoint_url={self.url!r},"
            " aws_access_key_id='testing', aws_secret_access_key='testing')\n"
            f"r = getattr(c, {op!r})(**json.loads(sys.argv[1]))\n"
            "p = r.get('payload')\n"
            "if p is not None: r['payload'] = json.loads(p.read())\n"
            "r.pop('ResponseMetadata', None)\n"
            "print(json.dumps(r, default=str))\n")
        kw = {k: (json.dumps(v) if k == "payload" else v) for k, v in kw.items()}
        out = subprocess.run(["ip", "netns", "exec", self.sandbox.pair.dev, self.python, "-c", script, json.dumps(kw)],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"boto3 {service}.{op} failed: {out.stderr[-800:]}")
        return json.loads(out.stdout)

    def shadow(self, name: str) -> dict | None:
        try:
            return self.call("iot-data", "get_thing_shadow", thingName=THING, shadowName=name)["payload"]
        except RuntimeError as e:
            if "ResourceNotFound" in str(e):
                return None
            raise

    def https_connector_toml(self, *, name: str = "aws-https", poll: int = 1) -> str:
        return "\n".join([
            "[[connectors]]", 'type = "aws_iot"', f'name = "{name}"', f'thing_name = "{THING}"', 'transport = "https"',
            f'data_endpoint = "{self.url}"', 'region = "eu-west-1"', f"poll_interval_secs = {poll}",
            f'events_topic = "{EVENTS}"',
            "[connectors.retry]", "backoff_min_ms = 200", "backoff_max_ms = 1000",
        ]) + "\n"


def venv_python() -> str:
    return sys.executable


class MotoBackedShadowFake(FakeAwsShadowService):
    """The FAKE MQTT shadow service with moto as its store: the hub's `update` requests over MQTT are applied to
    moto's shadows (UpdateThingShadow, with moto's version check), answered on `update/accepted|rejected`, and
    `get` over MQTT is recorded and answered from moto too. Needs moto on an address this process reaches."""

    def __init__(self, broker: AwsBroker, moto: "Moto", thing: str = THING):
        import boto3

        self.iot = boto3.client("iot-data", region_name="eu-west-1", endpoint_url=moto.url,
                                aws_access_key_id="testing", aws_secret_access_key="testing")
        super().__init__(broker, thing)

    def _on_message(self, client, userdata, msg):
        if msg.topic == EVENTS:
            return super()._on_message(client, userdata, msg)
        parts = msg.topic.split("/")
        name, op = parts[5], parts[6]
        body = json.loads(msg.payload) if msg.payload else {}
        token = body.get("clientToken")
        with self.cond:
            self.ops.append((name, op))
            if op == "get":
                self.gets.append(name)
                doc = self.store_get(name)
                if doc is None:
                    self._pub(self._topic(name, "get/rejected"), {"code": 404, "message": "No shadow", "clientToken": token})
                else:
                    self._pub(self._topic(name, "get/accepted"), dict(doc, clientToken=token))
            elif op == "update":
                self.updates.append((name, body))
                try:
                    r = self.iot.update_thing_shadow(thingName=self.thing, shadowName=name,
                                                     payload=json.dumps({k: v for k, v in body.items()
                                                                         if k != "clientToken"}))
                    doc = json.loads(r["payload"].read())
                    self._pub(self._topic(name, "update/accepted"), dict(doc, clientToken=token))
                except self.iot.exceptions.ConflictException:
                    self.rejections.append((name, 409))
                    self._pub(self._topic(name, "update/rejected"),
                              {"code": 409, "message": "Version conflict", "clientToken": token})
            self.cond.notify_all()

    def store_get(self, name: str) -> dict | None:
        try:
            return json.loads(self.iot.get_thing_shadow(thingName=self.thing, shadowName=name)["payload"].read())
        except self.iot.exceptions.ResourceNotFoundException:
            return None

    def set_desired(self, name: str, desired: dict):
        """A cloud application writes desired state through the data plane (no delta goes out: moto has no MQTT)."""
        self.iot.update_thing_shadow(thingName=self.thing, shadowName=name,
                                     payload=json.dumps({"state": {"desired": desired}}))

    def reported(self, name: str) -> dict | None:
        doc = self.store_get(name)
        return None if doc is None else doc.get("state", {}).get("reported")

    def desired(self, name: str) -> dict | None:
        doc = self.store_get(name)
        return None if doc is None else doc.get("state", {}).get("desired")
