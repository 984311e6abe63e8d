"""`hubbridge status`, `hubbridge devices` and `hubbridge fabrics [remove N]` against a real running bridge over its API (from the controller's
namespace, across the veth, as an admin on another machine would), and the bridge's systemd readiness
notification (`READY=1` / `STATUS=` / `STOPPING=1` on a real AF_UNIX datagram socket, as systemd reads it)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import WORKSPACE, hubbridge_binary
from hbe2e.api import Api, read_token
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
DEVICES = [dict(id="lamp", kind="dimmable_light", name="Lamp", room="Kitchen", state=dict(on=False, brightness=10)),
           dict(id="door", kind="door_lock", name="Front door")]
# A connector whose broker is not there: status must say so in plain words.
DEAD_BROKER = '[[connectors]]\ntype = "mqtt"\nname = "home"\nhost = "127.0.0.1"\nport = 1\n'


def cli(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    binary = hubbridge_binary()
    assert binary, "hubbridge binary not built"
    e = {k: v for k, v in os.environ.items() if k != "HUBBRIDGE_TOKEN"}
    e.update(env or {})
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30, env=e)
    if check:
        assert p.returncode == 0, f"hubbridge {' '.join(args)} failed ({p.returncode}): {p.stderr}"
    return p


def test_status_and_devices_show_what_the_bridge_serves(hubbridge, sandbox, device_dir):
    storage = os.path.join(device_dir, "state")
    cfg_text = config_toml(storage, interface=sandbox.pair.dev_if, api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                           devices=DEVICES, api_extra=dict(read_only_tokens=["dashboard"]), extra=DEAD_BROKER)
    cfg = os.path.join(device_dir, "hubbridge.toml")
    with open(cfg, "w") as f:
        f.write(cfg_text)
    dev = hubbridge(cfg)
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    url = f"http://[{sandbox.pair.dev_addr6}]:{API_PORT}"

    # The config names the API, its token file and so everything: no other flag needed.
    api.wait_connector("home", lambda c: c["last_error"], what="the connector's first failure")
    out = cli("status", "--config", cfg).stdout
    assert f"Bridge:      ok at {url}" in out, out
    assert "Devices:     2 (2 reachable)" in out, out
    assert "not paired: commissioning window open" in out, out
    assert "home (mqtt): NOT CONNECTED" in out and "last error:" in out, out

    # A change made elsewhere shows in the next listing.
    api.set_state("lamp", {"on": True, "brightness": 200})
    api.set_reachable("door", False)
    table = cli("devices", "--config", cfg).stdout.splitlines()
    assert table[0].split() == ["ID", "KIND", "ENDPOINT", "REACHABLE", "ROOM", "STATE"], table
    lamp = next(line for line in table if line.startswith("lamp "))
    assert lamp.split()[:5] == ["lamp", "dimmable_light", str(api.device("lamp")["endpoint"]), "yes", "Kitchen"], lamp
    assert "brightness=200" in lamp and "on=true" in lamp, lamp
    door = next(line for line in table if line.startswith("door "))
    assert door.split()[3] == "NO", door
    assert table[-1] == "2 device(s), 1 reachable", table
    assert "Devices:     2 (1 reachable)" in cli("status", "--config", cfg).stdout

    # --json gives the API's own shapes for scripts.
    listed = json.loads(cli("devices", "--config", cfg, "--json").stdout)
    assert {d["id"]: d["state"].get("brightness") for d in listed} == {"lamp": 200, "door": None}
    status = json.loads(cli("status", "--config", cfg, "--json").stdout)
    assert status["api"] == url and status["health"]["devices"] == 2 and status["reachable_devices"] == 1
    assert status["fabrics"] == 0
    assert status["connectors"][0]["connected"] is False and "dead_letters" in status["connectors"][0]["outbox"]

    # Without the config: --api and the token from the environment, or a read-only token by flag.
    admin = read_token(storage)
    out = cli("devices", "--api", url, env={"HUBBRIDGE_TOKEN": admin}).stdout
    assert "lamp" in out and "door" in out
    dashboard = cli("token", "--config", cfg, "--name", "dashboard").stdout.strip()
    out = cli("status", "--api", url, "--token", dashboard).stdout
    assert "Devices:     2 (1 reachable)" in out, out

    # A wrong token, a rotated one: refused, saying so.
    p = cli("status", "--api", url, "--token", "0" * 64, check=False)
    assert p.returncode == 1 and "refused the token (401" in p.stderr, p.stderr
    cli("token", "--config", cfg, "--rotate")
    p = cli("devices", "--api", url, "--token", admin, check=False)
    assert p.returncode == 1 and "refused the token" in p.stderr, p.stderr
    assert "lamp" in cli("devices", "--config", cfg).stdout  # the file holds the new one

    # The bridge gone: named plainly, not a stack of errors.
    dev.stop()
    p = cli("status", "--config", cfg, check=False)
    assert p.returncode == 1, p
    assert f"no bridge is running at {url}" in p.stderr, p.stderr


def test_fabrics_lists_the_controllers_and_removes_one(hubbridge, sandbox, device_dir, controller, new_controller):
    storage = os.path.join(device_dir, "state")
    cfg = os.path.join(device_dir, "hubbridge.toml")
    with open(cfg, "w") as f:
        f.write(config_toml(storage, interface=sandbox.pair.dev_if, api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                            devices=DEVICES[:1], api_extra=dict(read_only_tokens=["dashboard"])))
    dev = hubbridge(cfg)
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    assert cli("fabrics", "--config", cfg).stdout.startswith("Not paired with any controller")

    # Two real controllers on two fabrics (the second through a window the API opens).
    node = controller.commission(dev.pairing_codes().manual)
    window = api.call("POST", "/pairing/window", {}, expect=200)[1]
    beta = new_controller("beta-cli")
    node2 = beta.commission(window["manual_code"])
    lamp = api.device("lamp")["endpoint"]
    OnOff = Clusters.OnOff.Attributes.OnOff
    assert beta.read_attribute(node2, lamp, OnOff) is False

    table = cli("fabrics", "--config", cfg).stdout.splitlines()
    assert table[0].split() == ["INDEX", "VENDOR", "LABEL", "NODE", "ID", "FABRIC", "ID", "CONTROLLER"], table
    rows = {int(line.split()[0]): line.split() for line in table[1:-1]}
    assert sorted(rows) == [1, 2], table
    assert rows[1][1] == "0xFFF1" and int(rows[1][3], 16) == node, table
    assert int(rows[2][3], 16) == node2, table
    assert table[-1].startswith("2 controller(s)"), table
    listed = json.loads(cli("fabrics", "--config", cfg, "--json").stdout)["fabrics"]
    assert {f["fabric_index"]: f["node_id"] for f in listed} == {1: node, 2: node2}

    # Refusals name the problem; nothing is removed by them.
    dashboard = cli("token", "--config", cfg, "--name", "dashboard").stdout.strip()
    url = f"http://[{sandbox.pair.dev_addr6}]:{API_PORT}"
    assert "2 controller(s)" in cli("fabrics", "--api", url, "--token", dashboard).stdout
    p = cli("fabrics", "remove", "2", "--api", url, "--token", dashboard, check=False)
    assert p.returncode == 1 and "403" in p.stderr and "DELETE /api/fabrics/2" in p.stderr, p.stderr
    p = cli("fabrics", "remove", "9", "--config", cfg, check=False)
    assert p.returncode == 1 and "no fabric with index 9" in p.stderr, p.stderr
    p = cli("fabrics", "remove", "0", "--config", cfg, check=False)
    assert p.returncode == 2 and "'0'" in p.stderr and "1..=254" in p.stderr, p.stderr
    assert len(json.loads(cli("fabrics", "--config", cfg, "--json").stdout)["fabrics"]) == 2

    # Removing the second: it says which, the list shrinks, that controller is locked out, the first is not.
    out = cli("fabrics", "remove", "2", "--config", cfg).stdout
    assert out.startswith("Removed fabric 2 (vendor 0xFFF1, node ") and f"{node2:016X}" in out, out
    assert [int(line.split()[0]) for line in cli("fabrics", "--config", cfg).stdout.splitlines()[1:-1]] == [1]
    try:
        value = beta.read_attribute(node2, lamp, OnOff, timeout=15)
    except Exception as e:  # noqa: BLE001 - a refused session or a timeout both mean "locked out"
        value = f"refused: {e}"
    assert value is not False and value is not True, f"the removed controller still reads OnOff: {value!r}"
    assert controller.read_attribute(node, lamp, OnOff) is False


def test_status_over_https_checks_the_bridge_certificate(hubbridge, sandbox, device_dir):
    pki = os.path.join(device_dir, "pki")
    subprocess.run(["bash", os.path.join(WORKSPACE, "certs", "gen-test-pki.sh"), pki, f"IP:{sandbox.pair.dev_addr6}"],
                   check=True, capture_output=True)
    storage = os.path.join(device_dir, "state")
    cfg = os.path.join(device_dir, "hubbridge.toml")
    with open(cfg, "w") as f:
        f.write(config_toml(storage, interface=sandbox.pair.dev_if, api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                            devices=DEVICES[:1], api_extra=dict(tls_cert=os.path.join(pki, "server.pem"),
                                                                tls_key=os.path.join(pki, "server.key"))))
    hubbridge(cfg)
    url = f"https://[{sandbox.pair.dev_addr6}]:{API_PORT}"
    out = cli("status", "--config", cfg, "--ca", os.path.join(pki, "ca.pem")).stdout
    assert f"ok at {url}" in out and "Devices:     1 (1 reachable)" in out, out
    # A certificate the client cannot trust is an error, never a silent downgrade.
    p = cli("status", "--config", cfg, "--ca", os.path.join(pki, "other-ca.pem"), check=False)
    assert p.returncode == 1 and "TLS with the bridge at" in p.stderr, p.stderr
    p = cli("status", "--api", url.replace("https", "http"), "--config", cfg, check=False)
    assert p.returncode == 1, p


def test_systemd_readiness_comes_when_the_api_serves(hubbridge, sandbox, device_dir):
    # sun_path holds 108 bytes: the run dir is too deep for it. /tmp is the run's own (private mount).
    path = os.path.join(tempfile.mkdtemp(prefix="hbnotify"), "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(60)
    try:
        storage = os.path.join(device_dir, "state")
        cfg = config_toml(storage, interface=sandbox.pair.dev_if, api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                          devices=DEVICES[:1])
        dev = hubbridge(cfg, env={"NOTIFY_SOCKET": path}, start=False)
        dev.start()
        first = sock.recv(4096).decode()
        lines = first.split("\n")
        assert lines[0] == "READY=1", first
        assert lines[1].startswith("STATUS=serving; not paired"), first
        assert "MT:" not in first and "pairing code" not in first.replace("shows the code", "")
        # Ready means serving: the API answers now.
        with urllib.request.urlopen(f"http://[{sandbox.pair.dev_addr6}]:{API_PORT}/healthz", timeout=5) as r:
            assert r.read() == b"ok"
        t0 = time.monotonic()
        dev.stop()
        msgs = []
        while time.monotonic() - t0 < 30:
            try:
                msgs.append(sock.recv(4096).decode())
            except socket.timeout:
                break
            if "STOPPING=1" in msgs[-1]:
                break
        assert "STOPPING=1" in msgs, msgs
    finally:
        sock.close()
