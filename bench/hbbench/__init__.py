"""hubbridge benchmarks, side by side with a matter.js bridge (issue 5) and the real Matterbridge (issue 14). Entry point: `cargo xtask bench`, which
runs `python -m hbbench` (see `__main__.py`) from the end-to-end venv, as root.

# Layout
- `__main__.py`: the orchestrator: repetitions (alternating peers), time bound, aggregation, the report.
- `child.py`: one repetition in its own process (fresh namespaces, storage and controller).
- `peers.py`: hubbridge, the matter.js bridge and Matterbridge, started the same way with N virtual lights.
- `measure.py`: the figures of one repetition (commissioning, reads, invokes, report latency, RSS, CPU).
- `report.py`: aggregation (medians, ranges, ratios, targets) into report.json and report.md.
- `svg.py`: hand-written SVG plots.

The harness under tests/e2e (`hbe2e`) is reused as is: sandbox, controller, device processes.
"""

from __future__ import annotations

import os
import subprocess
import sys

WORKSPACE = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def ensure_paths() -> None:
    """Make `hbe2e` (tests/e2e) importable."""
    e2e = os.path.join(WORKSPACE, "tests", "e2e")
    if e2e not in sys.path:
        sys.path.insert(0, e2e)


def cmd(argv: list[str], cwd: str = WORKSPACE) -> str:
    """What a command prints (stripped), or "" when it cannot run."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=cwd).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("" if unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return ""


def git_state() -> str:
    """The workspace's short commit, with " + uncommitted changes" when tracked files differ from it."""
    commit = cmd(["git", "rev-parse", "--short", "HEAD"])
    dirty = bool(cmd(["git", "status", "--porcelain", "--untracked-files=no"]))
    return f"{commit}{' + uncommitted changes' if dirty else ''}"


def mosquitto_version() -> str:
    """The first line of `mosquitto -h` ("mosquitto version 2.0.11")."""
    lines = cmd(["mosquitto", "-h"]).splitlines()
    return lines[0] if lines else "mosquitto"


def interrupt(signum, frame):
    """A SIGTERM handler that unwinds like Ctrl-C (so sandboxes and processes are cleaned up)."""
    raise KeyboardInterrupt(f"signal {signum}")
