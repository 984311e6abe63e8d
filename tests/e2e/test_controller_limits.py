"""Controller limits (issue 14): a bridge paired with a controller that is known to handle at most N bridged devices
warns — in its log, in /api/health `warnings` and in /api/fabrics — as soon as it serves more, and stops warning
when it serves N again or that controller is unpaired. Two real CHIP controllers: one whose fabric carries Amazon's
vendor id (0x1217, the admin vendor id its commissioner writes in AddNOC, as the Alexa app's does) and one test
vendor (0xFFF1, no known limit)."""

from __future__ import annotations

import time

import pytest

from hbe2e.api import Api
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
ALEXA_VID = 0x1217
ALEXA_LIMIT = 100
LIGHTS = [dict(id=f"light-{i}", kind="on_off_light", name=f"Light {i}") for i in range(ALEXA_LIMIT)]


def wait(what: str, check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = check()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_controller_limit_warns_above_it_and_clears(hubbridge, sandbox, device_dir, controller, new_controller):
    cfg = config_toml(f"{device_dir}/state", interface=sandbox.pair.dev_if,
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=LIGHTS)
    dev = hubbridge(cfg)
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    health = lambda: api.call("GET", "/health", expect=200)[1]  # noqa: E731

    node = controller.commission(dev.pairing_codes().manual)
    window = api.call("POST", "/pairing/window", {}, expect=200)[1]
    alexa = new_controller("alexa", vendor_id=ALEXA_VID)
    node2 = alexa.commission(window["manual_code"])
    fabrics = {f["vendor_id"]: f for f in api.call("GET", "/fabrics", expect=200)[1]["fabrics"]}
    assert fabrics[ALEXA_VID]["vendor_name"] == "Amazon Alexa" and fabrics[ALEXA_VID]["device_limit"] == ALEXA_LIMIT
    assert fabrics[0xFFF1]["vendor_name"] is None and fabrics[0xFFF1]["device_limit"] is None
    alexa_index = fabrics[ALEXA_VID]["fabric_index"]

    # Exactly at the limit: no warning.
    time.sleep(0.5)
    assert health()["warnings"] == []
    assert dev.grep("is known to handle at most") is None

    # One more (a composed device counts once: its parts are in it).
    mark = dev.mark()
    api.call("POST", "/devices", dict(id="gang", kind="bridged_node", name="Two-gang switch", parts=[
        dict(id="left", kind="on_off_light", tag="left"), dict(id="right", kind="on_off_light", tag="right")]),
        expect=201)
    warnings = wait("the health warning", lambda: health()["warnings"])
    assert len(warnings) == 1, warnings
    w = warnings[0]
    assert (w["fabric_index"], w["vendor_id"], w["controller"], w["limit"], w["devices"]) == \
        (alexa_index, ALEXA_VID, "Amazon Alexa", ALEXA_LIMIT, ALEXA_LIMIT + 1), w
    assert "at most 100 bridged devices" in w["message"] and "serves 101" in w["message"], w
    line = wait("the log warning", lambda: dev.grep(r"WARN.*Amazon Alexa \(fabric \d+\) is known to handle at most 100.*",
                                                    since=mark))
    assert "serves 101" in line.group(0)
    # The bridge keeps serving both controllers meanwhile.
    OnOff = Clusters.OnOff.Attributes.OnOff
    ep = api.device("light-0")["endpoint"]
    assert alexa.read_attribute(node2, ep, OnOff) is False
    assert controller.read_attribute(node, ep, OnOff) is False

    # Back to the limit: the warning clears, and the log says so.
    mark = dev.mark()
    api.call("DELETE", "/devices/gang", expect=200)
    wait("the warning to clear", lambda: health()["warnings"] == [])
    wait("the log's all-clear", lambda: dev.grep("within Amazon Alexa's known limit again", since=mark))

    # Over it again, then that controller unpaired: nothing left to warn about.
    api.call("POST", "/devices", dict(id="extra", kind="on_off_light", name="Extra"), expect=201)
    wait("the warning again", lambda: health()["warnings"])
    mark = dev.mark()
    api.call("DELETE", f"/fabrics/{alexa_index}", expect=200)
    wait("no warning once Alexa is unpaired", lambda: health()["warnings"] == [])
    wait("the log's note", lambda: dev.grep(rf"Amazon Alexa \(fabric {alexa_index}\) was unpaired", since=mark))
