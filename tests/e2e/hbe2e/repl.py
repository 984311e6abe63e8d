"""Interactive debugging: the same sandbox and controller the tests use, in a Python prompt.

    sudo target/e2e-venv/bin/python -m hbe2e.repl          (run from tests/e2e; or PYTHONPATH=tests/e2e)

In the prompt: `sb` (Sandbox: namespaces, run dir), `rt` (ChipRuntime), `alpha` (Controller, fabric 1),
`Clusters`, `Device`, `standin(count=3)` (starts the matter.js stand-in in the dev namespace),
`hubbridge(config_path)` (starts target/debug/hubbridge run --config FILE there). Devices are stopped and the
namespaces removed when the prompt exits (Ctrl-D).
"""

from __future__ import annotations

import code
import os

from .controller import ChipRuntime, Clusters
from .device import Device
from .sandbox import Sandbox
from .standin import standin_device

WORKSPACE = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


def main() -> None:
    sb = Sandbox.enter(WORKSPACE)
    started: list[Device] = []
    rt = None
    try:
        rt = ChipRuntime(sb.controller_storage, sb.paa_dir, os.path.join(sb.log_dir, "chip-controller.log"))
        alpha = rt.new_controller("alpha", fabric_id=1)

        def standin(count: int = 3, name: str = "standin", **kw) -> Device:
            d = standin_device(WORKSPACE, name=name, netns=sb.pair.dev, interface=sb.pair.dev_if,
                               log_dir=sb.log_dir, storage=os.path.join(sb.devices_dir, name), count=count, **kw)
            started.append(d)
            return d.start()

        def hubbridge(config_path: str, name: str = "hubbridge", ready: str | None = r"hubbridge ready: API on") -> Device:
            d = Device(name, [os.path.join(WORKSPACE, "target", "debug", "hubbridge"), "run", "--config", config_path],
                       netns=sb.pair.dev, log_dir=sb.log_dir, ready=ready, env={"RUST_LOG": "info"})
            started.append(d)
            return d.start()

        banner = (f"hbe2e repl: run dir {sb.run_dir}\n"
                  f"namespaces {sb.pair.dev} ({sb.pair.dev_if} {sb.pair.dev_addr6}) / {sb.pair.ctl} (this process)\n"
                  "names: sb rt alpha Clusters Device standin() hubbridge(cfg)\n"
                  "e.g.  d = standin(); n = alpha.commission(d.pairing_codes().manual); "
                  "alpha.read_attribute(n, 2, Clusters.OnOff.Attributes.OnOff)")
        code.interact(banner=banner, local=dict(sb=sb, rt=rt, alpha=alpha, Clusters=Clusters, Device=Device,
                                                standin=standin, hubbridge=hubbridge))
    finally:
        for d in reversed(started):
            try:
                d.stop()
            except Exception:
                d.kill()
        if rt is not None:
            rt.shutdown()
        sb.leave()


if __name__ == "__main__":
    main()
