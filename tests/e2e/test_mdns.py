"""mDNS on every interface (issue 14), with mdns-sd and the gap responder beside it (bridge/src/matter/mdns.rs).

- One node on two interfaces (two veth pairs): the questions controllers send are answered on each link with that
  link's addresses only (IPv6 and IPv4), a real CHIP controller pairs over the first link and matter.js over the
  second, by manual code.
- An address added to the interface at run time is announced without a query.
- Pairing by manual code long after start (5 minutes by default, HB_E2E_AGED_S): the start-up announcements are
  long gone, so discovery rests on the answers to queries — what failed with mdns-sd alone. Both controllers.

The probe (hbe2e.mdns_probe) is a querier of our own, independent of the bridge's code, run in the controller's
namespace of each link.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time

import pytest

from hbe2e import netns
from hbe2e.api import Api
from hbe2e.controller import Clusters
from hbe2e.hubbridge import config_toml
from hbe2e.mdns_probe import Listener

pytestmark = pytest.mark.hubbridge

HERE = os.path.dirname(os.path.abspath(__file__))
MJS = os.path.join(HERE, "mjs_controller")
API_PORT = 8080
LONG = 3840  # the test passcode's discriminator (test_passcode = true)
SHORT = LONG >> 8
UniqueID = Clusters.BasicInformation.Attributes.UniqueID


def probe(ns: str | None, iface: str, name: str, qtype: str, *, v4: bool = False, seconds: float = 1.5) -> list[dict]:
    """Records answering one question sent on `iface` from namespace `ns` (None: pytest's own)."""
    argv = [sys.executable, "-m", "hbe2e.mdns_probe", "query", iface, name, qtype, "--seconds", str(seconds)]
    if v4:
        argv.append("--v4")
    prefix = ["ip", "netns", "exec", ns] if ns else []
    r = subprocess.run(prefix + argv, capture_output=True, text=True, cwd=HERE, timeout=30,
                       env=dict(os.environ, PYTHONPATH=HERE))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def addrs_of(ns: str, iface: str) -> set[str]:
    out = subprocess.run(["ip", "-n", ns, "-j", "addr", "show", "dev", iface], capture_output=True, text=True,
                         check=True).stdout
    return {a["local"] for link in json.loads(out) for a in link.get("addr_info", [])}


def mjs_pair(ns: str, iface: str, code: str, storage: str, timeout: float = 90) -> dict:
    """matter.js commissions by manual code over mDNS on `iface`, in namespace `ns`."""
    if not os.path.isdir(os.path.join(MJS, "node_modules", "@project-chip", "matter.js")):
        pytest.fail("matter.js controller modules missing: tests/e2e/install.sh installs them")
    r = subprocess.run(["ip", "netns", "exec", ns, "node", os.path.join(MJS, "pair.mjs"), "--code", code,
                        "--interface", iface, "--storage", storage, "--timeout", str(timeout)],
                       capture_output=True, text=True, timeout=timeout + 30)
    with open(os.path.join(storage, "pair.log"), "w") as f:
        f.write(r.stdout + r.stderr)
    return _result(r, "matter.js", f"log {storage}/pair.log")


def chip_pair(ns: str, sandbox, run_dir: str, code: str, open_window: int = 0) -> dict:
    """The CHIP controller, as its own process in namespace `ns`, commissions by manual code."""
    argv = ["ip", "netns", "exec", ns, sys.executable, "-m", "hbe2e.chip_pair", "--run-dir", run_dir,
            "--paa", sandbox.paa_dir, "--code", code, "--workspace", sandbox.workspace]
    if open_window:
        argv += ["--open-window", str(open_window)]
    r = subprocess.run(argv, capture_output=True, text=True, cwd=HERE, timeout=200,
                       env=dict(os.environ, PYTHONPATH=HERE))
    return _result(r, "CHIP", f"log {run_dir}/chip-controller.log")


def _result(r: subprocess.CompletedProcess, who: str, log: str) -> dict:
    """The one-shot controller's JSON result line (the last one), asserted successful."""
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"{who} printed no result (exit {r.returncode}); {log}:\n{r.stderr[-3000:]}"
    out = json.loads(lines[-1])
    assert out["ok"], f"{who} could not pair: {out['error']}\n({log})"
    return out


def by_type(records: list[dict], rtype: str, name: str | None = None) -> list[dict]:
    return [r for r in records if r["type"] == rtype and (name is None or r["name"].lower() == name.lower())]


def check_link_answers(ns: str | None, iface: str, own: set[str], others: set[str]) -> str:
    """The questions CHIP and matter.js send for a manual code, asked on one link. Returns the instance name."""
    sub = f"_S{SHORT}._sub._matterc._udp.local"
    # CHIP's minimal mDNS browses with QTYPE=ANY: mdns-sd alone never answers this.
    got = probe(ns, iface, sub, "ANY")
    ptrs = by_type(got, "PTR", sub)
    assert len({p["data"] for p in ptrs}) == 1, got
    instance = ptrs[0]["data"]
    assert instance.endswith("._matterc._udp.local"), instance
    srv = by_type(got, "SRV", instance)
    assert srv and srv[0]["data"]["port"] == 5540, got
    txt = by_type(got, "TXT", instance)
    assert txt and f"D={LONG}" in txt[0]["data"] and "CM=1" in txt[0]["data"], txt
    v6 = {r["data"] for r in by_type(got, "AAAA")}
    # This link's addresses, and never another link's (a controller would try an unreachable address).
    assert v6 and v6 <= own and not v6 & others, (v6, own, others)
    assert any(ipaddress.ip_address(a).is_link_local for a in v6), v6
    # matter.js (and DNS-SD browsers) ask PTR on the subtype: the answer is owned by the subtype's name.
    got = probe(ns, iface, f"_L{LONG}._sub._matterc._udp.local", "PTR")
    assert {p["data"] for p in by_type(got, "PTR", f"_L{LONG}._sub._matterc._udp.local")} == {instance}, got
    # The main type, by PTR (mdns-sd) and by ANY (the gap responder).
    for qtype in ("PTR", "ANY"):
        got = probe(ns, iface, "_matterc._udp.local", qtype)
        assert instance in {p["data"] for p in by_type(got, "PTR", "_matterc._udp.local")}, (qtype, got)
    # The instance itself (mdns-sd), and the host's addresses.
    got = probe(ns, iface, instance, "SRV")
    host = by_type(got, "SRV", instance)[0]["data"]["target"]
    got = probe(ns, iface, host, "AAAA")
    v6 = {r["data"] for r in by_type(got, "AAAA", host)}
    # mdns-sd 0.21.7 picks a service's addresses for a link by prefix, and fe80::/64 is on every link: its host
    # answers carry every link's link-local address (a known limitation, README). The routable ones are right.
    routable = {a for a in v6 if not ipaddress.ip_address(a).is_link_local}
    assert routable and routable <= own and not routable & others, (v6, own, others)
    assert own & (v6 - routable), (v6, own)
    # Over IPv4 the same questions get this link's IPv4 address.
    got = probe(ns, iface, sub, "ANY", v4=True)
    v4 = {r["data"] for r in by_type(got, "A")}
    assert v4 and v4 <= own and not v4 & others, (got, own)
    return instance


def test_one_node_on_two_interfaces_a_controller_on_each(hubbridge, sandbox, device_dir, controller):
    link = netns.add_link(sandbox.pair, 1)
    try:
        cfg = config_toml(f"{device_dir}/state", interface=sandbox.pair.dev_if, name="Two-link bridge",
                          api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                          bridge_extra=dict(interfaces=[sandbox.pair.dev_if, link.dev_if]),
                          devices=[dict(id="l1", kind="on_off_light", name="Light 1")])
        dev = hubbridge(cfg)
        assert dev.grep(r"mDNS \(mdns-sd\) serving interfaces=\[\"hbdev0\", \"hbdev1\"\]"), dev.log_text()[-2000:]
        api = Api(sandbox.pair.dev_addr6, API_PORT)
        code = api.call("GET", "/pairing", expect=200)[1]["manual_code"]

        link0 = addrs_of(sandbox.pair.dev, sandbox.pair.dev_if)
        link1 = addrs_of(sandbox.pair.dev, link.dev_if)
        inst0 = check_link_answers(None, sandbox.pair.ctl_if, link0, link1)
        inst1 = check_link_answers(link.ns, link.ctl_if, link1, link0)
        assert inst0 == inst1  # one node, one commissionable instance, seen on both links

        # CHIP pairs over the first link; the window closes and the commissionable service is withdrawn.
        node = controller.commission(code)
        uid = controller.read_attribute(node, 0, UniqueID)
        deadline = time.monotonic() + 10
        while by_type(probe(link.ns, link.ctl_if, f"_S{SHORT}._sub._matterc._udp.local", "ANY"), "PTR"):
            assert time.monotonic() < deadline, "commissionable service still answered after pairing"
            time.sleep(0.5)
        # The operational service is there on both links, under the fabric's subtype as well.
        for ns, ifname in ((None, sandbox.pair.ctl_if), (link.ns, link.ctl_if)):
            # (The CHIP controller advertises its own operational service too: pick the bridge's by node id.)
            got = probe(ns, ifname, "_matter._tcp.local", "ANY")
            ops = {p["data"] for p in by_type(got, "PTR", "_matter._tcp.local")
                   if p["data"].split(".")[0].endswith(f"-{node:016X}")}
            assert len(ops) == 1, got
            fabric = next(iter(ops)).split("-")[0]
            got = probe(ns, ifname, f"_I{fabric}._sub._matter._tcp.local", "PTR")
            assert ops <= {p["data"] for p in by_type(got, "PTR")}, got

        # "Pair another controller": the basic window reopens; matter.js pairs over the second link.
        controller.open_basic_commissioning_window(node, window_s=180)
        out = mjs_pair(link.ns, link.ctl_if, code, os.path.join(device_dir, "matterjs"))
        assert out["uniqueId"] == uid, out
        fabrics = api.call("GET", "/fabrics", expect=200)[1]["fabrics"]
        assert len(fabrics) == 2, fabrics
    finally:
        netns.remove_link(sandbox.pair, link)


def test_an_address_added_at_run_time_is_announced(hubbridge, sandbox, device_dir):
    cfg = config_toml(f"{device_dir}/state", interface=sandbox.pair.dev_if,
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                      devices=[dict(id="l1", kind="on_off_light", name="Light 1")])
    hubbridge(cfg)
    time.sleep(3)  # past the start-up announcements
    new = "fd42:6862::4242"
    listener = Listener(sandbox.pair.ctl_if)
    try:
        subprocess.run(["ip", "-n", sandbox.pair.dev, "-6", "addr", "add", f"{new}/64", "dev", sandbox.pair.dev_if,
                        "nodad"], check=True)
        t0 = time.monotonic()
        heard = listener.wait_for(lambda r: r["type"] == "AAAA" and r["data"] == new, seconds=15)
        took = time.monotonic() - t0
        assert heard, "no announcement carried the new address within 15 s"
        print(f"new address announced after {took:.1f} s")
        # Announced unsolicited, with the records a controller needs to reach the node there.
        assert any(r["type"] == "SRV" and r["data"]["port"] == 5540 for r in heard), heard
        # And answered from then on.
        sub = f"_S{SHORT}._sub._matterc._udp.local"
        assert new in {r["data"] for r in by_type(probe(None, sandbox.pair.ctl_if, sub, "ANY"), "AAAA")}
    finally:
        listener.close()
        subprocess.run(["ip", "-n", sandbox.pair.dev, "-6", "addr", "del", f"{new}/64", "dev", sandbox.pair.dev_if],
                       check=False)


def test_pairing_by_manual_code_long_after_start_with_both_controllers(aged_bridge, sandbox):
    """The aged bridge (conftest) has been up since the session began: pair it now, CHIP first (which then opens
    a basic window, "pair another controller"), then matter.js, both by manual code over DNS-SD only."""
    code = aged_bridge.device.pairing_codes().manual
    age = aged_bridge.wait_until_aged()
    print(f"pairing {age:.0f} s after the bridge started")
    chip = chip_pair(aged_bridge.pair.ctl, sandbox, os.path.join(aged_bridge.run_dir, "chip"), code, open_window=180)
    mjs = mjs_pair(aged_bridge.pair.ctl, aged_bridge.pair.ctl_if, code, os.path.join(aged_bridge.run_dir, "matterjs"))
    assert chip["unique_id"] and mjs["uniqueId"] == chip["unique_id"], (chip, mjs)
    print(f"CHIP commissioned in {chip['commission_s']} s, matter.js in {mjs['commissionedSeconds']} s")
    assert aged_bridge.device.grep(r"mDNS: advertising service.*_matter\._tcp")


def test_each_node_advertised_on_its_own_interface(hubbridge, sandbox, device_dir, controller):
    """`[[nodes]] interfaces`: the main node on the first link, node `kitchen` on the second only; each link's
    browse lists exactly its node, and each node pairs over its link (CHIP, matter.js)."""
    link = netns.add_link(sandbox.pair, 1)
    try:
        nodes = (f'[[nodes]]\nid = "kitchen"\nname = "Kitchen bridge"\nport = 5541\nrooms = ["Kitchen"]\n'
                 f'interfaces = ["{link.dev_if}"]\n')
        cfg = config_toml(f"{device_dir}/state", interface=sandbox.pair.dev_if, name="Hall bridge",
                          api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}",
                          devices=[dict(id="hall", kind="on_off_light", name="Hall light", room="Hall"),
                                   dict(id="kettle", kind="on_off_plug_in_unit", name="Kettle", room="Kitchen")],
                          extra=nodes)
        hubbridge(cfg)
        api = Api(sandbox.pair.dev_addr6, API_PORT)
        listed = {n["id"]: n["interfaces"] for n in api.call("GET", "/nodes", expect=200)[1]["nodes"]}
        assert listed == {"main": [sandbox.pair.dev_if], "kitchen": [link.dev_if]}, listed
        kitchen_code = api.call("GET", "/nodes/kitchen/pairing", expect=200)[1]["manual_code"]

        def instances(ns, ifname):
            # The node registers its services just after the "ready" line: allow it a moment.
            deadline = time.monotonic() + 10
            while True:
                got = probe(ns, ifname, "_matterc._udp.local", "PTR")
                srv = {r["name"]: r["data"]["port"] for r in by_type(got, "SRV")}
                ports = {srv.get(p["data"]) for p in by_type(got, "PTR", "_matterc._udp.local")}
                if ports or time.monotonic() > deadline:
                    return ports

        assert instances(None, sandbox.pair.ctl_if) == {5540}
        assert instances(link.ns, link.ctl_if) == {5541}
        out = mjs_pair(link.ns, link.ctl_if, kitchen_code, os.path.join(device_dir, "matterjs"))
        assert out["ok"]
        kitchen = api.call("GET", "/nodes/kitchen/fabrics", expect=200)[1]["fabrics"]
        assert len(kitchen) == 1 and api.call("GET", "/fabrics", expect=200)[1]["fabrics"] == []
        node = controller.commission(api.call("GET", "/pairing", expect=200)[1]["manual_code"])
        assert controller.read_attribute(node, 0, UniqueID) != out["uniqueId"]
    finally:
        netns.remove_link(sandbox.pair, link)
