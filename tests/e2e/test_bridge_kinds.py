"""The sensor, alarm and fan kinds and the `with` capabilities of the built-in demo, read, driven and
listened to with the connectedhomeip controller: values in Matter units, FeatureMaps, a fan driven by a
PercentSetting write, a leak's StateChange event and a smoke alarm's SmokeAlarm event."""

from __future__ import annotations

import pytest
from chip.clusters.Types import NullValue

from hbe2e.controller import Clusters
from test_bridge_demo import demo  # noqa: F401  (the fixture: the demo commissioned by the controller)

pytestmark = pytest.mark.hubbridge

C = Clusters


def test_new_kinds_and_capabilities_read_in_matter_units(demo, controller):  # noqa: F811
    dev, node, api = demo
    ep = lambda dev_id: api.device(dev_id)["endpoint"]  # noqa: E731
    read = lambda dev_id, attr: controller.read_attribute(node, ep(dev_id), attr)  # noqa: E731

    # Light sensor: 10000·log10(lux) + 1.
    api.set_state("garden-light", {"illuminance": 1000})
    assert read("garden-light", C.IlluminanceMeasurement.Attributes.MeasuredValue) == 30001
    # Flow: 0.1 m³/h.
    api.set_state("garden-water-flow", {"flow": 12.3})
    assert read("garden-water-flow", C.FlowMeasurement.Attributes.MeasuredValue) == 123
    # Pressure: hPa = 0.1 kPa (the demo's barometer drifts by at most 1 hPa between two reads).
    api.set_state("hall-barometer", {"pressure": 1000})
    assert abs(read("hall-barometer", C.PressureMeasurement.Attributes.MeasuredValue) - 1000) <= 1
    # Rain and freeze are Boolean State.
    api.set_state("garden-rain", {"rain": True})
    assert read("garden-rain", C.BooleanState.Attributes.StateValue) is True

    # Smoke CO Alarm: one device type, the features say which alarms.
    for dev_id, features in [("hall-smoke", 1), ("garage-co", 2), ("kitchen-smoke-co", 3)]:
        assert read(dev_id, C.SmokeCoAlarm.Attributes.FeatureMap) == features, dev_id
        assert read(dev_id, C.SmokeCoAlarm.Attributes.ExpressedState) == 0, dev_id
    api.set_state("garage-co", {"co": "warning"})
    assert read("garage-co", C.SmokeCoAlarm.Attributes.COState) == 1
    assert read("garage-co", C.SmokeCoAlarm.Attributes.ExpressedState) == 2  # COAlarm
    # The alarms run on batteries: Power Source on the same endpoint.
    assert read("hall-smoke", C.PowerSource.Attributes.FeatureMap) == 0x2
    assert read("kitchen-smoke-co", C.PowerSource.Attributes.FeatureMap) == 0x1  # mains
    assert read("kitchen-smoke-co", C.PowerSource.Attributes.WiredCurrentType) == 0

    # Air quality with every concentration, Numeric Measurement in the documented units.
    assert read("living-air", C.AirQuality.Attributes.FeatureMap) == 0xF
    api.set_state("living-air", {"air_quality": "poor", "co2": 812, "pm25": 7.5, "tvoc": 150})
    assert read("living-air", C.AirQuality.Attributes.AirQuality) == 4
    co2 = C.CarbonDioxideConcentrationMeasurement.Attributes
    assert read("living-air", co2.MeasuredValue) == pytest.approx(812)
    assert read("living-air", co2.MeasurementUnit) == 0  # PPM
    assert read("living-air", co2.FeatureMap) == 0x1
    pm25 = C.Pm25ConcentrationMeasurement.Attributes
    assert read("living-air", pm25.MeasuredValue) == pytest.approx(7.5)
    assert read("living-air", pm25.MeasurementUnit) == 4  # µg/m³
    tvoc = C.TotalVolatileOrganicCompoundsConcentrationMeasurement.Attributes
    assert read("living-air", tvoc.MeasurementUnit) == 1  # PPB
    assert read("living-air", C.FormaldehydeConcentrationMeasurement.Attributes.MeasurementMedium) == 0

    # The multi-sensor: temperature and battery on the device's endpoint (one application device type beside the
    # Power Source utility type), humidity and pressure each on a child endpoint of its own; one state behind all.
    multi = ep("office-multisensor")
    facets = {f["kind"]: f["endpoint"] for f in api.device("office-multisensor")["facets"]}
    assert set(facets) == {"humidity_sensor", "pressure_sensor"}
    hum, press = facets["humidity_sensor"], facets["pressure_sensor"]
    api.set_state("office-multisensor", {"temperature": 21.5, "humidity": 40, "battery": 37,
                                         "battery_low": False})
    trees = controller.read(node, [multi, hum, press])
    tree = trees[multi]
    assert tree[C.TemperatureMeasurement][C.TemperatureMeasurement.Attributes.MeasuredValue] == 2150
    assert C.RelativeHumidityMeasurement not in tree and C.PressureMeasurement not in tree
    assert sorted(tree[C.Descriptor][C.Descriptor.Attributes.PartsList]) == sorted([hum, press])
    assert trees[hum][C.RelativeHumidityMeasurement][C.RelativeHumidityMeasurement.Attributes.MeasuredValue] == 4000
    assert {t.deviceType for t in trees[hum][C.Descriptor][C.Descriptor.Attributes.DeviceTypeList]} == {0x0307}
    assert C.BridgedDeviceBasicInformation not in trees[hum]
    assert C.PressureMeasurement in trees[press] and C.Identify in trees[press]
    ps = tree[C.PowerSource]
    assert ps[C.PowerSource.Attributes.BatPercentRemaining] == 74
    assert ps[C.PowerSource.Attributes.BatChargeLevel] == 0
    assert ps[C.PowerSource.Attributes.BatReplacementNeeded] is False
    # The battery powers the whole device: its own endpoint and both children.
    assert sorted(ps[C.PowerSource.Attributes.EndpointList]) == sorted([multi, hum, press])
    # A humidity change is reported to a subscriber on the humidity endpoint.
    rh = C.RelativeHumidityMeasurement.Attributes.MeasuredValue
    sub = controller.subscribe(node, [(hum, rh)])
    try:
        mark = sub.mark()
        api.set_state("office-multisensor", {"humidity": 55.5})
        assert sub.wait_for(hum, rh, 5550, since=mark) == 5550
    finally:
        sub.close()
    api.set_state("office-multisensor", {"battery": 5, "battery_low": True})
    assert read("office-multisensor", C.PowerSource.Attributes.BatChargeLevel) == 2  # critical
    assert read("office-multisensor", C.PowerSource.Attributes.BatReplacementNeeded) is True

    # The metering plug: On/Off plus an Electrical Sensor in mW, mV, mA and mWh.
    api.set_state("washer-plug", {"power": 1200.5, "voltage": 229.9, "current": 5.2, "energy": 3.25})
    epm = C.ElectricalPowerMeasurement.Attributes
    assert read("washer-plug", epm.ActivePower) == 1_200_500
    assert read("washer-plug", epm.Voltage) == 229_900
    assert read("washer-plug", epm.ActiveCurrent) == 5_200
    assert read("washer-plug", epm.PowerMode) == 2  # AC
    assert len(read("washer-plug", epm.Accuracy)) == 3
    energy = read("washer-plug", C.ElectricalEnergyMeasurement.Attributes.CumulativeEnergyImported)
    assert energy.energy == 3_250_000
    assert read("washer-plug", C.PowerTopology.Attributes.FeatureMap) == 0x2  # TreeTopology
    controller.invoke(node, ep("washer-plug"), C.OnOff.Commands.On())
    assert api.device("washer-plug")["state"]["on"] is True

    # The dimmable plug is driven like a dimmable light.
    controller.invoke(node, ep("desk-dimmer"), C.LevelControl.Commands.MoveToLevelWithOnOff(
        level=100, transitionTime=0, optionsMask=0, optionsOverride=0))
    s = api.device("desk-dimmer")["state"]
    assert s["on"] is True and s["brightness"] == 100


def test_fan_is_driven_by_percent_and_mode_writes(demo, controller):  # noqa: F811
    dev, node, api = demo
    fan = api.device("bedroom-fan")["endpoint"]
    attrs = C.FanControl.Attributes
    # The demo fan has `with = ["fan_auto"]`: it advertises Auto (a fan without it advertises none).
    assert controller.read_attribute(node, fan, attrs.FeatureMap) == 0x2  # Auto
    assert controller.read_attribute(node, fan, attrs.FanModeSequence) == 2  # OffLowMedHighAuto
    controller.write_attribute(node, fan, attrs.PercentSetting(50))
    s = api.device("bedroom-fan")["state"]
    assert s["fan_percent"] == 50 and s["fan_mode"] == "medium"
    assert controller.read_attribute(node, fan, attrs.FanMode) == 2
    assert controller.read_attribute(node, fan, attrs.PercentCurrent) == 50
    controller.write_attribute(node, fan, attrs.FanMode(3))  # High
    assert api.device("bedroom-fan")["state"]["fan_percent"] == 100
    controller.write_attribute(node, fan, attrs.FanMode(5))  # Auto: no setting in force
    assert controller.read_attribute(node, fan, attrs.PercentSetting) is NullValue
    controller.write_attribute(node, fan, attrs.PercentSetting(0))
    assert api.device("bedroom-fan")["state"]["fan_mode"] == "off"


def test_leak_and_smoke_alarm_raise_their_events(demo, controller):  # noqa: F811
    dev, node, api = demo
    leak = api.device("kitchen-leak")["endpoint"]
    api.set_state("kitchen-leak", {"leak": True})
    events = controller.read_events(node, [(leak, C.BooleanState.Events.StateChange, 1)])
    assert [e.Data.stateValue for e in events] == [True]
    assert controller.read_attribute(node, leak, C.BooleanState.Attributes.StateValue) is True

    smoke = api.device("hall-smoke")["endpoint"]
    api.set_state("hall-smoke", {"smoke": "critical"})
    assert controller.read_attribute(node, smoke, C.SmokeCoAlarm.Attributes.ExpressedState) == 1
    alarms = controller.read_events(node, [(smoke, C.SmokeCoAlarm.Events.SmokeAlarm, 1)])
    assert [e.Data.alarmSeverityLevel for e in alarms] == [2]
    assert alarms[0].Header.Priority.value == 2  # Critical
    api.set_state("hall-smoke", {"smoke": "normal"})
    clear = controller.read_events(node, [(smoke, C.SmokeCoAlarm.Events.AllClear, 1)])
    assert len(clear) == 1
