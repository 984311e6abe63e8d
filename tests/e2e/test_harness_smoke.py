"""Smoke test of the e2e harness itself, against the matter.js stand-in bridge (bench/matterjs/bridge.mjs).

Each test starts its own stand-in (about 2 s) and commissions it (well under a second over the veth), so tests are
independent. The same steps, run against `hubbridge` fixtures instead of `standin`, are the bridge's own tests.
"""

import time

import pytest

from hbe2e.controller import Clusters
from hbe2e.standin import AGGREGATOR_ENDPOINT, FIRST_LIGHT_ENDPOINT

pytestmark = pytest.mark.standin

AGGREGATOR_DEVICE_TYPE = 0x000E
BRIDGED_NODE_DEVICE_TYPE = 0x0013
ON_OFF_LIGHT_DEVICE_TYPE = 0x0100
OnOff = Clusters.OnOff.Attributes.OnOff


@pytest.fixture
def commissioned(standin, controller, timings):
    """A started stand-in with 3 lights, commissioned on fabric 1: (device, node_id)."""
    dev = standin(count=3)
    codes = dev.pairing_codes()
    t0 = time.monotonic()
    node = controller.commission(codes.manual)
    timings.add("commission by manual code (fabric 1)", time.monotonic() - t0)
    return dev, node


def test_commission_by_qr_code_and_read_structure(standin, controller, timings):
    dev = standin(count=3)
    codes = dev.pairing_codes()
    assert codes.qr and codes.qr.startswith("MT:")
    t0 = time.monotonic()
    node = controller.commission(codes.qr)
    timings.add("commission by QR payload (fabric 1)", time.monotonic() - t0)

    assert controller.endpoints(node) == [0, 1, 2, 3, 4]
    parts = controller.read_attribute(node, AGGREGATOR_ENDPOINT, Clusters.Descriptor.Attributes.PartsList)
    assert list(parts) == [2, 3, 4]
    types = controller.read_attribute(node, AGGREGATOR_ENDPOINT, Clusters.Descriptor.Attributes.DeviceTypeList)
    assert AGGREGATOR_DEVICE_TYPE in [t.deviceType for t in types]

    t0 = time.monotonic()
    everything = controller.read_all(node)
    timings.add("wildcard read of the whole node", time.monotonic() - t0)
    assert sorted(everything) == [0, 1, 2, 3, 4]
    basic = everything[0][Clusters.BasicInformation]
    assert basic[Clusters.BasicInformation.Attributes.VendorID] == 0xFFF1
    light = everything[FIRST_LIGHT_ENDPOINT]
    assert {t.deviceType for t in light[Clusters.Descriptor][Clusters.Descriptor.Attributes.DeviceTypeList]} >= {
        ON_OFF_LIGHT_DEVICE_TYPE, BRIDGED_NODE_DEVICE_TYPE}
    assert light[Clusters.BridgedDeviceBasicInformation][Clusters.BridgedDeviceBasicInformation.Attributes.NodeLabel] == "Light 1"


def test_toggle_read_back_and_subscription_report(commissioned, controller, timings):
    dev, node = commissioned
    ep = FIRST_LIGHT_ENDPOINT
    assert controller.read_attribute(node, ep, OnOff) is False

    sub = controller.subscribe(node, [(ep, OnOff)], min_interval=0, max_interval=10)
    assert sub.latest(ep, OnOff) is False  # priming report

    mark = sub.mark()
    log_mark = dev.mark()
    t0 = time.monotonic()
    controller.invoke(node, ep, Clusters.OnOff.Commands.Toggle())
    assert sub.wait_for(ep, OnOff, True, since=mark, timeout=10) is True
    timings.add("invoke Toggle -> subscription report", time.monotonic() - t0)
    assert controller.read_attribute(node, ep, OnOff) is True
    dev.wait_for_log(rf"HB-ONOFF endpoint={ep} light=1 value=true", since=log_mark, timeout=5)

    # The other lights are untouched.
    assert controller.read_attribute(node, ep + 1, OnOff) is False

    mark = sub.mark()
    controller.invoke(node, ep, Clusters.OnOff.Commands.Off())
    sub.wait_for(ep, OnOff, False, since=mark, timeout=10)
    sub.close()


def test_second_fabric_through_enhanced_commissioning_window(commissioned, controller, new_controller, timings):
    dev, node = commissioned
    params = controller.open_commissioning_window(node, window_s=180)
    assert params.setupPinCode != 20202021  # a fresh passcode (Enhanced Commissioning Method)

    beta = new_controller("beta")
    t0 = time.monotonic()
    node_b = beta.commission(params.setupManualCode)
    timings.add("commission 2nd fabric via ECM window", time.monotonic() - t0)

    # Both ecosystems see and control the same light.
    controller.invoke(node, FIRST_LIGHT_ENDPOINT, Clusters.OnOff.Commands.On())
    assert beta.read_attribute(node_b, FIRST_LIGHT_ENDPOINT, OnOff) is True
    beta.invoke(node_b, FIRST_LIGHT_ENDPOINT, Clusters.OnOff.Commands.Off())
    assert controller.read_attribute(node, FIRST_LIGHT_ENDPOINT, OnOff) is False

    fabrics = controller.read_attribute(node, 0, Clusters.OperationalCredentials.Attributes.Fabrics,
                                        fabric_filtered=False)
    assert len(fabrics) == 2


def test_reconnect_after_device_restart(commissioned, controller, timings):
    dev, node = commissioned
    ep = FIRST_LIGHT_ENDPOINT
    controller.invoke(node, ep, Clusters.OnOff.Commands.On())
    sub = controller.subscribe(node, [(ep, OnOff)], min_interval=0, max_interval=5)

    dev.restart()  # SIGTERM, same storage dir
    assert dev.grep(r"commissioned=true"), "the stand-in should come back commissioned"

    took = controller.reconnect(node, timeout=60)
    timings.add("CASE reconnect after device restart", took)
    assert controller.read_attribute(node, 0, Clusters.BasicInformation.Attributes.VendorID) == 0xFFF1
    controller.invoke(node, ep, Clusters.OnOff.Commands.Toggle())
    assert controller.read_attribute(node, ep, OnOff) is not None

    # The subscription made before the restart is re-established (by itself after its liveness timeout, ~25 s;
    # resubscribe_now() cuts that short) and reports again.
    timings.add("re-establish old subscription after restart", sub.resubscribe_now())
    mark = sub.mark()
    t0 = time.monotonic()
    controller.invoke(node, ep, Clusters.OnOff.Commands.On())
    sub.wait_for(ep, OnOff, True, since=mark, timeout=60)
    timings.add("report on the re-established subscription", time.monotonic() - t0)
    sub.close()


def test_sweep_removes_the_namespaces_of_a_run_that_died(sandbox):
    """`run.sh` sweeps namespaces whose run is gone, including a run's second pair (hb-<pid>a-*, the aged
    bridge's): a SIGKILLed run must not leave any behind."""
    import subprocess

    from hbe2e import netns

    dead = subprocess.Popen(["true"])
    dead.wait()
    pairs = [netns.create(f"hb-{dead.pid}"), netns.create(f"hb-{dead.pid}a")]
    try:
        swept = netns.sweep_stale()
        assert {f"hb-{dead.pid}", f"hb-{dead.pid}a"} <= set(swept), swept
        left = [ns for ns in netns.list_namespaces() if ns.startswith(f"hb-{dead.pid}")]
        assert not left, left
        # The live run's own namespaces stay.
        assert sandbox.pair.dev in netns.list_namespaces()
    finally:
        for p in pairs:
            netns.destroy(p.prefix)
