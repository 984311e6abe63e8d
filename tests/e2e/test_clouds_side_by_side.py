"""All three cloud connectors in one bridge (issue 4, "done means"): a self-hosted MQTT broker, Azure IoT Hub (its
broker and FakeAzureTwinService) and AWS IoT (its mutual-TLS broker and FakeAwsShadowService). One local change
reaches all three; a command from each cloud reaches the device; cutting the AWS uplink leaves the others alone."""

from __future__ import annotations

import base64
import os

import pytest

from hbe2e import aws_fake, azure_fake
from hbe2e.api import Api
from hbe2e.hubbridge import config_toml
from hbe2e.mosquitto import Watcher, connector_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
KEY = base64.b64encode(b"side-by-side-device-key-32-bytes").decode()
DEVICES = [dict(id="kitchen-light", kind="dimmable_light", name="Kitchen light", state=dict(on=False, brightness=100)),
           dict(id="hall-light", kind="on_off_light", name="Hall light")]


def wait_api(api, check, name, timeout=60, what="condition"):
    return api.wait_connector(name, check, timeout, what)


def test_mqtt_azure_and_aws_side_by_side(hubbridge, mosquitto, devices, sandbox, device_dir, workspace):
    mq = mosquitto()
    watcher = Watcher(mq, topics=("hb/#",), client_id="watcher-side")
    az = azure_fake.AzureBroker(devices, workspace, device_dir, sandbox.pair.dev_addr4, KEY, 3600)
    twin = azure_fake.FakeAzureTwinService(az)
    aws = aws_fake.AwsBroker(devices, workspace, device_dir, sandbox.pair.dev_addr4, sandbox.pair.ctl_addr4)
    shadows = aws_fake.FakeAwsShadowService(aws)
    key_file = os.path.join(device_dir, "azure.key")
    with open(key_file, "w") as f:
        f.write(KEY + "\n")
    try:
        connectors = connector_toml(mq, name="home", base="hb") + "\n" + azure_fake.connector_toml(az, key_file) + \
            "\n" + aws_fake.mqtt_connector_toml(aws)
        cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge clouds",
                          api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=DEVICES, extra=connectors)
        hubbridge(cfg)
        api = Api(sandbox.pair.dev_addr6, API_PORT)
        for name in ("home", "azure", "aws"):
            wait_api(api, lambda c: c["connected"], name, what=f"{name} connected")

        # One local change, three clouds.
        api.set_state("kitchen-light", {"on": True, "brightness": 42})
        watcher.wait_for("hb/kitchen-light", lambda m: m.json() == {"on": True, "brightness": 42})
        twin.wait(lambda: twin.reported.get("kitchen-light") == {"on": True, "brightness": 42}, what="azure reported")
        shadows.wait(lambda: shadows.reported("kitchen-light") == {"on": True, "brightness": 42}, what="aws reported")

        # A command from each cloud.
        watcher.publish("hb/hall-light/set", {"on": True})
        twin.wait(lambda: twin.reported.get("hall-light") == {"on": True}, what="mqtt command seen by azure")
        status, _ = twin.invoke("setState", {"device": "hall-light", "state": {"on": False}})
        assert status == 200
        shadows.wait(lambda: shadows.reported("hall-light") == {"on": False}, what="azure command seen by aws")
        shadows.set_desired("kitchen-light", {"brightness": 7})
        watcher.wait_for("hb/kitchen-light", lambda m: m.json().get("brightness") == 7)

        # AWS unreachable: the others go on; AWS catches up when it returns.
        aws.uplink.down()
        wait_api(api, lambda c: not c["connected"], "aws", what="aws down")
        api.set_state("kitchen-light", {"brightness": 99})
        twin.wait(lambda: twin.reported["kitchen-light"]["brightness"] == 99, what="azure unaffected")
        watcher.wait_for("hb/kitchen-light", lambda m: m.json().get("brightness") == 99)
        assert api.connectors()["aws"]["outbox"]["depth"] >= 1
        aws.uplink.up()
        shadows.wait(lambda: shadows.reported("kitchen-light")["brightness"] == 99, what="aws caught up")
        for name in ("home", "azure", "aws"):
            wait_api(api, lambda c: c["outbox"]["depth"] == 0, name, what=f"{name} drained")
    finally:
        watcher.close()
        twin.close()
        az.close()
        shadows.close()
        aws.close()
