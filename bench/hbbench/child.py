"""One repetition in its own process, so every repetition gets fresh network namespaces, fresh device storage
and a fresh CHIP controller (the CHIP stack can be set up once per process).

    python -m hbbench.child --peer hubbridge --count 100 --rep 0 --run-dir DIR --out result.json [...]

Run as root from the e2e venv (the orchestrator, `python -m hbbench`, does this). The process enters
`hbe2e.sandbox.Sandbox` (namespaces hb-<pid>-dev/-ctl, private /data and /tmp, a guardian that removes the
namespaces however this process ends), starts the peer in -dev, measures (`measure.run_repetition`), writes the
result as JSON and tears everything down. SIGTERM unwinds the same way.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time

from . import WORKSPACE, ensure_paths, interrupt

ensure_paths()

from hbe2e.sandbox import Sandbox  # noqa: E402

from .measure import Params, run_repetition  # noqa: E402
from .peers import PEERS, make_peer  # noqa: E402



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hbbench.child")
    ap.add_argument("--peer", choices=PEERS, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--rep", type=int, default=0)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hubbridge-bin", default=os.path.join(WORKSPACE, "target", "release", "hubbridge"))
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--read-iterations", type=int, default=None)
    ap.add_argument("--figure-budget", type=float, default=120.0)
    ap.add_argument("--min-iterations", type=int, default=5)
    ap.add_argument("--nodes", type=int, default=1, help="hubbridge only: spread the lights over this many nodes")
    a = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)

    def log(msg: str) -> None:
        print(f"[hbbench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    sb = Sandbox.enter(WORKSPACE, a.run_dir)
    rt = None
    try:
        from hbe2e.controller import ChipRuntime
        import chip.logging

        rt = ChipRuntime(sb.controller_storage, sb.paa_dir, os.path.join(sb.log_dir, "chip-controller.log"),
                         chip_log_level="progress")
        # The controller's own logging must not be what we measure: errors only (HBBENCH_CHIP_LOG=progress to
        # debug a run; its figures are then not comparable).
        if os.environ.get("HBBENCH_CHIP_LOG") != "progress":
            chip.logging.SetLogFilter(chip.logging.LOG_CATEGORY_ERROR)
            logging.getLogger("hbe2e").setLevel(logging.WARNING)
        controller = rt.new_controller("bench", fabric_id=1)
        peer = make_peer(a.peer, workspace=WORKSPACE, hubbridge_bin=a.hubbridge_bin, count=a.count, sandbox=sb,
                         storage=os.path.join(sb.devices_dir, a.peer), nodes=a.nodes)
        params = Params(count=a.count, iterations=a.iterations, read_iterations=a.read_iterations,
                        figure_budget_s=a.figure_budget, min_iterations=a.min_iterations)
        res = run_repetition(controller, peer, params, a.rep, log=log)
        out = res.to_json()
        out["info"]["log"] = peer.device.log_path
        out["info"]["nodes"] = a.nodes
        out["info"]["measured_node_lights"] = len(peer.ids) if hasattr(peer, "ids") else a.count
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(out, f, indent=1)
        os.replace(tmp, a.out)
        return 0 if res.error is None else 3
    finally:
        if rt is not None:
            try:
                rt.shutdown()
            except Exception:  # noqa: BLE001
                pass
        sb.leave()


if __name__ == "__main__":
    sys.exit(main())
