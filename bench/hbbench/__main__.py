"""The benchmark orchestrator: `python -m hbbench [options]` (as root, from the e2e venv; `cargo xtask bench`
builds hubbridge in release, installs the harness and calls this).

For each N, for each repetition, the peers (hubbridge, the matter.js bridge and the real Matterbridge by default)
run one after the other (the order alternates between repetitions),
each in its own child process (`hbbench.child`) with fresh namespaces, storage and controller. The whole run is
bounded by --max-minutes: once spent, remaining repetitions are skipped and the report says so. Every child is
waited for and, on timeout, terminated by PID; namespaces it leaves (hb-<child pid>-*) are removed by name.
Writes report.json, report.md and report.svg into --out (default bench/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time

from . import WORKSPACE, cmd, cpu_model, ensure_paths, git_state
from . import report as report_mod

ensure_paths()

from hbe2e import netns  # noqa: E402

from . import peers as peers_mod  # noqa: E402  (imports hbe2e)

RUNS = os.path.join(WORKSPACE, "target", "bench-runs")
KEEP_RUNS = 3


def _utc() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())



def _meta(a, argv: list[str]) -> dict:
    cpu = cpu_model()
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    rel = os.path.relpath(a.hubbridge_bin, WORKSPACE)
    build = "release build" if "release" in a.hubbridge_bin else "build"
    hb_version = cmd([a.hubbridge_bin, "--version"]) or "hubbridge"
    try:
        with open(os.path.join(WORKSPACE, "bench", "matterjs", "node_modules", "@matter", "main", "package.json")) as f:
            mjs = "@matter/main " + json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        mjs = "@matter/main (not installed)"
    mb = peers_mod.matterbridge_version(WORKSPACE)
    return dict(
        label=a.label, argv=argv, counts=a.counts, reps=a.reps, iterations=a.iterations,
        read_iterations=a.read_iterations if a.read_iterations is not None else a.iterations,
        figure_budget_s=a.figure_budget, warmup=2, max_minutes=a.max_minutes, started=_utc(),
        hubbridge=f"{hb_version} ({build}, `{rel}`{'; ' + a.source_note if a.source_note else ''}), RUST_LOG=warn",
        matterjs=mjs + " (log level warn)", node=cmd(["node", "--version"]),
        matterbridge=(f"matterbridge {mb} (npm, pinned by bench/matterbridge/package-lock.json), bridge mode, "
                      "-novirtual, plugin bench/matterbridge/plugin, log level notice") if mb
        else "matterbridge (not installed)",
        peers=[p for p in a.peers.split(",") if p],
        chip="home-assistant-chip-core 2025.7.0",
        machine=f"{cpu or platform.machine()}, {os.cpu_count()} CPUs, {mem_gb:.0f} GiB, Linux {platform.release()}",
        git=git_state(),
        nodes=a.nodes,
    )


def _prune(keep: int, current: str) -> None:
    try:
        names = sorted(n for n in os.listdir(RUNS)
                       if re.fullmatch(r"\d{8}-\d{6}", n) and os.path.isdir(os.path.join(RUNS, n)))
    except OSError:
        return
    import shutil
    for n in names[:-keep]:
        p = os.path.join(RUNS, n)
        if os.path.abspath(p) != os.path.abspath(current):
            shutil.rmtree(p, ignore_errors=True)


def _notes(out_dir: str) -> list[str]:
    """The hand-written notes (bench/notes.md, lines starting with "- ") copied into the report."""
    path = os.path.join(out_dir, "notes.md")
    if not os.path.isfile(path):
        path = os.path.join(WORKSPACE, "bench", "notes.md")
    try:
        with open(path) as f:
            return [line[2:].strip() for line in f if line.startswith("- ")]
    except OSError:
        return []


def run_child(a, peer: str, n: int, rep: int, run_dir: str, timeout_s: float) -> dict:
    name = f"n{n}-{peer}-rep{rep}"
    out = os.path.join(run_dir, name + ".json")
    log_path = os.path.join(run_dir, name + ".log")
    argv = [sys.executable, "-m", "hbbench.child", "--peer", peer, "--count", str(n), "--rep", str(rep),
            "--run-dir", os.path.join(run_dir, name), "--out", out, "--hubbridge-bin", a.hubbridge_bin,
            "--iterations", str(a.iterations), "--figure-budget", str(a.figure_budget),
            "--min-iterations", str(a.min_iterations), "--nodes", str(a.nodes)]
    if a.read_iterations is not None:
        argv += ["--read-iterations", str(a.read_iterations)]
    returncode, error = _supervise(argv, log_path, timeout_s)
    try:
        with open(out) as f:
            res = json.load(f)
    except (OSError, ValueError):
        res = dict(peer=peer, count=n, rep=rep, samples={}, proc={}, info={},
                   error=error or f"child exited {returncode} without a result (log {log_path})")
    if error and not res.get("error"):
        res["error"] = error
    res.setdefault("info", {})["child_log"] = os.path.relpath(log_path, WORKSPACE)
    return res


def run_cloud(a, run_dir: str, timeout_s: float) -> dict:
    """The cloud step (`hbbench.cloud`) in its own process; its result, or {"error": ...}."""
    out = os.path.join(run_dir, "cloud.json")
    log_path = os.path.join(run_dir, "cloud.log")
    argv = [sys.executable, "-m", "hbbench.cloud", "--run-dir", os.path.join(run_dir, "cloud"), "--out", out,
            "--hubbridge-bin", a.hubbridge_bin, "--report-dir", run_dir if a.quick else a.out]
    if a.quick:
        argv += ["--startups", "2", "--devices", "10", "--mqtt-args=--devices 20 --seconds 2 --events 10000"]
    returncode, error = _supervise(argv, log_path, timeout_s)
    try:
        with open(out) as f:
            return json.load(f)
    except (OSError, ValueError):
        return dict(error=error or f"cloud step exited {returncode} without a result (log {log_path})")


def _supervise(argv: list[str], log_path: str, timeout_s: float) -> tuple[int | None, str | None]:
    """Runs one child (its `[hbbench` lines echoed), terminated by PID on timeout; (exit code, error)."""
    env = dict(os.environ, PYTHONPATH=os.path.join(WORKSPACE, "bench") + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONDONTWRITEBYTECODE="1")
    t0 = time.monotonic()
    error = None
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.PIPE, env=env, cwd=WORKSPACE)
        try:
            deadline = t0 + timeout_s
            os.set_blocking(proc.stderr.fileno(), False)
            buf = b""
            while True:
                chunk = proc.stderr.read() or b""
                if chunk:
                    log.write(chunk)
                    log.flush()
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        if line.startswith(b"[hbbench"):
                            print(line.decode(errors="replace"), file=sys.stderr, flush=True)
                if proc.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    error = f"timed out after {timeout_s:.0f}s"
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(60)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(10)
                    break
                time.sleep(0.2)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            # The child's guardian removes its namespaces; make sure, by name (only this child's).
            netns.destroy(f"hb-{proc.pid}")
    return proc.returncode, error


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="hbbench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--counts", default="10,100,500", help="comma-separated N (default 10,100,500)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=100, help="per latency figure (invoke, report)")
    ap.add_argument("--read-iterations", type=int, default=None, help="per read figure (default: --iterations)")
    ap.add_argument("--figure-budget", type=float, default=300.0, help="seconds per figure and repetition")
    ap.add_argument("--min-iterations", type=int, default=10)
    ap.add_argument("--nodes", type=int, default=1,
                    help="hubbridge only: the N lights spread over this many Matter nodes of one process; the "
                         "controller pairs with the main node (N / nodes lights), the rest of the process behind it")
    ap.add_argument("--max-minutes", type=float, default=240.0, help="bound for the whole run")
    ap.add_argument("--peers", default=",".join(peers_mod.DEFAULT_PEERS),
                    help=f"comma-separated, of {', '.join(peers_mod.PEERS)} (default: all)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: N=10, 1 repetition, 10 iterations (overrides the above)")
    ap.add_argument("--label", default=None)
    ap.add_argument("--out", default=os.path.join(WORKSPACE, "bench"))
    ap.add_argument("--hubbridge-bin", default=os.path.join(WORKSPACE, "target", "release", "hubbridge"))
    ap.add_argument("--source-note", default="", help="where the hubbridge binary was built from (for the report)")
    ap.add_argument("--no-cloud", action="store_true", help="skip the cloud step (bench-mqtt, start-up with a connector)")
    ap.add_argument("--cloud-only", action="store_true",
                    help="run only the cloud step and merge it into --out's report.json (Matter figures kept)")
    ap.add_argument("--rerender", action="store_true",
                    help="rewrite report.md/.svg from --out's report.json and bench/notes.md, measuring nothing")
    a = ap.parse_args(argv)
    if a.rerender:
        with open(os.path.join(a.out, "report.json")) as f:
            rep = json.load(f)
        rep["notes"] = _notes(a.out)
        for p in report_mod.write(rep, a.out):
            print(f"[hbbench] wrote {os.path.relpath(p, WORKSPACE)}", file=sys.stderr)
        return 0
    if a.quick:
        a.counts, a.reps, a.iterations, a.read_iterations, a.min_iterations = "10", 1, 10, 10, 3
    a.counts = [int(x) for x in a.counts.split(",") if x]
    peers = [p for p in a.peers.split(",") if p]
    unknown = [p for p in peers if p not in peers_mod.PEERS]
    if unknown or not peers:
        print(f"hbbench: unknown peer(s) {', '.join(unknown) or '(none given)'}; want of {', '.join(peers_mod.PEERS)}",
              file=sys.stderr)
        return 2
    full = (sorted(a.counts) == [10, 100, 500] and a.reps >= 3 and a.iterations >= 100
            and (a.read_iterations is None or a.read_iterations >= 100))
    if a.label is None:
        a.label = "Full run" if full else ("Quick run (smoke test; not for quoting)" if a.quick else "Reduced run")
    if os.geteuid() != 0:
        print("hbbench: needs root (network namespaces); run `sudo cargo xtask bench`", file=sys.stderr)
        return 2
    if not os.access(a.hubbridge_bin, os.X_OK):
        print(f"hbbench: no hubbridge binary at {a.hubbridge_bin}", file=sys.stderr)
        return 2
    if "matterbridge" in peers and (why := peers_mod.matterbridge_available(WORKSPACE)):
        print(f"hbbench: the matterbridge peer cannot run: {why} (or leave it out: --peers hubbridge,matterjs)",
              file=sys.stderr)
        return 2

    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = os.path.join(RUNS, stamp)
    os.makedirs(run_dir, exist_ok=True)
    _prune(KEEP_RUNS, run_dir)
    if a.cloud_only:
        with open(os.path.join(a.out, "report.json")) as f:
            rep = json.load(f)
        print("[hbbench] === cloud step only (Matter figures kept from report.json)", file=sys.stderr, flush=True)
        rep["cloud"] = dict(run_cloud(a, run_dir, 1800), started=_utc())
        rep["targets"] = report_mod.targets(rep["aggregate"], rep["meta"]["counts"], rep["cloud"])
        rep["notes"] = _notes(a.out)
        for p in report_mod.write(rep, a.out):
            print(f"[hbbench] wrote {os.path.relpath(p, WORKSPACE)}", file=sys.stderr)
        return 1 if rep["cloud"].get("error") else 0
    meta = _meta(a, argv)
    deadline = time.monotonic() + a.max_minutes * 60
    results: list[dict] = []
    skipped = []
    interrupted = False
    try:
        for n in a.counts:
            for rep in range(a.reps):
                order = peers if rep % 2 == 0 else list(reversed(peers))
                for peer in order:
                    left = deadline - time.monotonic()
                    if left < 30:
                        skipped.append(f"{peer} N={n} rep {rep}")
                        continue
                    print(f"[hbbench] === {peer} N={n} repetition {rep + 1}/{a.reps} "
                          f"({left / 60:.0f} min left)", file=sys.stderr, flush=True)
                    # A repetition may take at most 6 figure budgets plus start/commission slack.
                    cap = min(left, 6 * a.figure_budget + 600)
                    results.append(run_child(a, peer, n, rep, run_dir, cap))
        cloud = {}
        if not a.no_cloud:
            print("[hbbench] === cloud step (hubbridge only)", file=sys.stderr, flush=True)
            cloud = dict(run_cloud(a, run_dir, 1800), started=_utc())
    except KeyboardInterrupt:
        interrupted = True
        cloud = {}
    meta["finished"] = _utc()
    meta["run_dir"] = os.path.relpath(run_dir, WORKSPACE)
    partial = []
    if skipped:
        partial.append(f"time bound of {a.max_minutes:.0f} min reached; skipped {', '.join(skipped)}")
    if interrupted:
        partial.append("interrupted")
    meta["partial"] = "; ".join(partial) or None
    if not a.quick and a.label.startswith("Full run"):
        counts_seen = [len(r["samples"].get(k, [])) for r in results if not r.get("error")
                       for k in ("invoke_s", "report_s", "structure_read_s", "wildcard_read_s")]
        if (not counts_seen or min(counts_seen) < 100 or partial
                or any(r.get("error") for r in results)):
            meta["label"] = ("Reduced run (some figures have fewer than 100 iterations per repetition: the "
                             "per-figure time cap or the run's time bound was reached; see the iteration counts)")
    failures = [dict(peer=r["peer"], count=r["count"], rep=r["rep"], error=r["error"]) for r in results if r.get("error")]
    agg = report_mod.aggregate(results)
    rep = dict(meta=meta, aggregate=agg, results=results, failures=failures, cloud=cloud,
               notes=[])
    rep["targets"] = report_mod.targets(agg, a.counts, cloud)
    rep["notes"] = _notes(a.out)
    for p in report_mod.write(rep, a.out):
        print(f"[hbbench] wrote {os.path.relpath(p, WORKSPACE)}", file=sys.stderr)
    return 1 if interrupted or (failures and len(failures) == len(results)) else 0


if __name__ == "__main__":
    sys.exit(main())
