"""Several Matter nodes from one process (issue 14): `[bridge]` (node `main`) and a `[[nodes]]` entry `kitchen`
selecting the devices in the Kitchen. Two real CHIP controllers, one per node: each node's aggregator lists only its
own devices (a device added through the API at run time lands on the node its room selects), each controller drives
its own devices, a change reaches the MQTT connector once (one registry and one set of connectors behind both
nodes), and after a restart both controllers reach their node again without re-pairing (each node keeps its own
fabrics, identity and code under its own storage)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from conftest import hubbridge_binary
from hbe2e.api import Api
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml
from hbe2e.mosquitto import Watcher, connector_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
AGGREGATOR = 1
DEVICES = [dict(id="hall-light", kind="on_off_light", name="Hall light", room="Hall"),
           dict(id="hall-sensor", kind="contact_sensor", name="Hall door", room="Hall"),
           dict(id="kitchen-light", kind="on_off_light", name="Kitchen light", room="Kitchen"),
           dict(id="kitchen-plug", kind="on_off_plug_in_unit", name="Kettle", room="Kitchen")]
NODES = """
[[nodes]]
id = "kitchen"
name = "Kitchen bridge"
port = 5541
rooms = ["Kitchen"]
"""
OnOff = Clusters.OnOff
PartsList = Clusters.Descriptor.Attributes.PartsList
UniqueID = Clusters.BasicInformation.Attributes.UniqueID


def wait(what: str, check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = check()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_nodes_two_controllers_each_sees_only_its_devices(hubbridge, mosquitto, sandbox, device_dir, controller,
                                                              new_controller):
    mq = mosquitto()
    watcher = Watcher(mq, topics=("hb/#",), client_id="watcher-nodes")
    try:
        cfg = config_toml(f"{device_dir}/state", interface=sandbox.pair.dev_if, name="Hall bridge",
                          api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=DEVICES,
                          extra=NODES + "\n" + connector_toml(mq, name="home", base="hb"))
        with open(os.path.join(device_dir, "hubbridge.toml"), "w") as f:
            f.write(cfg)
        dev = hubbridge(cfg)
        api = Api(sandbox.pair.dev_addr6, API_PORT)
        ep = {d["id"]: api.device(d["id"])["endpoint"] for d in DEVICES}

        nodes = {n["id"]: n for n in api.call("GET", "/nodes", expect=200)[1]["nodes"]}
        assert list(nodes) == ["main", "kitchen"]
        assert (nodes["main"]["port"], nodes["main"]["devices"], nodes["main"]["commissioned"]) == (5540, 2, False)
        assert (nodes["kitchen"]["port"], nodes["kitchen"]["devices"], nodes["kitchen"]["name"]) == \
            (5541, 2, "Kitchen bridge")
        main_code = api.call("GET", "/pairing", expect=200)[1]["manual_code"]
        kitchen_code = api.call("GET", "/nodes/kitchen/pairing", expect=200)[1]["manual_code"]
        assert main_code != kitchen_code
        # Each node announces its own code; the one printed at start is the main node's.
        assert dev.pairing_codes().manual == main_code.replace("-", "")
        assert dev.grep(r"Node `kitchen` \(Kitchen bridge, port 5541\): not paired")
        api.call("GET", "/nodes/nowhere/pairing", expect=404)

        hall = controller.commission(main_code)
        kitchen_ctl = new_controller("kitchen")
        kitchen = kitchen_ctl.commission(kitchen_code)
        # Two nodes, two identities.
        uid_main = controller.read_attribute(hall, 0, UniqueID)
        uid_kitchen = kitchen_ctl.read_attribute(kitchen, 0, UniqueID)
        assert uid_main and uid_kitchen and uid_main != uid_kitchen
        assert sorted(controller.read_attribute(hall, AGGREGATOR, PartsList)) == \
            sorted([ep["hall-light"], ep["hall-sensor"]])
        assert sorted(kitchen_ctl.read_attribute(kitchen, AGGREGATOR, PartsList)) == \
            sorted([ep["kitchen-light"], ep["kitchen-plug"]])
        # Another node's endpoints are not there at all (a wildcard read of each node).
        assert sorted(controller.endpoints(hall)) == sorted([0, 1, ep["hall-light"], ep["hall-sensor"]])
        assert sorted(kitchen_ctl.endpoints(kitchen)) == sorted([0, 1, ep["kitchen-light"], ep["kitchen-plug"]])

        # Each controller drives its own devices; the change reaches the cloud once.
        mark = watcher.mark()
        kitchen_ctl.invoke(kitchen, ep["kitchen-light"], OnOff.Commands.On())
        wait("the kitchen light on", lambda: api.device("kitchen-light")["state"]["on"] is True)
        watcher.wait_for("hb/kitchen-light", lambda m: m.json().get("on") is True, since=mark)
        time.sleep(1.0)
        ons = [m for m in watcher.on("hb/kitchen-light", since=mark) if m.json().get("on") is True]
        assert len(ons) == 1, [m.json() for m in ons]
        controller.invoke(hall, ep["hall-light"], OnOff.Commands.On())
        wait("the hall light on", lambda: api.device("hall-light")["state"]["on"] is True)
        api.set_state("kitchen-plug", {"on": True})
        wait("the plug's change read on the kitchen node",
             lambda: kitchen_ctl.read_attribute(kitchen, ep["kitchen-plug"], OnOff.Attributes.OnOff) is True)

        # A device added at run time goes to the node its room selects, and only there.
        api.call("POST", "/devices", dict(id="kitchen-lamp", kind="dimmable_light", name="Counter lamp",
                                          room="Kitchen"), expect=201)
        lamp = api.device("kitchen-lamp")["endpoint"]
        wait("the new lamp on the kitchen node",
             lambda: lamp in kitchen_ctl.read_attribute(kitchen, AGGREGATOR, PartsList))
        assert lamp not in controller.read_attribute(hall, AGGREGATOR, PartsList)
        nodes = {n["id"]: n for n in api.call("GET", "/nodes", expect=200)[1]["nodes"]}
        assert (nodes["main"]["devices"], nodes["kitchen"]["devices"]) == (2, 3)
        assert nodes["main"]["commissioned"] and nodes["kitchen"]["commissioned"]
        # /metrics: each node's pairing and Interaction Model figures under its own `node` label.
        status, _, text = api.raw("GET", api.root + "/metrics")
        assert status == 200
        series = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
        assert series['hubbridge_matter_fabrics{node="main"}'] == "1", text
        assert series['hubbridge_matter_fabrics{node="kitchen"}'] == "1", text
        assert series['hubbridge_matter_commissioning_window_open{node="kitchen"}'] == "0", text
        assert int(series['hubbridge_matter_im_messages_received_total{node="kitchen"}']) > 0, text
        assert int(series['hubbridge_matter_im_messages_received_total{node="main"}']) > 0, text
        # Each node counts its own commands (one On each), sessions, attribute changes.
        assert series['hubbridge_matter_invokes_total{node="kitchen",result="success"}'] == "1", text
        assert series['hubbridge_matter_invokes_total{node="main",result="success"}'] == "1", text
        assert int(series['hubbridge_matter_sessions{node="kitchen"}']) >= 1, text
        assert int(series['hubbridge_matter_sessions{node="main"}']) >= 1, text
        assert int(series['hubbridge_matter_attribute_reports_total{node="kitchen"}']) >= 2, text
        assert int(series['hubbridge_matter_attribute_reports_total{node="main"}']) >= 1, text
        kitchen_fabrics = api.call("GET", "/nodes/kitchen/fabrics", expect=200)[1]["fabrics"]
        assert len(kitchen_fabrics) == 1 and len(api.call("GET", "/fabrics", expect=200)[1]["fabrics"]) == 1

        # The CLI shows both nodes.
        out = dev_cli(device_dir, "nodes")
        assert "main" in out and "kitchen" in out and "Kitchen bridge" in out and "5541" in out, out

        # Restart: both nodes keep their fabrics and identities; both controllers reconnect without pairing.
        dev.stop()
        dev.start()
        controller.reconnect(hall)
        kitchen_ctl.reconnect(kitchen)
        assert controller.read_attribute(hall, ep["hall-light"], OnOff.Attributes.OnOff) is True
        assert kitchen_ctl.read_attribute(kitchen, ep["kitchen-light"], OnOff.Attributes.OnOff) is True
        assert sorted(kitchen_ctl.read_attribute(kitchen, AGGREGATOR, PartsList)) == \
            sorted([ep["kitchen-light"], ep["kitchen-plug"], lamp])
        assert kitchen_ctl.read_attribute(kitchen, 0, UniqueID) == uid_kitchen
        nodes = {n["id"]: n for n in api.call("GET", "/nodes", expect=200)[1]["nodes"]}
        assert nodes["main"]["commissioned"] and nodes["kitchen"]["commissioned"]
        assert api.call("GET", "/nodes/kitchen/pairing", expect=200)[1]["manual_code"] == kitchen_code
    finally:
        watcher.close()


def dev_cli(device_dir, *args) -> str:
    """`hubbridge <args> --config <the test's config>` against the running bridge."""
    binary = hubbridge_binary()
    assert binary, "hubbridge binary not built"
    env = {k: v for k, v in os.environ.items() if k != "HUBBRIDGE_TOKEN"}
    done = subprocess.run([binary, *args, "--config", os.path.join(device_dir, "hubbridge.toml")],
                          capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_device_moved_by_the_config_is_logged(hubbridge, sandbox, device_dir):
    """Editing the selection moves a device; the bridge says which and that it must be re-paired there."""
    state = f"{device_dir}/state"
    cfg = config_toml(state, interface=sandbox.pair.dev_if, api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                      devices=DEVICES, extra=NODES)
    dev = hubbridge(cfg)
    dev.stop()
    with open(os.path.join(state, "node-assignment.json")) as f:
        assert json.load(f)["kitchen-light"] == "kitchen"
    moved = [dict(d, room="Hall") if d["id"] == "kitchen-plug" else d for d in DEVICES]
    dev2 = hubbridge(config_toml(state, interface=sandbox.pair.dev_if,
                                 api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=moved, extra=NODES),
                     name="hubbridge-moved")
    line = dev2.wait_for_log(r"WARN.*device moved to another Matter node.*")
    assert "kitchen-plug" in line.group(0) and "re-pair" in line.group(0), line.group(0)
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    nodes = {n["id"]: n for n in api.call("GET", "/nodes", expect=200)[1]["nodes"]}
    assert (nodes["main"]["devices"], nodes["kitchen"]["devices"]) == (3, 1)


def test_a_device_as_its_own_matter_node(hubbridge, sandbox, device_dir, new_controller):
    """`[[nodes]] bridged = false`: one device served as a Matter node of its own — no aggregator, no Bridged
    Node device type, no Bridged Device Basic Information — paired and driven by a real controller, while
    the bridge node keeps serving the rest."""
    Descriptor = Clusters.Descriptor.Attributes
    devices = [dict(id="hall-light", kind="on_off_light", name="Hall light", room="Hall"),
               dict(id="heater", kind="on_off_plug_in_unit", name="Heater", room="Hall")]
    alone = '[[nodes]]\nid = "heater"\nname = "Heater"\nport = 5542\nbridged = false\ndevices = ["heater"]\n'
    cfg = config_toml(f"{device_dir}/state", interface=sandbox.pair.dev_if, name="Hall bridge",
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=devices, extra=alone)
    hubbridge(cfg)
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    nodes = {n["id"]: n for n in api.call("GET", "/nodes", expect=200)[1]["nodes"]}
    assert (nodes["main"]["bridged"], nodes["main"]["devices"]) == (True, 1)
    assert (nodes["heater"]["bridged"], nodes["heater"]["devices"]) == (False, 1)
    heater_ep = api.device("heater")["endpoint"]
    rows = {line.split()[0]: line.split() for line in dev_cli(device_dir, "nodes").splitlines()[1:] if line.strip()}
    # NODE NAME PORT TYPE DEVICES INTERFACES ... ("Hall bridge" is two words)
    assert rows["heater"][1:6] == ["Heater", "5542", "device", "1", sandbox.pair.dev_if], rows
    assert rows["main"][3:7] == ["5540", "bridge", "1", sandbox.pair.dev_if], rows

    ctl = new_controller("heater-node")
    node = ctl.commission(api.call("GET", "/nodes/heater/pairing", expect=200)[1]["manual_code"])
    assert sorted(ctl.endpoints(node)) == [0, heater_ep]  # no aggregator
    types = {d.deviceType for d in ctl.read_attribute(node, heater_ep, Descriptor.DeviceTypeList)}
    assert types == {0x010A}, types  # On/Off Plug-in Unit, and not Bridged Node (0x0013)
    servers = ctl.read_attribute(node, heater_ep, Descriptor.ServerList)
    assert 0x0006 in servers and 0x0039 not in servers, servers
    assert {d.deviceType for d in ctl.read_attribute(node, 0, Descriptor.DeviceTypeList)} == {0x0016}
    ctl.invoke(node, heater_ep, OnOff.Commands.On())
    wait("the heater on", lambda: api.device("heater")["state"]["on"] is True)
    api.set_state("heater", {"on": False})
    wait("the API's change read on the heater node",
         lambda: ctl.read_attribute(node, heater_ep, OnOff.Attributes.OnOff) is False)
