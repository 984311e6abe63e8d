"""One repetition: start one peer with N lights in the sandbox, measure every Matter-side figure, stop it.

Figures (raw samples in seconds, the report aggregates them):
- `startup_s`: spawn to ready (pairing code printed), `commission_s`: the controller's CommissionWithCode.
- `structure_read_s`: read of every Descriptor attribute of every endpoint (`[(Descriptor)]`).
- `wildcard_read_s`: read of every attribute of every endpoint (`[()]`).
  Reads are timed without the Python controller's conversion of the answer into cluster objects: a read
  transaction that only counts the attributes it receives (`_CountingRead`), so the figure is device + network +
  the C++ controller, not CPython decoding 30k attributes.
- `invoke_s`: OnOff.Toggle round trips, rotating over the lights.
- `report_s`: local change -> subscription report: from just before the local HTTP request to the arrival of
  the OnOff report in the controller (subscription to OnOff on every endpoint, min interval 0).
- process figures from /proc/<pid>: VmRSS/VmHWM (kB) at ready, idle (commissioned, settled) and after the run;
  CPU seconds (utime+stime) at the same points.
- per figure, CPU milliseconds per operation of the peer (/proc/<pid>/stat) and of the controller (this process,
  os.times()) over the measured iterations: where the time goes when a figure is bound by the controller.

Each figure has an iteration count and a time cap; the samples say how many were taken.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

from hbe2e.controller import Clusters, Controller

CLK_TCK = os.sysconf("SC_CLK_TCK")
OnOff = Clusters.OnOff.Attributes.OnOff


@dataclass
class Params:
    count: int
    iterations: int = 100  # per figure
    read_iterations: int | None = None  # structure/wildcard reads (default: iterations)
    figure_budget_s: float = 120.0  # time cap per figure (at least `min_iterations` are always taken)
    min_iterations: int = 5
    warmup: int = 2
    settle_s: float = 2.0

    @property
    def reads(self) -> int:
        return self.read_iterations if self.read_iterations is not None else self.iterations


@dataclass
class Result:
    peer: str
    count: int
    rep: int
    samples: dict = field(default_factory=dict)  # figure -> [seconds]
    proc: dict = field(default_factory=dict)  # point -> {rss_kb, hwm_kb, cpu_s}
    info: dict = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict:
        return dict(peer=self.peer, count=self.count, rep=self.rep, samples=self.samples, proc=self.proc,
                    info=self.info, error=self.error)


def proc_snapshot(pid: int) -> dict:
    """VmRSS/VmHWM (kB) from /proc/<pid>/status and utime+stime (s) from /proc/<pid>/stat."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out["rss_kb" if line.startswith("VmRSS") else "hwm_kb"] = int(line.split()[1])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    out["cpu_s"] = (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14, 15 of stat(5)
    return out


class _CountingRead:
    """A read transaction that only counts attributes (no TLV decoding into Python objects)."""

    @staticmethod
    def make(future, loop, dev_ctrl):
        from chip.clusters import Attribute as A

        class Counting(A.AsyncReadTransaction):
            def __init__(self):
                super().__init__(future, loop, dev_ctrl, False)
                self.attributes = 0
                self.failures = 0
                self.endpoints: set[int] = set()

            def handleAttributeData(self, path, dataVersion, status, data):
                self.attributes += 1
                self.endpoints.add(path.EndpointId)
                if status != 0:
                    self.failures += 1

        return Counting()


async def _timed_read(ctrl, node_id: int, paths: list) -> tuple[float, object]:
    """One read of `paths` (CASE session already up); returns (seconds, transaction)."""
    from chip.clusters import Attribute as A

    loop = asyncio.get_running_loop()
    device = await ctrl.GetConnectedDevice(node_id)
    attr_paths = [ctrl._parseAttributePathTuple(p) for p in paths]
    future = loop.create_future()
    tx = _CountingRead.make(future, loop, ctrl)
    t0 = time.perf_counter()
    A.Read(tx, device=device.deviceProxy, attributes=attr_paths, fabricFiltered=True).raise_on_error()
    await future
    return time.perf_counter() - t0, tx


class _Cpu:
    """CPU seconds used by the peer and by this (controller) process over the measured iterations of a figure."""

    def __init__(self, pid: int):
        self.pid = pid
        self.t0 = None

    def start(self) -> None:
        t = os.times()
        self.t0 = (proc_snapshot(self.pid)["cpu_s"], t.user + t.system)

    def per_op_ms(self, ops: int) -> tuple[float, float]:
        t = os.times()
        peer, ctl = proc_snapshot(self.pid)["cpu_s"] - self.t0[0], t.user + t.system - self.t0[1]
        return peer / max(ops, 1) * 1e3, ctl / max(ops, 1) * 1e3


def _loop(n: int, budget_s: float, min_n: int):
    """Yields iteration indices until n are done or the budget is spent (at least min_n)."""
    t_end = time.monotonic() + budget_s
    for i in range(n):
        if i >= min_n and time.monotonic() > t_end:
            return
        yield i


def _cpu_info(res: Result, fig: str, cpu: _Cpu, ops: int) -> None:
    peer_ms, ctl_ms = cpu.per_op_ms(ops)
    res.info[fig.replace("_s", "_peer_cpu_ms")] = peer_ms
    res.info[fig.replace("_s", "_controller_cpu_ms")] = ctl_ms


def run_repetition(controller: Controller, peer, params: Params, rep: int, log=print) -> Result:
    """Start `peer`, measure, stop it. Never raises for a failed figure: the error is recorded."""
    res = Result(peer=peer.name, count=params.count, rep=rep)
    rt = controller.rt
    dev = peer.device
    t_rep = time.monotonic()
    try:
        dev.start()
        res.samples["startup_s"] = [dev.last_start_s]
        res.proc["ready"] = proc_snapshot(dev.pid)
        log(f"{peer.name} N={params.count}: ready in {dev.last_start_s:.2f}s")

        codes = dev.pairing_codes()
        t0 = time.perf_counter()
        node = controller.commission(codes.manual, timeout=300)
        res.samples["commission_s"] = [time.perf_counter() - t0]
        log(f"{peer.name} N={params.count}: commissioned in {res.samples['commission_s'][0]:.2f}s")
        time.sleep(params.settle_s)
        res.proc["idle"] = proc_snapshot(dev.pid)

        eps = peer.light_endpoints()
        res.info["endpoints"] = len(eps) + 2

        # -------------------------------------------------------------- reads
        for fig, paths in (("structure_read_s", [Clusters.Descriptor]), ("wildcard_read_s", [()])):
            times = []
            cpu = _Cpu(dev.pid)
            for i in _loop(params.reads + params.warmup, params.figure_budget_s, params.min_iterations + params.warmup):
                if i == params.warmup:
                    cpu.start()
                s, tx = rt.run(_timed_read(controller.ctrl, node, paths), 120, f"bench {fig}")
                if i >= params.warmup:
                    times.append(s)
            res.samples[fig] = times
            _cpu_info(res, fig, cpu, len(times))
            res.info[fig.replace("_s", "_attributes")] = tx.attributes
            res.info[fig.replace("_s", "_endpoints")] = len(tx.endpoints)
            res.info[fig.replace("_s", "_failures")] = tx.failures
            log(f"{peer.name} N={params.count}: {fig} x{len(times)}, {tx.attributes} attributes, "
                f"median {sorted(times)[len(times) // 2] * 1e3:.1f} ms")

        # -------------------------------------------------------------- invoke
        times = []
        cpu = _Cpu(dev.pid)
        for i in _loop(params.iterations + params.warmup, params.figure_budget_s, params.min_iterations + params.warmup):
            if i == params.warmup:
                cpu.start()
            ep = eps[i % len(eps)]
            t0 = time.perf_counter()
            rt.run(controller.ctrl.SendCommand(node, ep, Clusters.OnOff.Commands.Toggle()), 30, "bench invoke")
            if i >= params.warmup:
                times.append(time.perf_counter() - t0)
        res.samples["invoke_s"] = times
        _cpu_info(res, "invoke_s", cpu, len(times))
        log(f"{peer.name} N={params.count}: invoke x{len(times)}, median {sorted(times)[len(times) // 2] * 1e3:.2f} ms")

        # -------------------------------------------------------------- local change -> report
        sub = controller.subscribe(node, [OnOff], min_interval=0, max_interval=60, timeout=120)
        try:
            times = []
            cpu = _Cpu(dev.pid)
            for i in _loop(params.iterations + params.warmup, params.figure_budget_s, params.min_iterations + params.warmup):
                if i == params.warmup:
                    cpu.start()
                idx = i % len(eps)
                ep = eps[idx]
                try:
                    cur = sub.latest(ep, OnOff)
                except KeyError:
                    cur = controller.read_attribute(node, ep, OnOff)
                want = not cur
                mark = sub.mark()
                t0 = time.monotonic()  # Report.at is time.monotonic() at the callback
                peer.set_local(idx, want)
                sub.wait_for(ep, OnOff, want, since=mark, timeout=10)
                at = next(r.at for r in sub.reports[mark:] if r.endpoint == ep and r.attribute is OnOff and r.value == want)
                if i >= params.warmup:
                    times.append(at - t0)
            res.samples["report_s"] = times
            _cpu_info(res, "report_s", cpu, len(times))
            log(f"{peer.name} N={params.count}: report x{len(times)}, "
                f"median {sorted(times)[len(times) // 2] * 1e3:.2f} ms")
        finally:
            sub.close()
            controller.subscriptions.remove(sub)

        res.proc["after"] = proc_snapshot(dev.pid)
    except Exception as e:  # noqa: BLE001 - one failed repetition must not lose the others
        res.error = f"{type(e).__name__}: {e}"[:2000]
        log(f"{peer.name} N={params.count} rep {rep}: FAILED: {res.error}")
        if dev.running:
            try:
                res.proc.setdefault("after", proc_snapshot(dev.pid))
            except OSError:
                pass
    finally:
        peer.close()
        res.info["rep_wall_s"] = time.monotonic() - t_rep
        try:
            dev.stop(timeout=10)
        except Exception:  # noqa: BLE001
            dev.kill()
    return res
