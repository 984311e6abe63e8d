"""The benchmark driver (bench/hbbench, `cargo xtask bench`) end to end with tiny parameters: every peer
(hubbridge, the matter.js bridge, the real Matterbridge with its local plugin) with 3 lights, a few iterations of
every figure (commissioning, reads, invokes, local change → report), then the report. A peer that does not
really work fails the test: every figure of every peer must succeed. Asserts the report's structure, never a
speed (benchmarks are not tests)."""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import WORKSPACE, hubbridge_binary
from hbe2e import standin as _standin

sys.path.insert(0, os.path.join(WORKSPACE, "bench"))

from hbbench import report  # noqa: E402
from hbbench.measure import Params, run_repetition  # noqa: E402
from hbbench.peers import make_peer, matterbridge_available  # noqa: E402

pytestmark = [pytest.mark.hubbridge, pytest.mark.standin]

PEERS = ("hubbridge", "matterjs", "matterbridge")
LATENCY_FIGURES = ("commission_s", "startup_s", "invoke_s", "report_s", "structure_read_s", "wildcard_read_s")


def test_bench_driver_produces_a_well_formed_report(sandbox, controller, devices, device_dir, tmp_path):
    binary = hubbridge_binary()
    if binary is None:
        pytest.skip("hubbridge binary not built")
    why = _standin.standin_available(WORKSPACE)
    if why:
        pytest.skip(f"matter.js peer unavailable: {why}")
    # install.sh installs Matterbridge wherever it installs matter.js: missing here means a broken install, and
    # the bench's third peer must not rot unnoticed.
    why = matterbridge_available(WORKSPACE)
    assert why is None, f"Matterbridge peer unavailable: {why}"

    params = Params(count=3, iterations=3, read_iterations=2, figure_budget_s=20, min_iterations=1, warmup=1,
                    settle_s=0.5)
    results = []
    for name in PEERS:
        peer = make_peer(name, workspace=WORKSPACE, hubbridge_bin=binary, count=3, sandbox=sandbox,
                         storage=os.path.join(device_dir, name))
        devices.started.append(peer.device)  # stopped at test end whatever happens
        res = run_repetition(controller, peer, params, rep=0)
        assert res.error is None, f"{name}: {res.error} (log {peer.device.log_path})"
        assert not peer.device.running
        if name == "matterbridge":
            # the bridge Matterbridge built from the plugin: exactly the 3 lights, no virtual outlets
            assert peer.light_endpoints() and len(peer.light_endpoints()) == 3
            assert peer.device.grep(r"HB-LIGHTS count=3") and not peer.device.grep(r"linked to plugin|Error linking matterbridge")
        results.append(res.to_json())

    for r in results:
        assert set(LATENCY_FIGURES) <= set(r["samples"]), r["samples"].keys()
        assert len(r["samples"]["invoke_s"]) == 3 and len(r["samples"]["report_s"]) == 3
        assert r["info"]["structure_read_endpoints"] == 5  # root, aggregator, 3 lights
        assert r["info"]["structure_read_failures"] == 0 and r["info"]["wildcard_read_failures"] == 0
        for point in ("ready", "idle", "after"):
            assert r["proc"][point]["rss_kb"] > 0 and r["proc"][point]["cpu_s"] >= 0

    agg = report.aggregate(results)
    meta = dict(label="smoke test", argv=[], counts=[3], reps=1, iterations=3, read_iterations=2,
                figure_budget_s=20, warmup=1, started="-", finished="-", hubbridge=binary, matterjs="-", node="-",
                matterbridge="-", peers=list(PEERS), chip="-", machine="-", git="-", partial=None)
    rep = dict(meta=meta, aggregate=agg, results=results, failures=[], cloud={}, notes=[],
               targets=report.targets(agg, [3]))
    paths = report.write(rep, str(tmp_path))

    data = json.loads((tmp_path / "report.json").read_text())
    for peer in PEERS:
        figs = data["aggregate"][peer]["3"]
        assert {"p50", "p95", "p99"} <= set(figs["invoke_s"])
        assert figs["rss_idle_mb"]["value"]["median"] > 0
    assert [t["target"] for t in data["targets"]][:2] == ["RSS with 100 devices", "Invoke p50"]
    md = (tmp_path / "report.md").read_text()
    for heading in ("## Targets", "## N = 3 bridged on/off lights", "## Cloud side"):
        assert heading in md
    assert "| figure | stat | hubbridge | matter.js | Matterbridge | ratio ÷ matter.js | ratio ÷ Matterbridge |" in md
    inv = next(line for line in md.splitlines() if line.startswith("| Invoke round trip (OnOff.Toggle) (ms) | p50 |"))
    cells = [c.strip() for c in inv.strip("|").split("|")][2:]
    assert len(cells) == 5 and "–" not in cells, inv  # three peers and both ratios, all measured
    assert "Matterbridge" in md.split("## Targets")[1].split("##")[0]  # targets carry the Matterbridge ratio
    svg = ET.parse(tmp_path / "report.svg").getroot()
    assert svg.tag.endswith("svg") and len(svg.findall("{http://www.w3.org/2000/svg}rect")) >= 18
    assert len(paths) == 3


def test_cloud_step_counts_every_event_and_renders(sandbox, tmp_path):
    """The cloud step with a small load: bench-mqtt (its far-end subscriber must see every queued event: that is
    a correctness check, not a speed) and one start-up with an MQTT connector; then the report's cloud section."""
    binary = hubbridge_binary()
    if binary is None:
        pytest.skip("hubbridge binary not built")
    from hbbench import cloud

    m = cloud.bench_mqtt(sandbox, binary, str(tmp_path), print,
                         ["--devices", "20", "--seconds", "1", "--events", "5000"])
    assert m["events"] == 5000 and m["lost"] == 0 and m["received_distinct"] == 5000, m
    assert m["state_changes_per_s"] > 0 and m["drain_s"] > 0 and m["rss_peak_drain_mib"] > 0
    assert (tmp_path / "mqtt-report.md").read_text().count("| events lost | 0 |") == 1
    st = cloud.startups(sandbox, binary, 3, 1, print)
    # (the connector may connect before Matter prints its pairing code: independent start-up paths)
    assert all(st[k]["median"] > 0 for k in ("ready_s", "connected_s", "synced_s")), st

    result = dict(mqtt=m, startup=st, startup_devices=3)
    md = "\n".join(report.render_cloud(result))
    assert "| Events lost / duplicated (subscriber's count of distinct ids) | 0 /" in md
    assert "exec → connector connected" in md
    t = {x["target"]: x for x in report.targets({}, [3], result)}
    assert t["State changes/s to mosquitto"]["met"] is not None
    # 5k events is not the 100k the target names: never reported as met.
    assert t["5k queued events drained"]["met"] is False


def test_bench_driver_measures_one_node_of_a_multi_node_bridge(sandbox, controller, devices, device_dir):
    """`--nodes 2` (the 5,000-lights-across-nodes figures): 4 lights over two Matter nodes of one process; the
    controller pairs with the main node and every figure is that node's 2 lights."""
    binary = hubbridge_binary()
    if binary is None:
        pytest.skip("hubbridge binary not built")
    params = Params(count=4, iterations=2, read_iterations=1, figure_budget_s=20, min_iterations=1, warmup=1,
                    settle_s=0.5)
    peer = make_peer("hubbridge", workspace=WORKSPACE, hubbridge_bin=binary, count=4, sandbox=sandbox,
                     storage=os.path.join(device_dir, "nodes"), nodes=2)
    devices.started.append(peer.device)
    res = run_repetition(controller, peer, params, rep=0)
    assert res.error is None, f"{res.error} (log {peer.device.log_path})"
    assert peer.ids == ["light-001", "light-003"]
    assert res.info["structure_read_endpoints"] == 4  # root, aggregator, the main node's 2 lights
    assert len(res.samples["report_s"]) == 2
    assert peer.device.grep(r"Node `n1`")  # the second node was up, with its own pairing line


def test_cloud_throughput_bench_every_command_reaches_every_cloud(sandbox, tmp_path):
    """The all-connectors throughput bench (bench/hbbench/clouds.py, `cargo xtask bench-clouds`) with 20 lights and
    one second of commands at 2,000/s (each device flipped 100 times a second): the bridge applies every command in
    the order sent (the registry ends at each device's last command), and the MQTT subscriber, the AWS shadow fake
    and the Azure twin fake all end at the registry's state. Asserts what the report claims, not a rate."""
    binary = hubbridge_binary()
    if binary is None:
        pytest.skip("hubbridge binary not built")
    from hbbench import clouds

    r = clouds.run(sandbox, binary, 20, 1.0, log=print, rates=(2000,))
    f = r["fig"]
    ph = f["phases"][0]
    assert ph["sent"] > 0 and ph["applied"] == ph["sent"] and ph["refused"] == 0, ph
    assert f["registry_matches_commands"] == 20
    assert f["mismatch"] == {"home": 0, "aws": 0, "azure": 0}, f["mismatch"]
    assert f["twin_sections"] == 20 and f["twin_refusals"] == 0
    assert all(ph["delivered"][c] >= 1 for c in clouds.CONNECTORS), ph["delivered"]
    assert f["dead_letters"] == {c: 0 for c in clouds.CONNECTORS}
    assert r["proc"]["drained"]["rss_kb"] > 0
    md = clouds.render(dict(finished="-", command="-", hubbridge=binary, mosquitto="-", machine="-", git="-"), r)
    assert "| 2000 |" in md and "| azure |" in md
