"""A cloud's desired state never undoes local control (issue 12), with the real Matter controller (the
connectedhomeip Python controller, commissioning the real hubbridge) and the clouds' FAKES that behave as the
services document:

- AWS (`FakeAwsShadowService`: publishes `/delta` after every update that leaves desired != reported, with metadata
  timestamps): an Alexa-style desired `on` is applied and cleared (`desired: {on: null}` in the same update that
  reports it); then the user turns the light off through Matter: it stays off for 30 s, across a reconnect, and
  the shadow's desired no longer says on.
- Azure (`FakeAzureTwinService`: desired `$version` moves on each desired change and only then; the twin GET after
  a reconnect returns the same desired with the same `$version`): desired `on` is applied; Matter off; it stays
  off for 30 s, across a reconnect that brings the old desired back in the twin GET.
"""

from __future__ import annotations

import base64
import os
import time

import pytest

from hbe2e.api import Api
from hbe2e.aws_fake import AwsBroker, FakeAwsShadowService, mqtt_connector_toml
from hbe2e.azure_fake import AzureBroker, FakeAzureTwinService, connector_toml
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
KEY = base64.b64encode(b"hubbridge-test-device-key-32byte").decode()
DEVICES = [dict(id="hall-light", kind="on_off_light", name="Hall light")]
OnOff = Clusters.OnOff.Attributes.OnOff
HOLD_S = 30


def commissioned(hubbridge, controller, sandbox, device_dir, connectors: str):
    cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge desired",
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=DEVICES, extra=connectors)
    dev = hubbridge(cfg)
    node = controller.commission(dev.pairing_codes().manual)
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    return dev, node, api, api.device("hall-light")["endpoint"]


def stays_off(controller, node, ep, api, check_cloud, reconnect, seconds: float = HOLD_S):
    """For `seconds`: the light is off in the registry and through Matter, and `check_cloud()` holds; halfway,
    `reconnect()` cuts the cloud link and restores it."""
    start = time.monotonic()
    reconnected = False
    while time.monotonic() - start < seconds:
        assert api.device("hall-light")["state"].get("on") is False, "the light came back on"
        assert controller.read_attribute(node, ep, OnOff) is False, "Matter says on"
        check_cloud()
        if not reconnected and time.monotonic() - start > seconds / 3:
            reconnect()
            reconnected = True
        time.sleep(1)


def test_aws_desired_on_is_cleared_and_matter_off_stays_off(hubbridge, controller, devices, sandbox, device_dir,
                                                            workspace):
    broker = AwsBroker(devices, workspace, device_dir, sandbox.pair.dev_addr4, sandbox.pair.ctl_addr4)
    fake = FakeAwsShadowService(broker)
    try:
        dev, node, api, ep = commissioned(hubbridge, controller, sandbox, device_dir, mqtt_connector_toml(broker))
        fake.wait(lambda: fake.reconciled("hall-light"), what="shadow reconciled")
        # Alexa: desired on.
        fake.set_desired("hall-light", {"on": True})
        fake.wait(lambda: fake.reported("hall-light") == {"on": True}, what="desired applied and reported")
        fake.wait(lambda: "on" not in (fake.desired("hall-light") or {}), what="desired cleared once applied")
        assert controller.read_attribute(node, ep, OnOff) is True
        # The user: off through Matter.
        controller.invoke(node, ep, Clusters.OnOff.Commands.Off())
        fake.wait(lambda: fake.reported("hall-light") == {"on": False}, what="Matter off reported")

        def reconnect():
            broker.uplink.down()
            api.wait_connector("aws", lambda c: not c["connected"], 60, "disconnected")
            broker.uplink.up()
            api.wait_connector("aws", lambda c: c["connected"], 60, "connected again")

        stays_off(controller, node, ep, api,
                  lambda: "on" not in (fake.desired("hall-light") or {}), reconnect)
        assert fake.reported("hall-light") == {"on": False}
    finally:
        fake.close()
        broker.close()


def test_azure_desired_on_then_matter_off_stays_off(hubbridge, controller, devices, sandbox, device_dir, workspace):
    key_file = os.path.join(device_dir, "device.key")
    with open(key_file, "w") as f:
        f.write(KEY + "\n")
    broker = AzureBroker(devices, workspace, device_dir, sandbox.pair.dev_addr4, KEY, 3600)
    fake = FakeAzureTwinService(broker)
    try:
        dev, node, api, ep = commissioned(hubbridge, controller, sandbox, device_dir,
                                          connector_toml(broker, key_file))
        fake.wait(lambda: fake.gets >= 1 and fake.reported.get("hall-light") is not None, what="twin reconciled")
        fake.set_desired({"hall-light": {"on": True}})
        fake.wait(lambda: fake.reported.get("hall-light") == {"on": True}, what="desired applied and reported")
        assert controller.read_attribute(node, ep, OnOff) is True
        controller.invoke(node, ep, Clusters.OnOff.Commands.Off())
        fake.wait(lambda: fake.reported.get("hall-light") == {"on": False}, what="Matter off reported")
        gets = fake.gets

        def reconnect():
            broker.stop()
            api.wait_connector("azure", lambda c: not c["connected"], 60, "disconnected")
            broker.start(fake)
            fake.wait(lambda: fake.gets > gets, what="twin GET after the reconnect (old desired in it)")

        stays_off(controller, node, ep, api, lambda: None, reconnect)
        assert fake.reported.get("hall-light") == {"on": False}
        assert fake.desired == {"hall-light": {"on": True}}, "the cloud's desired is the cloud's"
    finally:
        fake.close()
        broker.close()
