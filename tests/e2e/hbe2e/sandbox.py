"""The per-session sandbox the end-to-end tests run in.

`Sandbox.enter()` (called once, by the session fixture, before the CHIP stack starts):

1. sweeps namespaces left by earlier runs whose pytest died (``hb-<deadpid>-*``);
2. creates the namespace pair ``hb-<pid>-dev`` / ``hb-<pid>-ctl`` (see `netns`);
3. starts a *guardian* process that stays in the host namespaces and, when this process ends for whatever
   reason (even SIGKILL: it watches a pipe), kills what is left in the pair by pid and deletes it;
4. moves this process into ``hb-<pid>-ctl`` (the controller lives there; device processes are spawned into
   ``hb-<pid>-dev`` with ``ip netns exec``);
5. gives this process a private mount namespace and bind-mounts run-owned directories over the paths the CHIP
   library hard-codes: ``/data`` (chip_config.ini, chip_counters.ini, chip_factory.ini) and ``/tmp``
   (chip_kvs). Processes spawned from here inherit them; the host never sees them.

Everything a run leaves behind is in its run directory, ``<repo>/target/e2e-runs/<stamp>-<pid>/``
(``latest`` points at the newest): ``logs/`` (controller + one file per device process), ``devices/`` (device
storage), ``tmp/`` (the run's /tmp, incl. pytest's tmp_path), ``data/``, ``paa/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from . import netns, paa

KEEP_RUNS = 5


@dataclass
class Sandbox:
    workspace: str  # repo root
    run_dir: str
    log_dir: str
    devices_dir: str
    pair: netns.NetnsPair
    paa_dir: str
    controller_storage: str  # the CHIP python controller's JSON storage (fabrics, keys)
    _guardian: subprocess.Popen | None = None

    @classmethod
    def enter(cls, workspace: str, run_dir: str | None = None) -> "Sandbox":
        if os.geteuid() != 0:
            raise RuntimeError("the e2e tests need root (network namespaces, mounts): run tests/e2e/run.sh as root")
        for p in netns.sweep_stale():
            print(f"[hbe2e] removed stale namespaces {p}", file=sys.stderr)
        pid = os.getpid()
        runs = os.path.join(workspace, "target", "e2e-runs")
        if run_dir is None:
            run_dir = os.path.join(runs, time.strftime("%Y%m%d-%H%M%S") + f"-{pid}")
        os.makedirs(run_dir, exist_ok=True)
        # Runs kept elsewhere (the benchmarks keep theirs under target/bench-runs/) are their owner's to prune.
        if os.path.dirname(os.path.abspath(run_dir)) == os.path.abspath(runs):
            _prune_runs(runs, keep=KEEP_RUNS, current=run_dir)
            latest = os.path.join(runs, "latest")
            try:
                if os.path.islink(latest):
                    os.unlink(latest)
                os.symlink(os.path.basename(run_dir), latest)
            except OSError:
                pass
        sb = cls(
            workspace=workspace,
            run_dir=run_dir,
            log_dir=os.path.join(run_dir, "logs"),
            devices_dir=os.path.join(run_dir, "devices"),
            pair=netns.create(f"hb-{pid}"),
            paa_dir=os.path.join(run_dir, "paa"),
            controller_storage=os.path.join(run_dir, "chip-controller.json"),
        )
        try:
            os.makedirs(sb.log_dir, exist_ok=True)
            os.makedirs(sb.devices_dir, exist_ok=True)
            paa.prepare_paa_dir(workspace, sb.paa_dir)
            sb._guardian = _start_guardian(sb.pair.prefix, os.path.join(sb.log_dir, "guardian.log"))
            netns.enter_netns(sb.pair.ctl)
            private_chip_dirs(run_dir, workspace)
        except BaseException:
            sb.leave()
            raise
        return sb

    def leave(self) -> None:
        """Tear the pair down (through the guardian, which lives in the host mount namespace: an `ip netns del`
        from our private mount namespace would not unmount the host's /run/netns entries)."""
        g, self._guardian = self._guardian, None
        if g is not None:
            try:
                g.stdin.close()  # EOF = "clean up now"
                g.wait(timeout=30)
            except Exception:
                pass
        else:
            netns.destroy(self.pair.prefix)


def private_chip_dirs(run_dir: str, workspace: str) -> None:
    """Give this process its own mount namespace with `<run_dir>/data` over /data and `<run_dir>/tmp` over /tmp:
    the CHIP controller hard-codes /data/chip_*.ini and /tmp/chip_kvs (PEERS.md)."""
    netns.unshare_mounts()
    # mkdir on the real filesystem if missing (an empty /data); the bind itself is private to this process.
    netns.bind_mount(os.path.join(run_dir, "data"), "/data")
    # A workspace under /tmp (a CI clone may live there) would vanish under the run's /tmp: keep a
    # second view of it outside /tmp and bind it back at the same path inside the new /tmp.
    ws = os.path.realpath(workspace)
    stash = None
    if ws == "/tmp" or ws.startswith("/tmp/"):
        stash = f"/run/hbe2e-workspace-{os.getpid()}"
        netns.bind_mount(ws, stash)
    netns.bind_mount(os.path.join(run_dir, "tmp"), "/tmp")
    if stash is not None:
        netns.bind_mount(stash, ws)


def _start_guardian(prefix: str, log_path: str) -> subprocess.Popen:
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=pkg_parent + os.pathsep + os.environ.get("PYTHONPATH", ""))
    log = open(log_path, "a")
    return subprocess.Popen(
        [sys.executable, "-m", "hbe2e.netns", "guard", prefix, str(os.getpid())],
        stdin=subprocess.PIPE, stdout=log, stderr=log, env=env,
        start_new_session=True,  # not in the terminal's process group: Ctrl-C must not kill it before it cleans up
    )


def _prune_runs(runs: str, keep: int, current: str) -> None:
    try:
        names = sorted(n for n in os.listdir(runs) if n != "latest" and os.path.isdir(os.path.join(runs, n)))
    except OSError:
        return
    for n in names[:-keep] if len(names) > keep else []:
        p = os.path.join(runs, n)
        if os.path.abspath(p) != os.path.abspath(current):
            shutil.rmtree(p, ignore_errors=True)
