"""The device model's behaviour over time and across restarts, as a controller sees it: transitions that run
over time and stop part-way, OnWithTimedOff turning the light off on time, settings (StartUpOnOff, OnLevel)
and last-known state kept across a restart, and ConfigurationVersion bumped when the config file changed the
node's shape between two starts (and only then)."""

from __future__ import annotations

import os
import time

import pytest

from hbe2e.api import Api
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml
from test_bridge_matter import API_PORT

pytestmark = pytest.mark.hubbridge

C = Clusters
Level = C.LevelControl
OnOff = C.OnOff
ConfigurationVersion = C.BasicInformation.Attributes.ConfigurationVersion

DEVICES = [
    dict(id="desk", kind="dimmable_light", name="Desk lamp", state=dict(on=True, brightness=10)),
    dict(id="porch", kind="on_off_light", name="Porch light", state=dict(on=False)),
    dict(id="sofa", kind="color_temperature_light", name="Sofa lamp",
         state=dict(on=True, brightness=200, color_temp_mireds=400)),
]


def write_config(sandbox, device_dir, devices=DEVICES) -> str:
    text = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge model",
                       api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=devices)
    with open(os.path.join(device_dir, "hubbridge.toml"), "w") as f:
        f.write(text)
    return text


@pytest.fixture
def model(hubbridge, sandbox, device_dir, controller):
    dev = hubbridge(write_config(sandbox, device_dir))
    node = controller.commission(dev.pairing_codes().manual)
    api = Api(sandbox.pair.dev_addr6)
    eps = {d["id"]: api.device(d["id"])["endpoint"] for d in DEVICES}
    return dev, node, api, eps


def test_a_level_transition_runs_over_time_and_a_stop_holds_it_part_way(model, controller, timings):
    dev, node, api, eps = model
    ep = eps["desk"]
    sub = controller.subscribe(node, [(ep, Level.Attributes.CurrentLevel), (ep, Level.Attributes.RemainingTime)])
    mark = sub.mark()

    # 4 s from 10 to 250.
    t0 = time.monotonic()
    controller.invoke(node, ep, Level.Commands.MoveToLevel(level=250, transitionTime=40, optionsMask=0,
                                                           optionsOverride=0))
    time.sleep(1.5)
    mid = controller.read_attribute(node, ep, Level.Attributes.CurrentLevel)
    remaining = controller.read_attribute(node, ep, Level.Attributes.RemainingTime)
    assert 30 < mid < 230, f"1.5 s into a 4 s transition the level is {mid}"
    assert 5 <= remaining <= 30, f"RemainingTime 1.5 s into 4 s: {remaining} tenths"
    sub.wait_for(ep, Level.Attributes.CurrentLevel, 250, since=mark, timeout=10)
    timings.add("model: 4 s transition to its end", time.monotonic() - t0)
    on_the_way = {r.value for r in sub.reports[mark:] if r.attribute is Level.Attributes.CurrentLevel}
    assert len(on_the_way - {10, 250}) >= 2, f"the subscription saw no steps on the way: {sorted(on_the_way)}"
    assert api.device("desk")["state"]["brightness"] == 250
    sub.wait_for(ep, Level.Attributes.RemainingTime, 0, since=mark, timeout=5)

    # Hold to dim: Move down at 40 units/s (250 → 1 would take ~6 s), released after ~1.5 s.
    controller.invoke(node, ep, Level.Commands.Move(moveMode=1, rate=40, optionsMask=0, optionsOverride=0))
    time.sleep(1.5)
    controller.invoke(node, ep, Level.Commands.Stop(optionsMask=0, optionsOverride=0))
    held = controller.read_attribute(node, ep, Level.Attributes.CurrentLevel)
    assert 100 < held < 240, f"stopped ~1.5 s into a move down at 40/s from 250: {held}"
    time.sleep(1.5)
    assert controller.read_attribute(node, ep, Level.Attributes.CurrentLevel) == held, "the move went on"
    assert controller.read_attribute(node, ep, Level.Attributes.RemainingTime) == 0
    assert api.device("desk")["state"]["brightness"] == held
    assert api.device("desk")["state"]["on"] is True


def test_a_colour_temperature_transition_is_seen_mid_way(model, controller):
    dev, node, api, eps = model
    ep = eps["sofa"]
    controller.invoke(node, ep, C.ColorControl.Commands.MoveToColorTemperature(
        colorTemperatureMireds=200, transitionTime=30, optionsMask=0, optionsOverride=0))
    time.sleep(1.2)
    mid = controller.read_attribute(node, ep, C.ColorControl.Attributes.ColorTemperatureMireds)
    assert 210 < mid < 390, f"1.2 s into 3 s from 400 to 200 mireds: {mid}"
    deadline = time.monotonic() + 6
    while api.device("sofa")["state"]["color_temp_mireds"] != 200:
        assert time.monotonic() < deadline, "the transition never reached its target"
        time.sleep(0.2)


def test_on_with_timed_off_turns_the_light_off_on_time(model, controller, timings):
    dev, node, api, eps = model
    ep = eps["porch"]
    sub = controller.subscribe(node, [(ep, OnOff.Attributes.OnOff), (ep, OnOff.Attributes.OnTime)])
    mark = sub.mark()
    t0 = time.monotonic()
    controller.invoke(node, ep, OnOff.Commands.OnWithTimedOff(onOffControl=0, onTime=30, offWaitTime=20))
    assert controller.read_attribute(node, ep, OnOff.Attributes.OnOff) is True
    assert 0 < controller.read_attribute(node, ep, OnOff.Attributes.OnTime) <= 30
    sub.wait_for(ep, OnOff.Attributes.OnOff, False, since=mark, timeout=10)
    took = time.monotonic() - t0
    timings.add("model: OnWithTimedOff 3 s → off after", took)
    assert 2.5 <= took <= 5.0, f"OnTime 3 s, off after {took:.1f} s"
    assert api.device("porch")["state"]["on"] is False
    # OffWaitTime guards the light: OnWithTimedOff with AcceptOnlyWhenOn is ignored while off.
    assert controller.read_attribute(node, ep, OnOff.Attributes.OffWaitTime) > 0
    controller.invoke(node, ep, OnOff.Commands.OnWithTimedOff(onOffControl=1, onTime=30, offWaitTime=0))
    assert controller.read_attribute(node, ep, OnOff.Attributes.OnOff) is False


def test_settings_and_state_survive_a_restart(model, controller, hubbridge, sandbox, device_dir):
    dev, node, api, eps = model
    porch, desk = eps["porch"], eps["desk"]
    # StartUpOnOff = On (1): the porch light comes up on after a restart, though it was off.
    controller.write_attribute(node, porch, OnOff.Attributes.StartUpOnOff(1))
    controller.write_attribute(node, desk, Level.Attributes.OnLevel(120))
    controller.invoke(node, desk, Level.Commands.MoveToLevel(level=77, transitionTime=0, optionsMask=0,
                                                            optionsOverride=0))
    assert api.device("desk")["state"]["brightness"] == 77
    cv = controller.read_attribute(node, 0, ConfigurationVersion)

    dev.stop()
    dev.start()
    controller.reconnect(node)

    assert controller.read_attribute(node, porch, OnOff.Attributes.StartUpOnOff) == 1
    assert controller.read_attribute(node, porch, OnOff.Attributes.OnOff) is True
    assert controller.read_attribute(node, desk, Level.Attributes.OnLevel) == 120
    assert controller.read_attribute(node, desk, Level.Attributes.CurrentLevel) == 77, \
        "last-known level lost: the config said 10"
    assert api.device("desk")["state"]["brightness"] == 77
    assert controller.read_attribute(node, 0, ConfigurationVersion) == cv, "nothing changed the node's shape"
    # OnLevel acts: Off then On goes to 120.
    controller.invoke(node, desk, OnOff.Commands.Off())
    controller.invoke(node, desk, OnOff.Commands.On())
    assert controller.read_attribute(node, desk, Level.Attributes.CurrentLevel) == 120


def test_configuration_version_bumps_when_the_config_changed_a_device(model, controller, sandbox, device_dir):
    dev, node, api, eps = model
    cv = controller.read_attribute(node, 0, ConfigurationVersion)
    dev.stop()
    # The porch light becomes dimmable: same endpoint, new clusters.
    edited = [dict(d, kind="dimmable_light") if d["id"] == "porch" else d for d in DEVICES]
    write_config(sandbox, device_dir, edited)
    dev.start()
    controller.reconnect(node)
    after = controller.read_attribute(node, 0, ConfigurationVersion)
    assert after > cv, f"ConfigurationVersion {cv} → {after} after a device changed kind"
    assert api.device("porch")["endpoint"] == eps["porch"]
    types = {t.deviceType for t in controller.read_attribute(node, eps["porch"],
                                                             C.Descriptor.Attributes.DeviceTypeList)}
    assert 0x0101 in types
    assert controller.read_attribute(node, eps["porch"], Level.Attributes.CurrentLevel) is not None
