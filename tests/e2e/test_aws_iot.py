"""The AWS IoT connector, end to end: the real hubbridge process; for the MQTT path a real mosquitto with mutual TLS
(`require_certificate true`, `use_identity_as_username true`) reached through a relay the test can cut, with
`FakeAwsShadowService`, a test-side FAKE of the Device Shadow service for named shadows; for the HTTPS data plane,
moto_server (the AWS API emulator) on loopback in the dev namespace, the thing registered first.

Scenarios (issue 4): delta while connected; desired set while the hub was offline; stale desired (older than a
newer local change: not applied, cleared); version conflict (fresh GET, update again); rejected update (dead
letter); the data plane (GetThingShadow / UpdateThingShadow with version / Publish) against moto; the mqtt
transport reading shadows with GetThingShadow on every reconnect (`shadow_reads = "https"`), with moto as the one
shadow store behind both the data plane and `MotoBackedShadowFake`.
"""

from __future__ import annotations

import os
import time

import pytest

from hbe2e.api import Api
from hbe2e.aws_fake import (EVENTS, AwsBroker, FakeAwsShadowService, Moto, MotoBackedShadowFake, mqtt_connector_toml,
                            venv_python)
from hbe2e.hubbridge import config_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
DEVICES = [
    dict(id="kitchen-light", kind="dimmable_light", name="Kitchen light", state=dict(on=False, brightness=100)),
    dict(id="hall-light", kind="on_off_light", name="Hall light"),
    dict(id="front-door", kind="contact_sensor", name="Front door", state=dict(contact=True)),
]


def wait_api(api: Api, check, name: str, timeout: float = 60, what: str = "condition"):
    return api.wait_connector(name, check, timeout, what)


def bridge(hubbridge, sandbox, device_dir, connectors: str, env: dict | None = None):
    cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge aws",
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=DEVICES, extra=connectors)
    return hubbridge(cfg, env=env), Api(sandbox.pair.dev_addr6, API_PORT)


@pytest.fixture
def aws(hubbridge, devices, sandbox, device_dir, workspace):
    """(broker, fake, bridge device, Api): the bridge connected over mutual TLS and reconciled."""
    broker = AwsBroker(devices, workspace, device_dir, sandbox.pair.dev_addr4, sandbox.pair.ctl_addr4)
    fake = FakeAwsShadowService(broker)
    dev, api = bridge(hubbridge, sandbox, device_dir, mqtt_connector_toml(broker))
    wait_api(api, lambda c: c["connected"], "aws", what="connected")
    fake.wait(lambda: fake.reported("kitchen-light") == {"on": False, "brightness": 100}, what="reconciled")
    fake.wait(lambda: fake.reported("front-door") == {"contact": True}, what="reconciled")
    fake.wait(lambda: all(fake.reconciled(d["id"]) for d in DEVICES), what="every shadow read and written back")
    wait_api(api, lambda c: c["outbox"]["depth"] == 0, "aws", what="outbox drained")
    yield broker, fake, dev, api
    fake.close()
    broker.close()


def go_offline(broker, api):
    broker.uplink.down()
    wait_api(api, lambda c: not c["connected"], "aws", what="disconnected")
    time.sleep(1.1)  # shadow timestamps are whole seconds: what follows is strictly later than the last report


def test_delta_while_connected_and_events(aws):
    broker, fake, dev, api = aws
    # Reported is the hub's: one named shadow per device, named by the device id.
    assert set(fake.shadows) == {"kitchen-light", "hall-light", "front-door"}
    fake.set_desired("hall-light", {"on": True})
    fake.wait(lambda: fake.reported("hall-light") == {"on": True}, what="delta applied and reported")
    assert api.device("hall-light")["state"] == {"on": True}
    # A local change: update with reported, acknowledged on update/accepted.
    api.set_state("kitchen-light", {"brightness": 200})
    fake.wait(lambda: fake.reported("kitchen-light")["brightness"] == 200, what="reported")
    upd = [b for n, b in fake.updates if n == "kitchen-light"][-1]
    assert upd["clientToken"] and upd["state"]["reported"]["brightness"] == 200
    # Events go to the configured topic with their idempotency key.
    api.set_reachable("front-door", False)
    ev = fake.wait(lambda: next((e for e in fake.events if e.get("type") == "availability"), None), what="event")
    assert ev["device"] == "front-door" and ev["reachable"] is False and ev["id"]
    wait_api(api, lambda c: c["outbox"]["depth"] == 0, "aws", what="outbox drained")
    # A bad desired value changes nothing.
    fake.set_desired("kitchen-light", {"brightness": 999})
    fake.set_desired("hall-light", {"on": False})
    fake.wait(lambda: fake.reported("hall-light") == {"on": False}, what="later delta applied")
    assert api.device("kitchen-light")["state"]["brightness"] == 200


def test_applied_desired_is_cleared_so_a_later_local_change_stays(aws):
    """Alexa turns a light on (desired on), the user turns it off locally: it must stay off. The fake publishes a
    delta after every update that leaves desired != reported, as AWS does, so a desired left behind would come
    back as a delta with every later report."""
    broker, fake, dev, api = aws
    fake.set_desired("hall-light", {"on": True})
    fake.wait(lambda: fake.reported("hall-light") == {"on": True}, what="desired applied and reported")
    fake.wait(lambda: "on" not in (fake.desired("hall-light") or {}), what="applied desired cleared")
    upd = [b for n, b in fake.updates if n == "hall-light" and "desired" in b["state"]][-1]
    assert upd["state"]["desired"] == {"on": None} and upd["state"]["reported"]["on"] is True, upd
    api.set_state("hall-light", {"on": False})  # the local change (a controller, a wall switch)
    fake.wait(lambda: fake.reported("hall-light") == {"on": False}, what="local off reported")
    # More local traffic: every report would produce a delta if desired still said on.
    for b in (10, 20, 30):
        api.set_state("kitchen-light", {"brightness": b})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert api.device("hall-light")["state"] == {"on": False}, "a stale desired undid the local change"
        time.sleep(1)
    assert "on" not in (fake.desired("hall-light") or {})
    assert fake.reported("hall-light") == {"on": False}


def test_desired_set_while_offline(aws):
    broker, fake, dev, api = aws
    go_offline(broker, api)
    fake.set_desired("hall-light", {"on": True})  # the delta is lost: the hub is offline
    api.set_state("front-door", {"contact": False})  # queued on disk meanwhile
    wait_api(api, lambda c: c["outbox"]["depth"] >= 1, "aws", what="queued")
    gets = len(fake.gets)
    broker.uplink.up()
    fake.wait(lambda: len(fake.gets) > gets, what="shadow GET after reconnect")
    fake.wait(lambda: fake.reported("hall-light") == {"on": True}, what="desired set while offline applied")
    fake.wait(lambda: fake.reported("front-door") == {"contact": False}, what="queued change replayed")
    assert api.device("hall-light")["state"] == {"on": True}
    wait_api(api, lambda c: c["outbox"]["depth"] == 0, "aws", what="outbox drained")


def test_stale_desired_is_not_applied_and_is_cleared(aws):
    broker, fake, dev, api = aws
    go_offline(broker, api)
    fake.set_desired("kitchen-light", {"on": True})
    time.sleep(2.1)  # the local change below is newer than that desired value by the 2 s the README promises
    api.set_state("kitchen-light", {"on": False, "brightness": 60})
    broker.uplink.up()
    fake.wait(lambda: fake.desired("kitchen-light") is not None and "on" not in fake.desired("kitchen-light"),
              what="stale desired cleared")
    fake.wait(lambda: fake.reported("kitchen-light") == {"on": False, "brightness": 60}, what="local state reported")
    assert api.device("kitchen-light")["state"] == {"on": False, "brightness": 60}
    wait_api(api, lambda c: c["outbox"]["depth"] == 0, "aws", what="outbox drained")
    assert api.device("kitchen-light")["state"]["on"] is False


def test_version_conflict_triggers_a_fresh_get(aws):
    broker, fake, dev, api = aws
    # A first change, acknowledged: from here on the hub knows the shadow's current version.
    api.set_state("kitchen-light", {"brightness": 120})
    wait_api(api, lambda c: c["outbox"]["depth"] == 0 and c["delivered"] >= 1, "aws", what="first change acked")
    fake.bump("kitchen-light")  # someone else wrote the shadow; the hub's version is now old
    gets = fake.gets.count("kitchen-light")
    api.set_state("kitchen-light", {"brightness": 150})
    fake.wait(lambda: ("kitchen-light", 409) in fake.rejections, what="version conflict")
    fake.wait(lambda: fake.gets.count("kitchen-light") > gets, what="fresh GET")
    fake.wait(lambda: fake.reported("kitchen-light")["brightness"] == 150, what="update sent again and accepted")
    c = wait_api(api, lambda c: c["outbox"]["depth"] == 0, "aws", what="outbox drained")
    assert c["outbox"]["dead_letters"] == 0


def test_rejected_update_goes_to_dead_letters(aws):
    broker, fake, dev, api = aws
    fake.reject_next["kitchen-light"] = (400, "Missing required node: state")
    api.set_state("kitchen-light", {"brightness": 5})
    c = wait_api(api, lambda c: c["outbox"]["dead_letters"] >= 1, "aws", what="dead letter")
    assert c["connected"] and c["outbox"]["depth"] == 0
    api.set_state("kitchen-light", {"brightness": 6})
    fake.wait(lambda: fake.reported("kitchen-light")["brightness"] == 6, what="later change delivered")


CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}


def test_mqtt_transport_reads_shadows_with_get_thing_shadow_on_every_reconnect(
        hubbridge, devices, sandbox, device_dir, workspace):
    # One shadow store (moto) behind the HTTPS data plane and the MQTT shadow fake, as on AWS IoT.
    moto = Moto(devices, sandbox, venv_python(), host=sandbox.pair.dev_addr4)
    broker = AwsBroker(devices, workspace, device_dir, sandbox.pair.dev_addr4, sandbox.pair.ctl_addr4)
    fake = MotoBackedShadowFake(broker, moto)
    try:
        dev, api = bridge(hubbridge, sandbox, device_dir, mqtt_connector_toml(broker, reads_from=moto), env=CREDS)
        wait_api(api, lambda c: c["connected"], "aws", what="connected")
        # First connect: GetThingShadow finds no shadows (404), the update over MQTT creates them in the store.
        fake.wait(lambda: fake.reported("kitchen-light") == {"on": False, "brightness": 100}, what="reconciled")
        fake.wait(lambda: fake.reported("front-door") == {"contact": True}, what="reconciled")
        wait_api(api, lambda c: c["outbox"]["depth"] == 0, "aws", what="outbox drained")

        # Offline: a cloud application sets desired state; the hub changes a device meanwhile.
        broker.uplink.down()
        wait_api(api, lambda c: not c["connected"], "aws", what="disconnected")
        time.sleep(1.1)  # shadow timestamps are whole seconds
        fake.set_desired("hall-light", {"on": True})
        version = fake.store_get("hall-light")["version"]
        api.set_state("front-door", {"contact": False})
        broker.uplink.up()
        # Reconnect: the read is GetThingShadow (nothing asks on the MQTT get topic), desired is applied, and
        # reported is written back over MQTT with the version that read returned.
        deadline = time.monotonic() + 60
        while api.device("hall-light")["state"] != {"on": True}:
            assert time.monotonic() < deadline, fake.store_get("hall-light")
            time.sleep(0.2)
        fake.wait(lambda: fake.reported("hall-light") == {"on": True}, what="desired applied and reported")
        fake.wait(lambda: fake.reported("front-door") == {"contact": False}, what="queued change replayed")
        assert fake.gets == [], f"shadows read over MQTT: {fake.gets}"
        upd = [b for n, b in fake.updates if n == "hall-light" and b.get("state", {}).get("reported") == {"on": True}]
        assert upd and upd[0].get("version") == version, upd
        c = wait_api(api, lambda c: c["outbox"]["depth"] == 0, "aws", what="outbox drained")
        assert c["outbox"]["dead_letters"] == 0

        # A version conflict on an MQTT update re-reads the shadow over HTTPS, then the update lands.
        fake.set_desired("kitchen-light", {"brightness": 100})  # another writer: the hub's version is stale
        time.sleep(2.1)  # and the local change below is newer than that desired value (2 s): stale, not applied
        api.set_state("kitchen-light", {"brightness": 222})
        fake.wait(lambda: ("kitchen-light", 409) in fake.rejections, what="version conflict")
        fake.wait(lambda: (fake.reported("kitchen-light") or {}).get("brightness") == 222, what="update after re-read")
        assert fake.gets == []
        assert api.device("kitchen-light")["state"]["brightness"] == 222
        c = wait_api(api, lambda c: c["outbox"]["depth"] == 0, "aws", what="outbox drained")
        assert c["outbox"]["dead_letters"] == 0
    finally:
        fake.close()
        broker.close()


def test_https_data_plane_against_moto(hubbridge, devices, sandbox, device_dir):
    moto = Moto(devices, sandbox, venv_python())
    # Credentials come from the standard AWS chain (here: the environment), as on a real hub.
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}
    dev, api = bridge(hubbridge, sandbox, device_dir, moto.https_connector_toml(poll=1), env=creds)
    name = "aws-https"
    wait_api(api, lambda c: c["connected"], name, what="data plane reachable")

    def reported(shadow):
        doc = moto.shadow(shadow)
        return (doc or {}).get("state", {}).get("reported")

    deadline = time.monotonic() + 60
    while reported("kitchen-light") != {"on": False, "brightness": 100}:
        assert time.monotonic() < deadline, moto.shadow("kitchen-light")
        time.sleep(0.2)
    # A cloud application sets desired state: the next poll applies it, and reported follows.
    moto.call("iot-data", "update_thing_shadow", thingName="living-room-hub", shadowName="hall-light",
              payload={"state": {"desired": {"on": True}}})
    wait_api(api, lambda c: True, name)
    deadline = time.monotonic() + 60
    while api.device("hall-light")["state"] != {"on": True}:
        assert time.monotonic() < deadline, "desired not applied"
        time.sleep(0.2)
    # Someone else bumps the version; a local change still lands (conflict -> GET -> update with the new version).
    moto.call("iot-data", "update_thing_shadow", thingName="living-room-hub", shadowName="kitchen-light",
              payload={"state": {"desired": {"brightness": 100}}})
    # Shadow timestamps are whole seconds and the bridge knows the service's clock to within one: a local change
    # 2 s or more after a desired value is always the newer one (1.1 s here failed about 1 run in 2 while the
    # bridge floored both the service's now and the change's age, putting the change up to 2 s in the past).
    time.sleep(2.1)
    api.set_state("kitchen-light", {"brightness": 222})
    deadline = time.monotonic() + 60
    while (reported("kitchen-light") or {}).get("brightness") != 222:
        assert time.monotonic() < deadline, moto.shadow("kitchen-light")
        time.sleep(0.2)
    # Events go out with Publish; records leave the outbox only after a 2xx.
    api.set_reachable("front-door", False)
    c = wait_api(api, lambda c: c["outbox"]["depth"] == 0 and c["delivered"] >= 2, name, what="outbox drained")
    assert c["outbox"]["dead_letters"] == 0
    assert EVENTS
