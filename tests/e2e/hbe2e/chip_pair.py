"""The CHIP Python controller as a one-shot process, for a controller that must live in a namespace other than
pytest's (the session's in-process controller is in PREFIX-ctl): commission by manual code over DNS-SD, read
BasicInformation UniqueID, optionally reopen a basic commissioning window for the next controller, print one
JSON line, exit.

    ip netns exec NS python -m hbe2e.chip_pair --run-dir DIR --paa DIR --code 34970112332 [--open-window 180]

stdout: {"ok": true, "node_id": 256, "unique_id": "...", "commission_s": 1.2} or {"ok": false, "error": "..."}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="hbe2e.chip_pair")
    ap.add_argument("--run-dir", required=True, help="this controller's own directory (storage, /data, /tmp, log)")
    ap.add_argument("--paa", required=True)
    ap.add_argument("--code", required=True)
    ap.add_argument("--workspace", default=os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
    ap.add_argument("--open-window", type=int, default=0, help="then open a basic window of this many seconds")
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args(argv)
    out: dict
    try:
        from .sandbox import private_chip_dirs
        os.makedirs(a.run_dir, exist_ok=True)
        private_chip_dirs(a.run_dir, a.workspace)
        from .controller import ChipRuntime, Clusters
        rt = ChipRuntime(os.path.join(a.run_dir, "chip-controller.json"), a.paa,
                         os.path.join(a.run_dir, "chip-controller.log"))
        ctl = rt.new_controller("subprocess", fabric_id=1)
        t0 = time.monotonic()
        node = ctl.commission(a.code, timeout=a.timeout)
        took = time.monotonic() - t0
        uid = ctl.read_attribute(node, 0, Clusters.BasicInformation.Attributes.UniqueID)
        if a.open_window:
            ctl.open_basic_commissioning_window(node, window_s=a.open_window)
        out = dict(ok=True, node_id=node, unique_id=uid, commission_s=round(took, 2))
    except Exception as e:  # reported, not raised: the caller reads stdout
        out = dict(ok=False, error=f"{type(e).__name__}: {e}")
    print(json.dumps(out), flush=True)
    # The CHIP stack can segfault at interpreter exit (PEERS.md): results are out, leave now.
    os._exit(0 if out["ok"] else 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
