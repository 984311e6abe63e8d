"""hubbridge run under Debian's strace: which thread made which durable-write syscall, and fault injection.

    argv = strace_argv(binary, cfg, log=path, inject=["fsync,fdatasync:error=EIO:when=3+3"])
    dev = devices.create("hubbridge", argv, ready=HUBBRIDGE_READY, cwd=device_dir)
    dev.start()
    pid = traced_pid(dev)            # the hubbridge process itself (strace is its parent)
    names = thread_names(pid)        # tid -> comm ("matter", "persist", "hubbridge", ...)
    calls = parse(path)              # [Call(tid, name, result, injected)]
    kill_traced(dev)                 # SIGKILL the bridge itself (a power cut as far as the process goes)

The harness registers a hubbridge's storage by its argv (`hbe2e.api.register_argv`); `strace_argv` puts the
bridge's own argv last, so `register(argv)` below does the same for a traced one.
"""

from __future__ import annotations

import os
import re
import signal
import time
from dataclasses import dataclass

# The syscalls a durable write is made of (Rust's File::sync_all is fsync, sync_data fdatasync; fs::rename is
# rename on x86-64 glibc, renameat/renameat2 elsewhere).
DURABLE = "fsync,fdatasync,rename,renameat,renameat2"

_TS = r"(?:\d\d:\d\d:\d\d\.\d+\s+)?"
_FULL = re.compile(r"^(\d+)\s+" + _TS + r"(\w+)\((.*)$")
_RESUMED = re.compile(r"^(\d+)\s+" + _TS + r"<\.\.\. (\w+) resumed>(.*)$")


@dataclass
class Call:
    tid: int
    name: str
    rest: str

    @property
    def injected(self) -> bool:
        return "(INJECTED)" in self.rest

    @property
    def failed(self) -> bool:
        return bool(re.search(r"= -1 E", self.rest))


def strace_argv(binary: str, config: str, *, log: str, trace: str = DURABLE, inject: list[str] = ()) -> list[str]:
    argv = ["strace", "-f", "-tt", "-qq", "-o", log, "-e", f"trace={trace}"]
    for spec in inject:
        argv += ["-e", f"inject={spec}"]
    return argv + [binary, "run", "--config", config]


def register(argv: list[str], cwd: str | None) -> None:
    """Tell the API client where the traced bridge keeps its token (its argv starts at the binary)."""
    from hbe2e.api import register_argv
    i = next(i for i, a in enumerate(argv) if os.path.basename(a) == "hubbridge")
    register_argv(argv[i:], cwd)


def traced_pid(dev, timeout: float = 10.0) -> int:
    """The pid of hubbridge under the strace process `dev` started (its only child)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(f"/proc/{dev.pid}/task/{dev.pid}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except FileNotFoundError:
            kids = []
        if kids:
            return kids[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no child under strace (pid {dev.pid})")
        time.sleep(0.05)


def thread_names(pid: int) -> dict[int, str]:
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                out[int(tid)] = f.read().strip()
        except FileNotFoundError:
            pass
    return out


def parse(path: str) -> list[Call]:
    """Every traced call once, with its result (a call another thread interrupted is joined back up)."""
    calls: list[Call] = []
    pending: dict[tuple[int, str], Call] = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = _RESUMED.match(line)
            if m:
                call = pending.pop((int(m.group(1)), m.group(2)), None)
                if call is not None:
                    call.rest += m.group(3)
                continue
            m = _FULL.match(line)
            if not m:
                continue  # "+++ exited", "--- SIGCHLD", ...
            call = Call(int(m.group(1)), m.group(2), m.group(3))
            calls.append(call)
            if "<unfinished ...>" in line:
                pending[(call.tid, call.name)] = call
    return calls


def kill_traced(dev) -> None:
    """SIGKILL hubbridge itself (not strace: a killed tracer may leave its tracee running), then reap strace."""
    try:
        os.kill(traced_pid(dev), signal.SIGKILL)
    except (AssertionError, ProcessLookupError):
        pass  # already gone
    try:
        dev.proc.wait(15)
    except Exception:
        dev.kill()
    dev._append("==== hbe2e: hubbridge under strace killed with SIGKILL")
