"""The Azure IoT Hub connector, end to end: the real hubbridge process, a real mosquitto over TLS whose password
file holds the Azure-style username and the SAS token this test computed (so the bridge's own signing is checked
by the broker), and `FakeAzureTwinService`, a test-side FAKE of the hub's twin/method/cloud-to-device service.

Scenarios (issue 4): twin GET and reconcile on connect; reported PATCH per change (acked on 204 for its $rid);
desired PATCH -> device; direct methods setState/getState with 200/400/404; cloud-to-device command; telemetry
with message properties; offline then reconnect (queued on disk, replayed, desired set while offline applied,
an old desired not re-applied over a newer local change); SAS token renewal by reconnecting; a rejected
reported PATCH goes to the dead letters; X.509 authentication (client certificate, no password) with the same
twin/method/telemetry surface.
"""

from __future__ import annotations

import base64
import json
import os

import pytest

from hbe2e.api import Api
from hbe2e.azure_fake import AzureBroker, FakeAzureTwinService, connector_toml
from hbe2e.hubbridge import config_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
KEY = base64.b64encode(b"hubbridge-test-device-key-32byte").decode()

DEVICES = [
    dict(id="kitchen-light", kind="dimmable_light", name="Kitchen light", state=dict(on=False, brightness=100)),
    dict(id="hall-light", kind="on_off_light", name="Hall light"),
    dict(id="front-door", kind="contact_sensor", name="Front door", state=dict(contact=True)),
]


def wait_api(api: Api, check, timeout: float = 60, what: str = "condition", name: str = "azure"):
    return api.wait_connector(name, check, timeout, what)


@pytest.fixture
def azure(hubbridge, devices, sandbox, device_dir, workspace):
    """Factory: azure(ttl=3600) -> (broker, fake, bridge device, Api), the bridge connected."""
    made = []

    def make(ttl: int = 3600, x509: bool = False):
        key_file = None
        if not x509:
            key_file = os.path.join(device_dir, "device.key")
            with open(key_file, "w") as f:
                f.write(KEY + "\n")
        broker = AzureBroker(devices, workspace, device_dir, sandbox.pair.dev_addr4, None if x509 else KEY, ttl,
                             x509=x509)
        fake = FakeAzureTwinService(broker)
        made.append((broker, fake))
        cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge azure",
                          api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=DEVICES,
                          extra=connector_toml(broker, key_file, ttl=ttl))
        dev = hubbridge(cfg)
        api = Api(sandbox.pair.dev_addr6, API_PORT)
        wait_api(api, lambda c: c["connected"], what="connected")
        return broker, fake, dev, api

    yield make
    for broker, fake in made:
        fake.close()
        broker.close()


def reported(fake, device):
    return fake.reported.get(device)


def test_twin_methods_c2d_and_telemetry(azure):
    broker, fake, dev, api = azure()
    # On connect: twin GET, then every device's state reported (reported belongs to the hub).
    fake.wait(lambda: fake.gets >= 1, what="twin GET")
    fake.wait(lambda: reported(fake, "kitchen-light") == {"on": False, "brightness": 100}, what="reconciled")
    assert reported(fake, "front-door") == {"contact": True}

    # A local change: a reported PATCH with the device's section.
    api.set_state("kitchen-light", {"on": True, "brightness": 180})
    fake.wait(lambda: reported(fake, "kitchen-light") == {"on": True, "brightness": 180}, what="reported PATCH")
    # Availability -> telemetry with message properties and the idempotency key as message id.
    api.set_reachable("front-door", False)
    props, body = fake.wait(lambda: next((t for t in fake.telemetry if t[0].get("type") == "availability"), None),
                            what="availability telemetry")
    assert props["device"] == "front-door" and props["$.ct"] == "application/json" and props["$.mid"] == body["id"]
    assert body["reachable"] is False
    wait_api(api, lambda c: c["outbox"]["depth"] == 0, what="outbox drained (acked on 204 / PUBACK)")

    # Desired PATCH while connected -> the device, then reported follows.
    fake.set_desired({"hall-light": {"on": True}})
    fake.wait(lambda: reported(fake, "hall-light") == {"on": True}, what="desired applied and reported")
    assert api.device("hall-light")["state"] == {"on": True}

    # Direct methods.
    status, body = fake.invoke("setState", {"device": "kitchen-light", "state": {"brightness": 42}})
    assert status == 200 and body["state"]["brightness"] == 42
    assert api.device("kitchen-light")["state"]["brightness"] == 42
    status, body = fake.invoke("getState", {"device": "kitchen-light"})
    assert status == 200 and body["state"] == {"on": True, "brightness": 42} and body["reachable"] is True
    status, body = fake.invoke("setState", {"device": "kitchen-light", "state": {"brightness": 999}})
    assert status == 400 and "brightness" in body["message"]
    status, body = fake.invoke("setState", b"not json")
    assert status == 400
    status, body = fake.invoke("setState", {"device": "front-door", "state": {"on": True}})
    assert status == 400, body  # valid field, wrong kind: refused by the registry
    status, body = fake.invoke("setState", {"device": "no-such", "state": {"on": True}})
    assert status == 404 and "no-such" in body["message"]
    status, body = fake.invoke("getState", {"device": "no-such"})
    assert status == 404
    assert api.device("kitchen-light")["state"]["brightness"] == 42

    # Cloud-to-device message as a command.
    fake.c2d({"device": "hall-light", "state": {"on": False}})
    fake.wait(lambda: reported(fake, "hall-light") == {"on": False}, what="c2d applied")
    fake.c2d({"on": True}, props={"device": "hall-light"})
    fake.wait(lambda: reported(fake, "hall-light") == {"on": True}, what="c2d (device property) applied")

    # Never a secret in the log.
    log = dev.log_text(since=0)
    assert "SharedAccessSignature" not in log and "sig=" not in log and KEY not in log


def test_offline_then_reconnect(azure):
    broker, fake, dev, api = azure()
    fake.wait(lambda: reported(fake, "kitchen-light") is not None, what="reconciled")
    fake.set_desired({"kitchen-light": {"on": True}})
    fake.wait(lambda: reported(fake, "kitchen-light", ) == {"on": True, "brightness": 100}, what="desired applied")

    broker.stop()
    wait_api(api, lambda c: not c["connected"], what="disconnected")
    # Offline: local changes queue on disk; one of them newer than the (already applied) desired on=true.
    api.set_state("kitchen-light", {"on": False})
    api.set_state("front-door", {"contact": False})
    api.set_reachable("hall-light", False)
    wait_api(api, lambda c: c["outbox"]["depth"] >= 3, what="queued while offline")
    # The cloud changes desired while the hub is offline (the PATCH is never delivered).
    fake.set_desired({"hall-light": {"on": True}}, push=False)
    gets = fake.gets

    broker.start(fake)
    fake.wait(lambda: fake.gets > gets, timeout=90, what="twin GET after reconnect")
    fake.wait(lambda: reported(fake, "front-door") == {"contact": False}, what="queued change replayed")
    fake.wait(lambda: reported(fake, "hall-light") == {"on": True}, what="desired set while offline applied")
    fake.wait(lambda: any(t[0].get("type") == "availability" and t[0].get("device") == "hall-light"
                          for t in fake.telemetry), what="queued event replayed")
    wait_api(api, lambda c: c["outbox"]["depth"] == 0, what="outbox drained")
    # The old desired (on=true, already applied) did not override the newer local change.
    assert api.device("kitchen-light")["state"]["on"] is False
    assert reported(fake, "kitchen-light")["on"] is False

    # The same holds across a restart: the applied desired $version is remembered on disk.
    gets = fake.gets
    dev.restart()
    wait_api(api, lambda c: c["connected"], what="reconnected after restart")
    fake.wait(lambda: fake.gets > gets, what="twin GET after restart")
    wait_api(api, lambda c: c["outbox"]["depth"] == 0, what="outbox drained after restart")
    assert api.device("kitchen-light")["state"]["on"] is False


def test_sas_token_renewal(azure):
    ttl = 10
    broker, fake, dev, api = azure(ttl=ttl)
    first = broker.installed_expiry
    fake.wait(lambda: reported(fake, "kitchen-light") is not None, what="reconciled")
    # Half a period before the token's expiry the bridge reconnects with a freshly signed token; by then the
    # broker only accepts the next period's token (the old one was replaced in its password file).
    dev.wait_for_log(r"SAS token renewal", timeout=3 * ttl)
    wait_api(api, lambda c: c["connects"] >= 2 and c["connected"], timeout=3 * ttl, what="reconnected")
    assert broker.installed_expiry > first
    # The renewed session works both ways.
    fake.wait(lambda: fake.gets >= 2, what="twin GET on the renewed session")
    api.set_state("kitchen-light", {"brightness": 77})
    fake.wait(lambda: (reported(fake, "kitchen-light") or {}).get("brightness") == 77, what="reported after renewal")
    fake.set_desired({"hall-light": {"on": True}})
    fake.wait(lambda: reported(fake, "hall-light") == {"on": True}, what="desired after renewal")


def test_rejected_reported_patch_goes_to_dead_letters(azure):
    broker, fake, dev, api = azure()
    fake.wait(lambda: reported(fake, "kitchen-light") is not None, what="reconciled")
    fake.reported_status = 400
    api.set_state("kitchen-light", {"brightness": 5})
    c = wait_api(api, lambda c: c["outbox"]["dead_letters"] >= 1, what="dead letter")
    assert c["connected"] and c["outbox"]["depth"] == 0
    # The dead letter says why, in the service's own words.
    assert "status 400: rejected by the fake" in json.dumps(c["outbox"]["last_dead_letter"]), c["outbox"]
    fake.reported_status = 204
    api.set_state("kitchen-light", {"brightness": 6})
    fake.wait(lambda: reported(fake, "kitchen-light")["brightness"] == 6, what="later changes still delivered")


def test_x509_authentication(azure):
    # The broker requires a client certificate and takes its CN (the device id) as the identity; its ACL lets
    # that identity use only devices/<device id>/# and $iothub/#. No key, no SAS token, no password.
    broker, fake, dev, api = azure(x509=True)
    fake.wait(lambda: fake.gets >= 1, what="twin GET")
    fake.wait(lambda: reported(fake, "kitchen-light") == {"on": False, "brightness": 100}, what="reconciled")
    fake.set_desired({"hall-light": {"on": True}})
    fake.wait(lambda: reported(fake, "hall-light") == {"on": True}, what="desired applied")
    status, body = fake.invoke("getState", {"device": "front-door"})
    assert status == 200 and body["state"] == {"contact": True}, body
    api.set_reachable("front-door", False)
    fake.wait(lambda: any(t[0].get("type") == "availability" for t in fake.telemetry), what="telemetry")
    c = wait_api(api, lambda c: c["outbox"]["depth"] == 0, what="outbox drained")
    assert c["connected"] and c["outbox"]["dead_letters"] == 0
    log = dev.log_text()  # this process's run only (the log file is shared with earlier tests)
    assert "SAS token" not in log and "SharedAccessSignature" not in log and "not authorized" not in log
