"""Device events and Scenes Management, as a Matter controller sees them.

- A generic switch (the demo's hall button): `POST /api/devices/{id}/events` with a press becomes the Switch
  cluster's exact event sequence in an event subscription (event numbers rising, Info priority, timestamps),
  CurrentPosition follows; a press on a light is refused naming the field and the value.
- Scenes on a light: StoreScene, change the light, RecallScene → the light is back (read over Matter and in
  the API, i.e. the recall went through the registry to the device's source); the scene survives a restart.
"""

from __future__ import annotations

import os
import time

import pytest

from hbe2e.api import Api
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml
from test_bridge_demo import demo  # noqa: F401 - the demo fixture
from test_bridge_matter import API_PORT

pytestmark = pytest.mark.hubbridge

C = Clusters
SWITCH = 0x003B
INITIAL_PRESS, LONG_PRESS, SHORT_RELEASE, LONG_RELEASE, MULTI_ONGOING, MULTI_COMPLETE = 1, 2, 3, 4, 5, 6
NAMES = {1: "InitialPress", 2: "LongPress", 3: "ShortRelease", 4: "LongRelease", 5: "MultiPressOngoing",
         6: "MultiPressComplete"}
INFO = 1  # EventPriority Info


def press(api: Api, device: str, body: dict, expect: int = 202):
    return api.call("POST", f"/devices/{device}/events", body, expect=expect)


def switch_events(sub, n, since):
    return sub.wait_for_count(n, since=since, predicate=lambda e: e.cluster_id == SWITCH, timeout=20)


def test_double_and_long_press_are_the_switch_sequences(demo, controller, timings):  # noqa: F811
    dev, node, api = demo
    button = api.device("hall-button")
    assert button["kind"] == "generic_switch"
    ep = button["endpoint"]
    types = {t.deviceType for t in controller.read_attribute(node, ep, C.Descriptor.Attributes.DeviceTypeList)}
    assert types == {0x000F, 0x0013}
    assert controller.read_attribute(node, ep, C.Switch.Attributes.FeatureMap) == 0x1E  # MS|MSR|MSL|MSM
    assert controller.read_attribute(node, ep, C.Switch.Attributes.NumberOfPositions) == 2
    assert controller.read_attribute(node, ep, C.Switch.Attributes.MultiPressMax) == 3
    assert controller.read_attribute(node, ep, C.Switch.Attributes.CurrentPosition) == 0

    sub = controller.subscribe_events(node, [(ep, C.Switch, 1)])
    attrs = controller.subscribe(node, [(ep, C.Switch.Attributes.CurrentPosition)])
    mark, amark = sub.mark(), attrs.mark()
    t0 = time.monotonic()
    _, body = press(api, "hall-button", {"press": "double"})
    assert body["event"] == {"press": "double"}
    got = switch_events(sub, 6, mark)
    timings.add("double press: POST → MultiPressComplete in the subscription", time.monotonic() - t0)
    sub.settle(1.0)
    got = [e for e in sub.events[mark:] if e.cluster_id == SWITCH]
    assert [NAMES[e.event_id] for e in got] == [
        "InitialPress", "ShortRelease", "InitialPress", "MultiPressOngoing", "ShortRelease", "MultiPressComplete"]
    assert all(e.endpoint == ep and e.priority == INFO and e.timestamp for e in got)
    numbers = [e.number for e in got]
    assert numbers == sorted(numbers) and len(set(numbers)) == 6
    assert got[0].data.newPosition == 1 and got[1].data.previousPosition == 1
    assert got[3].data.currentNumberOfPressesCounted == 2
    assert got[5].data.totalNumberOfPressesCounted == 2 and got[5].data.previousPosition == 1
    # CurrentPosition was 1 while pressed and is 0 after.
    attrs.wait_for(ep, C.Switch.Attributes.CurrentPosition, 1, since=amark)
    attrs.wait_for(ep, C.Switch.Attributes.CurrentPosition, 0, since=amark)
    assert controller.read_attribute(node, ep, C.Switch.Attributes.CurrentPosition) == 0

    mark = sub.mark()
    press(api, "hall-button", {"press": "long"})
    got = switch_events(sub, 3, mark)
    sub.settle(1.0)
    got = [e for e in sub.events[mark:] if e.cluster_id == SWITCH]
    assert [NAMES[e.event_id] for e in got] == ["InitialPress", "LongPress", "LongRelease"]
    assert got[0].number > numbers[-1]

    # A press on a light is refused, naming the field and the value; nothing reaches Matter.
    mark = sub.mark()
    _, err = press(api, "hall-light", {"press": "single"}, expect=400)
    assert "`press`" in err["error"] and "single" in err["error"], err
    _, err = press(api, "hall-button", {"press": "sideways"}, expect=400)
    assert "press" in err["error"] and "sideways" in err["error"], err
    sub.settle(1.0)
    assert sub.events[mark:] == []


def test_scene_store_change_recall_and_restart(hubbridge, sandbox, device_dir, controller, timings):
    devices = [dict(id="lounge", kind="extended_color_light", name="Lounge",
                    state=dict(on=True, brightness=120, color_temp_mireds=300, color_mode="color_temp"))]
    storage = os.path.join(device_dir, "state")
    cfg = config_toml(storage, interface=sandbox.pair.dev_if, api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                      devices=devices)
    dev = hubbridge(cfg)
    node = controller.commission(dev.pairing_codes().manual)
    api = Api(sandbox.pair.dev_addr6)
    ep = api.device("lounge")["endpoint"]
    S = C.ScenesManagement
    assert controller.read_attribute(node, ep, S.Attributes.ClusterRevision) == 1
    assert controller.read_attribute(node, ep, S.Attributes.SceneTableSize) >= 16
    accepted = set(controller.read_attribute(node, ep, S.Attributes.AcceptedCommandList))
    assert {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x40} <= accepted

    r = controller.invoke(node, ep, S.Commands.StoreScene(groupID=0, sceneID=1))
    assert r.status == 0 and r.sceneID == 1
    view = controller.invoke(node, ep, S.Commands.ViewScene(groupID=0, sceneID=1))
    assert view.status == 0
    stored = {(f.clusterID, a.attributeID): (a.valueUnsigned8, a.valueUnsigned16)
              for f in view.extensionFieldSetStructs for a in f.attributeValueList}
    assert stored[(0x0006, 0x0000)][0] == 1
    assert stored[(0x0008, 0x0000)][0] == 120
    assert stored[(0x0300, 0x0007)][1] == 300

    # Change the light from Matter and from the API (as the device itself would).
    controller.invoke(node, ep, C.LevelControl.Commands.MoveToLevel(level=10, transitionTime=0, optionsMask=0,
                                                                   optionsOverride=0))
    api.set_state("lounge", {"on": False, "color_temp_mireds": 450})
    assert controller.read_attribute(node, ep, C.OnOff.Attributes.OnOff) is False

    t0 = time.monotonic()
    controller.invoke(node, ep, S.Commands.RecallScene(groupID=0, sceneID=1))
    deadline = time.monotonic() + 10
    while api.device("lounge")["state"].get("on") is not True and time.monotonic() < deadline:
        time.sleep(0.05)
    timings.add("scene recall → state back in the registry", time.monotonic() - t0)
    st = api.device("lounge")["state"]
    assert (st["on"], st["brightness"], st["color_temp_mireds"], st["color_mode"]) == (True, 120, 300, "color_temp")
    assert controller.read_attribute(node, ep, C.OnOff.Attributes.OnOff) is True
    assert controller.read_attribute(node, ep, C.LevelControl.Attributes.CurrentLevel) == 120
    assert controller.read_attribute(node, ep, C.ColorControl.Attributes.ColorTemperatureMireds) == 300
    info = controller.read_attribute(node, ep, S.Attributes.FabricSceneInfo)
    assert len(info) == 1 and info[0].currentScene == 1 and info[0].sceneValid is True and info[0].sceneCount == 1

    membership = controller.invoke(node, ep, S.Commands.GetSceneMembership(groupID=0))
    assert membership.status == 0 and list(membership.sceneList) == [1]

    # A change outside the recall invalidates the current scene.
    api.set_state("lounge", {"brightness": 50})
    deadline = time.monotonic() + 10
    while controller.read_attribute(node, ep, S.Attributes.FabricSceneInfo)[0].sceneValid and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert controller.read_attribute(node, ep, S.Attributes.FabricSceneInfo)[0].sceneValid is False

    # The scene survives a restart (rs-matter's KV blob in the storage dir).
    dev.stop()
    dev.start()
    controller.reconnect(node)
    membership = controller.invoke(node, ep, S.Commands.GetSceneMembership(groupID=0), timeout=60)
    assert list(membership.sceneList) == [1]
    controller.invoke(node, ep, S.Commands.RecallScene(groupID=0, sceneID=1))
    deadline = time.monotonic() + 10
    while api.device("lounge")["state"].get("brightness") != 120 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.device("lounge")["state"]["brightness"] == 120

    r = controller.invoke(node, ep, S.Commands.RemoveScene(groupID=0, sceneID=1))
    assert r.status == 0
    view = controller.invoke(node, ep, S.Commands.ViewScene(groupID=0, sceneID=1))
    assert view.status == 0x8B  # NOT_FOUND
