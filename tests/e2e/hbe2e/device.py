"""A device-under-test process (the matter.js stand-in or hubbridge) running in the session's dev namespace.

Its stdout+stderr go to `<run dir>/logs/<name>.log`, appended across restarts (each start writes a
`==== hbe2e: start #N` header). Waits are on that log: `wait_for_log(regex)` only looks at output produced after
the latest start (or after a `mark()`), so a restart never matches the previous incarnation's lines.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass

# If pytest is SIGKILLed, its device processes get SIGKILL too (the guardian then removes the namespaces).
# setpriv sets PR_SET_PDEATHSIG in the child and execs: no preexec_fn in a process that has CHIP's threads.
_DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL"]


class DeviceError(AssertionError):
    pass


@dataclass(frozen=True)
class PairingCodes:
    manual: str  # digits only (11 or 21)
    qr: str | None  # "MT:..." or None if the device did not print one


_QR_RE = re.compile(r"\bMT:[0-9A-Z.\-]{15,}")
_MANUAL_RE = re.compile(r"(?i)manual[^0-9\n]*?(\d[\d\- ]{9,26}\d)")


def parse_pairing_codes(text: str) -> PairingCodes | None:
    """Finds the last manual pairing code (on a line that says 'manual', dashes/spaces allowed) and QR payload."""
    manual = None
    for m in _MANUAL_RE.finditer(text):
        digits = re.sub(r"[\s\-]", "", m.group(1))
        if len(digits) in (11, 21):
            manual = digits
    if manual is None:
        return None
    qrs = _QR_RE.findall(text)
    return PairingCodes(manual=manual, qr=qrs[-1] if qrs else None)


class Device:
    """A process started in a network namespace with its output in a log file.

    `argv` is the command WITHOUT the namespace prefix; `netns` names the namespace (None = the caller's own,
    i.e. the controller's). `ready` is a regex the log must show after each start (None = don't wait).
    """

    def __init__(self, name: str, argv: list[str], *, netns: str | None, log_dir: str,
                 ready: str | None = None, ready_timeout: float = 60.0, env: dict | None = None,
                 cwd: str | None = None, stop_timeout: float = 10.0):
        self.name = name
        self.argv = list(argv)
        self.netns = netns
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.ready = re.compile(ready) if ready else None
        self.ready_timeout = ready_timeout
        self.env = env
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._start_offset = 0
        self.last_start_s: float | None = None  # seconds from spawn to ready, last start
        os.makedirs(log_dir, exist_ok=True)

    def __repr__(self) -> str:
        return f"Device({self.name}, pid={self.pid}, log={self.log_path})"

    # ------------------------------------------------------------------------------------------- lifecycle
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float | None = None) -> "Device":
        """Spawn the process and wait for the ready regex (raises DeviceError with the log tail if it exits
        first or the regex does not show in time)."""
        if self.running:
            raise DeviceError(f"{self.name} already running (pid {self.pid})")
        self.starts += 1
        from hbe2e.api import register_argv  # a hubbridge: tell the API client where its token is
        register_argv(self.argv, self.cwd)
        full = _DIE_WITH_PARENT + (["ip", "netns", "exec", self.netns] if self.netns else []) + self.argv
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== hbe2e: start #{self.starts} at {time.strftime('%H:%M:%S')}: {' '.join(full)}\n".encode())
            log.flush()
            self._start_offset = log.tell()
            t0 = time.monotonic()
            self.proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env=env, cwd=self.cwd)
        if self.ready is not None:
            self.wait_for_log(self.ready, timeout or self.ready_timeout)
        self.last_start_s = time.monotonic() - t0
        return self

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` (default stop_timeout). Returns the exit code (None if not started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout or self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._append(f"==== hbe2e: no exit {timeout or self.stop_timeout}s after SIGTERM: SIGKILL")
                self.proc.kill()
                self.proc.wait(10)
        rc = self.proc.returncode
        self._append(f"==== hbe2e: exited with {rc}")
        return rc

    def kill(self) -> int | None:
        """SIGKILL at once (a crash / power cut)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._append(f"==== hbe2e: killed, exit {self.proc.returncode}")
        return self.proc.returncode

    def restart(self, timeout: float | None = None, hard: bool = False) -> "Device":
        """Stop (SIGTERM, or SIGKILL if hard) and start again with the same argv, i.e. the same storage."""
        self.kill() if hard else self.stop()
        return self.start(timeout)

    # ------------------------------------------------------------------------------------------- the log
    def log_text(self, since: int | None = None) -> str:
        """Log text from byte offset `since` (default: the latest start)."""
        off = self._start_offset if since is None else since
        try:
            with open(self.log_path, "rb") as f:
                f.seek(off)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def mark(self) -> int:
        """Current end of the log; pass as `since=` to only see what comes after."""
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def grep(self, pattern: str | re.Pattern, since: int | None = None) -> re.Match | None:
        """Last match of `pattern` in the log since `since` (default: latest start), or None."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        last = None
        for m in rx.finditer(self.log_text(since)):
            last = m
        return last

    def wait_for_log(self, pattern: str | re.Pattern, timeout: float = 30.0, since: int | None = None) -> re.Match:
        """Wait until `pattern` shows in the log (since `since`, default the latest start); returns the first match.
        Raises DeviceError if the process exits first or on timeout, with the log's tail."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_text(since))
            if m:
                return m
            if self.proc is not None and self.proc.poll() is not None:
                # one last look: output may have landed just before exit
                m = rx.search(self.log_text(since))
                if m:
                    return m
                raise DeviceError(f"{self.name} exited ({self.proc.returncode}) before /{rx.pattern}/ showed; "
                                  f"log {self.log_path}:\n{self.tail()}")
            if time.monotonic() >= deadline:
                raise DeviceError(f"/{rx.pattern}/ not in {self.name}'s log after {timeout}s; "
                                  f"log {self.log_path}:\n{self.tail()}")
            time.sleep(0.05)

    def pairing_codes(self, timeout: float = 30.0) -> PairingCodes:
        """The manual pairing code / QR payload the device printed since its latest start."""
        deadline = time.monotonic() + timeout
        while True:
            codes = parse_pairing_codes(self.log_text())
            if codes:
                return codes
            if time.monotonic() >= deadline or not self.running:
                raise DeviceError(f"{self.name}: no manual pairing code in its log; log {self.log_path}:\n{self.tail()}")
            time.sleep(0.05)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text(0).splitlines()[-lines:])

    def _append(self, line: str) -> None:
        with open(self.log_path, "a") as f:
            f.write(line + "\n")


class Devices:
    """Starts processes in the dev namespace; stops every one it started when the test ends."""

    def __init__(self, sandbox):  # hbe2e.sandbox.Sandbox
        self.sandbox = sandbox
        self.started: list[Device] = []

    def create(self, name: str, argv: list[str], *, ready: str | None = None, ready_timeout: float = 60.0,
               env: dict | None = None, cwd: str | None = None, side: str = "dev",
               stop_timeout: float = 10.0) -> Device:
        """A Device (not started). side='dev' (default) or 'ctl' (the controller's namespace)."""
        ns = self.sandbox.pair.dev if side == "dev" else None  # 'ctl': we already are there
        d = Device(name, argv, netns=ns, log_dir=self.sandbox.log_dir, ready=ready, ready_timeout=ready_timeout,
                   env=env, cwd=cwd, stop_timeout=stop_timeout)
        self.started.append(d)
        return d

    def start(self, name: str, argv: list[str], **kw) -> Device:
        return self.create(name, argv, **kw).start()

    def stop_all(self) -> None:
        for d in reversed(self.started):
            try:
                d.stop()
            except Exception:
                d.kill()
