"""Reconciliation at scale (issue 12): 500 devices connecting and reconnecting to AWS IoT (mosquitto with mutual TLS
and `FakeAwsShadowService`, the test-side FAKE of the Device Shadow service) and to Azure IoT Hub (mosquitto with
`FakeAzureTwinService`, the FAKE twin service, which refuses a reported PATCH that would take the twin past 32 KB
as IoT Hub does).

What a user would notice: every device's shadow / twin section is right after each (re)connect, the connector
stays connected (no "cannot queue a publish", no failed run), the hub never has more shadow reads outstanding than
its window, and no twin update is refused for size.
"""

from __future__ import annotations

import base64
import os

import pytest

from hbe2e.api import Api
from hbe2e.aws_fake import AwsBroker, FakeAwsShadowService, mqtt_connector_toml
from hbe2e.azure_fake import MAX_REPORTED_BYTES, AzureBroker, FakeAzureTwinService, connector_toml
from hbe2e.hubbridge import config_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
N = 500
# The connectors' default max_inflight for AWS and Azure.
WINDOW = 50
KEY = base64.b64encode(b"hubbridge-test-device-key-32byte").decode()


def many_devices(n: int = N) -> list[dict]:
    return [dict(id=f"light-{i:03d}", kind="on_off_light", name=f"Light {i}", state=dict(on=i % 3 == 0))
            for i in range(n)]


def start_bridge(hubbridge, sandbox, device_dir, connectors: str):
    cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge scale",
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=many_devices(),
                      extra=connectors)
    dev = hubbridge(cfg, ready_timeout=180.0)
    return dev, Api(sandbox.pair.dev_addr6, API_PORT)


def max_outstanding_reads(ops: list[tuple[str, str]]) -> int:
    """The most shadows the hub had asked for (GET) and not yet written back (update), at any moment."""
    waiting: set[str] = set()
    most = 0
    for name, op in ops:
        if op == "get":
            waiting.add(name)
            most = max(most, len(waiting))
        elif op == "update":
            waiting.discard(name)
    return most


def test_aws_500_shadows_reconciled_with_bounded_reads(hubbridge, devices, sandbox, device_dir, workspace):
    broker = AwsBroker(devices, workspace, device_dir, sandbox.pair.dev_addr4, sandbox.pair.ctl_addr4)
    fake = FakeAwsShadowService(broker)
    try:
        dev, api = start_bridge(hubbridge, sandbox, device_dir, mqtt_connector_toml(broker))
        ids = [d["id"] for d in many_devices()]
        expect = {d["id"]: d["state"] for d in many_devices()}
        for round_ in range(2):
            fake.wait(lambda: all(fake.reconciled(i) for i in ids), timeout=180,
                      what=f"round {round_}: every shadow read and written back")
            assert all(fake.reported(i) == expect[i] for i in ids)
            h = api.wait_connector("aws", lambda c: c["connected"] and c["outbox"]["depth"] == 0, 60,
                                   "connected, outbox drained")
            if round_ == 0:
                assert h["failures"] == 0, h  # one connection did it all
            with fake.cond:
                most = max_outstanding_reads(list(fake.ops))
            assert 0 < most <= WINDOW, f"round {round_}: {most} shadow reads outstanding at once"
            if round_ == 0:
                # Reconnect: cut the uplink, bring it back; the hub reads all 500 again.
                broker.uplink.down()
                api.wait_connector("aws", lambda c: not c["connected"], 60, "disconnected")
                with fake.cond:
                    fake.ops.clear()
                broker.uplink.up()
        log = dev.log_text()
        assert "cannot queue a publish" not in log
    finally:
        fake.close()
        broker.close()


def test_azure_500_devices_twin_under_32kb_in_patches(hubbridge, devices, sandbox, device_dir, workspace):
    key_file = os.path.join(device_dir, "device.key")
    with open(key_file, "w") as f:
        f.write(KEY + "\n")
    broker = AzureBroker(devices, workspace, device_dir, sandbox.pair.dev_addr4, KEY, 3600)
    fake = FakeAzureTwinService(broker)
    try:
        # A twin left over from an earlier install: sections for 40 devices that no longer exist.
        with fake.cond:
            fake.reported = {f"old-{i:02d}": {"on": True} for i in range(40)}
        dev, api = start_bridge(hubbridge, sandbox, device_dir, connector_toml(broker, key_file))
        expect = {d["id"]: d["state"] for d in many_devices()}
        for round_ in range(2):
            fake.wait(lambda: fake.gets >= round_ + 1 and fake.reported == expect, timeout=180,
                      what=f"round {round_}: twin reconciled")
            h = api.wait_connector("azure", lambda c: c["connected"] and c["outbox"]["depth"] == 0, 60,
                                   "connected, outbox drained")
            if round_ == 0:
                assert h["failures"] == 0, h
            assert fake.oversize_refusals == 0
            assert fake.max_reported_bytes <= MAX_REPORTED_BYTES
            assert 1 < len(fake.patches) and fake.max_patch_bytes <= 8 * 1024, \
                (len(fake.patches), fake.max_patch_bytes)
            if round_ == 0:
                broker.stop()
                api.wait_connector("azure", lambda c: not c["connected"], 60, "disconnected")
                broker.start(fake)
        assert "cannot queue a publish" not in dev.log_text()
    finally:
        fake.close()
        broker.close()
