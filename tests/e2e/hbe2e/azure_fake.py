"""Azure IoT Hub, as far as the tests need it: a real mosquitto (TLS; a password file holding the Azure-style
username and the SAS token the TEST computed; or, for X.509 authentication, a required client certificate whose
CN is the device id, used as the identity, and an ACL that lets that identity use only its own device topics) and `FakeAzureTwinService`, a test-side FAKE of IoT Hub's twin,
direct-method and cloud-to-device service speaking the documented MQTT surface to the hub through that broker.

What the fake does (as the IoT Hub MQTT documentation describes it for devices):
- `$iothub/twin/GET/?$rid=R` -> `$iothub/twin/res/200/?$rid=R` with `{"desired": {...,"$version"}, "reported": {...}}`
- `$iothub/twin/PATCH/properties/reported/?$rid=R` -> merged (null deletes), `$iothub/twin/res/204/?$rid=R&$version=V`
- `set_desired(patch)` -> merged into desired, `$version` + 1, pushed on `$iothub/twin/PATCH/properties/desired/?$version=V`
  (lost when the hub is offline, exactly like the real service: the hub must GET the twin on reconnect)
- `invoke(method, payload)` -> `$iothub/methods/POST/<method>/?$rid=R`, waits for `$iothub/methods/res/<status>/?$rid=R`
- `c2d(body, props)` -> `devices/<id>/messages/devicebound/<props>`
- records telemetry from `devices/<id>/messages/events/<props>` with the decoded properties.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import signal
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid

from hbe2e.mosquitto import sign_client_cert, start_mosquitto, wait_on

HUB = "test-hub.azure-devices.net"
DEVICE_ID = "hub-1"
API_VERSION = "2021-04-12"
FAKE_USER, FAKE_PASSWORD = "azure-service-fake", "fake-secret-1"


def username(hub: str = HUB, device_id: str = DEVICE_ID) -> str:
    return f"{hub}/{device_id}/?api-version={API_VERSION}"


def sas_token(key_b64: str, resource: str, expiry: int) -> str:
    """The SAS token, computed independently of the Rust code (the documented algorithm)."""
    sr = urllib.parse.quote(resource, safe="")
    sig = hmac.new(base64.b64decode(key_b64), f"{sr}\n{expiry}".encode(), hashlib.sha256).digest()
    return f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(base64.b64encode(sig).decode(), safe='')}&se={expiry}"


def grid_expiry(now: float, ttl: int) -> int:
    """The expiry hubbridge uses: the multiple of `ttl` in (now + ttl/2, now + 3 ttl/2] (README, Azure IoT Hub);
    it renews half a `ttl` before that."""
    return ((int(now) + ttl // 2) // ttl + 1) * ttl


class AzureBroker:
    """mosquitto in the dev namespace with one TLS listener and password authentication. A keeper thread
    keeps the hub's entry in the password file equal to the token the hub should be using now (and reloads
    mosquitto when it changes, which also disconnects a client still using the old one). It switches a moment
    AFTER the hub's renewal time, so a hub that renews on time briefly sees its new token refused and retries;
    a hub that does not renew is disconnected by the broker."""

    LAG = 0.3

    def __init__(self, devices, workspace: str, base_dir: str, host: str, key_b64: str | None, ttl: int,
                 name: str = "mosquitto-azure", x509: bool = False, log_all: bool = True):
        """`log_all=False`: errors, warnings, notices and information (start, connections) but not
        every PUBLISH (for the cloud bench: logging each one costs the broker)."""
        self.host, self.key, self.ttl, self.x509 = host, key_b64, ttl, x509
        self.dir = os.path.join(base_dir, name)
        self.pki = os.path.join(self.dir, "pki")
        os.makedirs(self.pki, exist_ok=True)
        subprocess.run([os.path.join(workspace, "certs", "gen-test-pki.sh"), self.pki, f"IP:{host}"], check=True,
                       capture_output=True)
        self.passwd = os.path.join(self.dir, "passwd")
        self._passwd_lock = threading.Lock()
        self.installed_expiry: int | None = None
        self.hub_allowed = True
        self.installs: list[int] = []
        if x509:
            # The device's certificate (CN = device id, as IoT Hub's X.509 CA authentication wants) and the
            # fake service's, both signed by the test CA.
            for leaf, cn in (("device", DEVICE_ID), ("fake", FAKE_USER)):
                sign_client_cert(self.pki, leaf, cn)
            acl = os.path.join(self.dir, "acl")
            with open(acl, "w") as f:
                f.write(f"user {DEVICE_ID}\ntopic readwrite devices/{DEVICE_ID}/#\ntopic readwrite $iothub/#\n\n"
                        f"user {FAKE_USER}\ntopic readwrite #\ntopic readwrite $iothub/#\n")
            auth = f"require_certificate true\nuse_identity_as_username true\nacl_file {acl}\n"
        else:
            self._write_passwd()
            auth = f"password_file {self.passwd}\nrequire_certificate false\n"

        log_types = "log_type all" if log_all else "log_type error\nlog_type warning\nlog_type notice\nlog_type information"

        def render(port: int) -> str:
            return f"""# Azure IoT Hub stand-in broker (generated)
per_listener_settings false
allow_anonymous false
persistence false
log_dest stdout
{log_types}
connection_messages true
listener {port} {host}
cafile {self.pki}/ca.pem
certfile {self.pki}/server.pem
keyfile {self.pki}/server.key
{auth}"""

        self.device, (self.port,) = start_mosquitto(devices, name, os.path.join(self.dir, "mosquitto.conf"), render,
                                                    line_buffered=True)
        self._stop = threading.Event()
        self._keeper = threading.Thread(target=self._keep, daemon=True)
        if not x509:
            self._keeper.start()

    @property
    def ca(self) -> str:
        return os.path.join(self.pki, "ca.pem")

    def _write_passwd(self, force: bool = False):
        # The keeper thread and start() both write the file: one at a time, or one of them replaces the
        # other's temp file (FileNotFoundError) or installs a stale user list (the hub then cannot connect).
        with self._passwd_lock:
            return self._write_passwd_locked(force)

    def _write_passwd_locked(self, force: bool):
        se = grid_expiry(time.time() - self.LAG, self.ttl) if self.hub_allowed else None
        if se == self.installed_expiry and not force:
            return False
        users = [(FAKE_USER, FAKE_PASSWORD)]
        if se is not None:
            users.append((username(), sas_token(self.key, f"{HUB}/devices/{DEVICE_ID}", se)))
        tmp = self.passwd + ".new"
        open(tmp, "w").close()
        for user, pw in users:
            subprocess.run(["mosquitto_passwd", "-b", tmp, user, pw], check=True, capture_output=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.passwd)
        self.installed_expiry = se
        if se is not None:
            self.installs.append(se)
        return True

    def _keep(self):
        while not self._stop.wait(0.2):
            if self._write_passwd() and self.device.running:
                self.device.proc.send_signal(signal.SIGHUP)

    def stop(self):
        self.device.stop()

    def start(self, fake: "FakeAzureTwinService | None" = None):
        """Starts the broker again. With `fake`, the hub is let in only once the fake service has subscribed
        again (the real service never misses a message; this stand-in would, while it reconnects)."""
        if fake is None:
            self.device.start()
            return
        self.hub_allowed = False
        self._write_passwd(force=True)
        subscribed = fake.subscriptions
        self.device.start()
        fake.wait(lambda: fake.subscriptions >= subscribed + 4, what="fake service subscribed again")
        self.hub_allowed = True
        self._write_passwd(force=True)
        self.device.proc.send_signal(signal.SIGHUP)

    def file(self, name: str) -> str:
        return os.path.join(self.pki, name)

    def close(self):
        self._stop.set()
        if self._keeper.is_alive():
            self._keeper.join(5)


class FakeAzureTwinService:
    """The FAKE IoT Hub service side (twin, methods, cloud-to-device, telemetry) for device `DEVICE_ID`."""

    def __init__(self, broker: AzureBroker, reported_status: int = 204):
        import paho.mqtt.client as mqtt

        self.cond = threading.Condition()
        self.desired: dict = {}
        self.desired_version = 1
        self.reported: dict = {}
        self.reported_version = 1
        self.reported_status = reported_status
        self.gets = 0
        self.oversize_refusals = 0
        self.max_reported_bytes = 0
        self.max_patch_bytes = 0
        self.patches: list[dict] = []
        self.telemetry: list[tuple[dict, dict]] = []
        self.method_results: dict[str, tuple[int, dict]] = {}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="azure-service-fake",
                                  clean_session=True, protocol=mqtt.MQTTv311)
        if broker.x509:
            self.client.tls_set(ca_certs=broker.ca, certfile=broker.file("fake.pem"), keyfile=broker.file("fake.key"),
                                cert_reqs=ssl.CERT_REQUIRED)
        else:
            self.client.username_pw_set(FAKE_USER, FAKE_PASSWORD)
            self.client.tls_set(ca_certs=broker.ca, cert_reqs=ssl.CERT_REQUIRED)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.subscriptions = 0
        self.connected = threading.Event()
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(20):
            raise AssertionError("the Azure service fake could not connect to the broker")

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        for t in ("$iothub/twin/GET/#", "$iothub/twin/PATCH/properties/reported/#", "$iothub/methods/res/#",
                  f"devices/{DEVICE_ID}/messages/events/#"):
            client.subscribe(t, qos=1)
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        with self.cond:
            self.subscriptions += 1
            self.cond.notify_all()

    @staticmethod
    def _query(topic: str) -> dict:
        return dict(urllib.parse.parse_qsl(topic.split("?", 1)[1])) if "?" in topic else {}

    def _on_message(self, client, userdata, msg):
        topic = msg.topic
        with self.cond:
            if topic.startswith("$iothub/twin/GET/"):
                rid = self._query(topic)["$rid"]
                self.gets += 1
                doc = {"desired": dict(self.desired, **{"$version": self.desired_version}),
                       "reported": dict(self.reported, **{"$version": self.reported_version})}
                client.publish(f"$iothub/twin/res/200/?$rid={rid}", json.dumps(doc), qos=1)
            elif topic.startswith("$iothub/twin/PATCH/properties/reported/"):
                rid = self._query(topic)["$rid"]
                patch = json.loads(msg.payload)
                self.patches.append(patch)
                candidate = copy.deepcopy(self.reported)
                _merge(candidate, patch)
                size = twin_bytes(candidate)
                if self.reported_status == 204 and size > MAX_REPORTED_BYTES:
                    # As IoT Hub: an update that would take reported properties past 32 KB is refused.
                    self.oversize_refusals += 1
                    client.publish(f"$iothub/twin/res/400/?$rid={rid}",
                                   json.dumps({"message": f"reported properties would be {size} bytes, over the "
                                                          f"{MAX_REPORTED_BYTES}-byte twin limit"}), qos=1)
                elif self.reported_status == 204:
                    self.reported = candidate
                    self.max_reported_bytes = max(self.max_reported_bytes, size)
                    self.max_patch_bytes = max(self.max_patch_bytes, len(msg.payload))
                    self.reported_version += 1
                    client.publish(f"$iothub/twin/res/204/?$rid={rid}&$version={self.reported_version}", b"", qos=1)
                else:
                    client.publish(f"$iothub/twin/res/{self.reported_status}/?$rid={rid}",
                                   json.dumps({"message": "rejected by the fake"}), qos=1)
            elif topic.startswith("$iothub/methods/res/"):
                status = int(topic.split("/")[3])
                rid = self._query(topic)["$rid"]
                self.method_results[rid] = (status, json.loads(msg.payload or b"null"))
            elif topic.startswith(f"devices/{DEVICE_ID}/messages/events/"):
                bag = topic[len(f"devices/{DEVICE_ID}/messages/events/"):]
                self.telemetry.append((dict(urllib.parse.parse_qsl(bag)), json.loads(msg.payload)))
            self.cond.notify_all()

    # ---------------------------------------------------------------------------------------------- test API
    def wait(self, check, timeout: float = 60, what: str = "condition"):
        return wait_on(self.cond, check, timeout,
                       lambda: f"{what} not reached within {timeout}s (reported={self.reported}, "
                               f"gets={self.gets}, telemetry={self.telemetry[-3:]})")

    def set_desired(self, patch: dict, push: bool = True):
        """Changes desired properties as a cloud app would; pushed to the hub if `push` (and it is online)."""
        with self.cond:
            _merge(self.desired, patch)
            self.desired_version += 1
            body = dict(patch, **{"$version": self.desired_version})
        if push:
            self.client.publish(f"$iothub/twin/PATCH/properties/desired/?$version={self.desired_version}",
                                json.dumps(body), qos=1).wait_for_publish(10)

    def invoke(self, method: str, payload, timeout: float = 30) -> tuple[int, dict]:
        rid = uuid.uuid4().hex[:12]
        self.client.publish(f"$iothub/methods/POST/{method}/?$rid={rid}",
                            payload if isinstance(payload, (bytes, str)) else json.dumps(payload), qos=1)
        return self.wait(lambda: self.method_results.get(rid), timeout, what=f"answer to method {method}")

    def c2d(self, body: dict, props: dict | None = None):
        bag = urllib.parse.urlencode(props or {})
        self.client.publish(f"devices/{DEVICE_ID}/messages/devicebound/{bag}", json.dumps(body), qos=1)

    def close(self):
        self.client.loop_stop()
        try:
            self.client.disconnect()
        except Exception:
            pass


# IoT Hub quotas: a device twin's reported properties are at most 32 KB. The hub counts the JSON text without
# whitespace outside strings; compact JSON is that.
MAX_REPORTED_BYTES = 32 * 1024


def twin_bytes(doc: dict) -> int:
    return len(json.dumps(doc, separators=(",", ":")).encode())


def _merge(doc: dict, patch: dict):
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            doc.pop(k, None)
        elif isinstance(v, dict) and isinstance(doc.get(k), dict):
            _merge(doc[k], v)
        else:
            doc[k] = v


def connector_toml(broker: AzureBroker, key_file: str | None, *, name: str = "azure", ttl: int = 3600,
                   backoff_max_ms: int = 1000) -> str:
    """A [[connectors]] table of type azure_iot for `broker` (keys as in bridge/hubbridge.example.toml): SAS from
    `key_file`, or the broker's device certificate when `key_file` is None."""
    auth = [f'device_key_file = "{key_file}"', f"sas_token_ttl_secs = {ttl}"] if key_file else [
        f'client_cert_file = "{broker.file("device.pem")}"', f'client_key_file = "{broker.file("device.key")}"']
    return "\n".join([
        "[[connectors]]", 'type = "azure_iot"', f'name = "{name}"', f'hub_hostname = "{HUB}"',
        f'device_id = "{DEVICE_ID}"', f'host = "{broker.host}"', f"port = {broker.port}", f'ca_file = "{broker.ca}"',
        *auth, "keep_alive_secs = 10",
        "[connectors.retry]", "backoff_min_ms = 200", f"backoff_max_ms = {backoff_max_ms}",
    ]) + "\n"
