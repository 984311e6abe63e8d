"""The matter.js stand-in bridge (bench/matterjs/bridge.mjs) as a `Device`.

Endpoints: 0 root, 1 Aggregator, 2..count+1 bridged On/Off lights. Default commissioning data are the CHIP test
values (passcode 20202021, discriminator 3840).
"""

from __future__ import annotations

import os
import shutil

from .device import Device

READY = r"HB-READY port=\d+"
AGGREGATOR_ENDPOINT = 1
FIRST_LIGHT_ENDPOINT = 2


def standin_available(workspace: str) -> str | None:
    """None if the stand-in can run, else the reason it cannot."""
    mjs = os.path.join(workspace, "bench", "matterjs")
    if shutil.which("node") is None:
        return "node is not installed"
    if not os.path.isdir(os.path.join(mjs, "node_modules", "@matter", "main")):
        return f"matter.js is not installed in {mjs} (run tests/e2e/install.sh)"
    return None


def standin_device(workspace: str, *, name: str, netns: str, interface: str, log_dir: str, storage: str,
                   count: int = 3, passcode: int = 20202021, discriminator: int = 3840, port: int = 5540,
                   log_level: str = "info") -> Device:
    mjs = os.path.join(workspace, "bench", "matterjs")
    argv = ["node", os.path.join(mjs, "bridge.mjs"), "--count", str(count), "--passcode", str(passcode),
            "--discriminator", str(discriminator), "--port", str(port), "--storage", storage,
            "--interface", interface, "--log-level", log_level]
    return Device(name, argv, netns=netns, log_dir=log_dir, ready=READY, ready_timeout=60, cwd=mjs)
