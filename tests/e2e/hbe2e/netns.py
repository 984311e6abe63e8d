"""Network namespaces for the end-to-end tests: one isolated two-node link per test session.

Layout (PREFIX = ``hb-<pid>``, pid of the pytest process that owns it)::

    netns PREFIX-dev                          netns PREFIX-ctl
    ┌──────────────────────────┐              ┌──────────────────────────┐
    │ lo (up, multicast)       │              │ lo (up, multicast)       │
    │ hbdev0  fd42:6862::1/64 ─┼── veth pair ─┼─ hbctl0  fd42:6862::2/64 │
    │         169.254.42.1/16  │              │          169.254.42.2/16 │
    │         fe80::…  (auto)  │              │          fe80::…  (auto) │
    │ routes 224.0.0.0/4, ff00::/8 via the veth, in both namespaces       │
    └──────────────────────────┘              └──────────────────────────┘

Nothing here touches the host's own interfaces: the veth pair is created inside PREFIX-dev with its peer
placed straight into PREFIX-ctl, so no mDNS/multicast can reach eth0. DAD is off inside both namespaces
so addresses are usable at once. Addresses are a ULA (fd42:6862::/64, "hb") and IPv4 link-local only.

Also usable as a CLI for debugging::

    python -m hbe2e.netns up   [PREFIX]     # create (prints PREFIX)
    python -m hbe2e.netns down PREFIX       # destroy (kills processes still inside, by pid)
    python -m hbe2e.netns sweep             # destroy hb-<pid>-* whose owner pid is dead
    python -m hbe2e.netns guard PREFIX PID  # (internal) destroy PREFIX when stdin reaches EOF, sparing PID
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

DEV_IF = "hbdev0"
CTL_IF = "hbctl0"
DEV_ADDR6 = "fd42:6862::1"
CTL_ADDR6 = "fd42:6862::2"
DEV_ADDR4 = "169.254.42.1"
CTL_ADDR4 = "169.254.42.2"

# hb-<pid>-dev, hb-<pid>-ctl<n>, and a second pair of the same run as hb-<pid><letter>-... (the aged bridge's).
_NAME_RE = re.compile(r"^hb-(\d+)([a-z]?)-(dev|ctl\d*)$")


@dataclass(frozen=True)
class NetnsPair:
    """The two namespaces of one session and their addresses."""

    prefix: str
    dev: str  # namespace of the device under test (stand-in or hubbridge)
    ctl: str  # namespace of the controller (pytest itself, once entered)
    dev_if: str = DEV_IF
    ctl_if: str = CTL_IF
    dev_addr6: str = DEV_ADDR6
    ctl_addr6: str = CTL_ADDR6
    dev_addr4: str = DEV_ADDR4
    ctl_addr4: str = CTL_ADDR4

    def exec_prefix(self, side: str = "dev") -> list[str]:
        """argv prefix that runs a command inside namespace `side` ('dev' or 'ctl')."""
        return ["ip", "netns", "exec", self.dev if side == "dev" else self.ctl]


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(list(argv), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def list_namespaces() -> list[str]:
    r = _run("ip", "netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def create(prefix: str | None = None) -> NetnsPair:
    """Create the pair (destroying a leftover of the same name first). Raises on any failure, after cleanup."""
    prefix = prefix or f"hb-{os.getpid()}"
    pair = NetnsPair(prefix=prefix, dev=f"{prefix}-dev", ctl=f"{prefix}-ctl")
    destroy(pair.prefix)
    try:
        for ns in (pair.dev, pair.ctl):
            _run("ip", "netns", "add", ns)
            nx = ["ip", "netns", "exec", ns]
            # Per-namespace sysctls: IPv6 on, no duplicate-address detection (addresses usable immediately).
            _run(*nx, "sysctl", "-qw",
                 "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0",
                 "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                 "net.ipv6.conf.all.dad_transmits=0", "net.ipv6.conf.default.dad_transmits=0")
            _run("ip", "-n", ns, "link", "set", "lo", "multicast", "on")
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        # The veth is born inside the dev namespace, its peer goes straight to ctl: it never exists on the host.
        _run("ip", "-n", pair.dev, "link", "add", DEV_IF, "type", "veth", "peer", "name", CTL_IF, "netns", pair.ctl)
        for ns, ifname, a6, a4 in ((pair.dev, DEV_IF, DEV_ADDR6, DEV_ADDR4), (pair.ctl, CTL_IF, CTL_ADDR6, CTL_ADDR4)):
            _run("ip", "-n", ns, "link", "set", ifname, "multicast", "on")
            _run("ip", "-n", ns, "-6", "addr", "add", f"{a6}/64", "dev", ifname, "nodad")
            _run("ip", "-n", ns, "-4", "addr", "add", f"{a4}/16", "dev", ifname)
            _run("ip", "-n", ns, "link", "set", ifname, "up")
            _run("ip", "-n", ns, "-4", "route", "replace", "224.0.0.0/4", "dev", ifname)
            _run("ip", "-n", ns, "-6", "route", "replace", "ff00::/8", "dev", ifname)
        _wait_link_local(pair)
    except BaseException:
        destroy(pair.prefix)
        raise
    return pair


def _wait_link_local(pair: NetnsPair, timeout: float = 5.0) -> None:
    """Wait until both ends have a usable fe80:: address and the link is up (veth carrier)."""
    deadline = time.monotonic() + timeout
    while True:
        ok = True
        for ns, ifname in ((pair.dev, DEV_IF), (pair.ctl, CTL_IF)):
            r = _run("ip", "-n", ns, "-6", "addr", "show", "dev", ifname, "scope", "link", check=False)
            if "fe80::" not in r.stdout or "tentative" in r.stdout:
                ok = False
            r = _run("ip", "-n", ns, "link", "show", ifname, check=False)
            if "LOWER_UP" not in r.stdout:
                ok = False
        if ok:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"netns {pair.prefix}: link-local addresses not ready after {timeout}s")
        time.sleep(0.05)


def _kill_pids_in(ns: str, spare: frozenset[int] = frozenset()) -> None:
    r = _run("ip", "netns", "pids", ns, check=False)
    pids = [int(p) for p in r.stdout.split() if p.isdigit() and int(p) not in spare]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            if pid == os.getpid() or pid in spare:
                continue
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(_alive(p) for p in alive):
            time.sleep(0.05)
        pids = [p for p in alive if _alive(p)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat zombies as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@dataclass(frozen=True)
class ExtraLink:
    """A further link from the dev namespace to a controller namespace of its own (`add_link`)."""

    ns: str  # PREFIX-ctl<n>
    dev_if: str  # hbdev<n>, in the dev namespace
    ctl_if: str  # hbctl<n>, in `ns`
    dev_addr6: str
    ctl_addr6: str
    dev_addr4: str
    ctl_addr4: str

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.ns]


def add_link(pair: NetnsPair, n: int) -> ExtraLink:
    """A second (third, ...) interface on the dev side: veth hbdev<n> in PREFIX-dev to hbctl<n> in a new namespace
    PREFIX-ctl<n>, with fd42:6862:<n>::1,2/64 and 10.42.<n>.1,2/24 (a subnet of its own, so an answer's addresses
    can only be right for one link). Removed by `remove_link` or with the pair (`destroy`)."""
    assert 1 <= n <= 9, n
    link = ExtraLink(ns=f"{pair.prefix}-ctl{n}", dev_if=f"hbdev{n}", ctl_if=f"hbctl{n}",
                     dev_addr6=f"fd42:6862:{n}::1", ctl_addr6=f"fd42:6862:{n}::2",
                     dev_addr4=f"10.42.{n}.1", ctl_addr4=f"10.42.{n}.2")
    remove_link(pair, link)
    try:
        _run("ip", "netns", "add", link.ns)
        _run("ip", "netns", "exec", link.ns, "sysctl", "-qw",
             "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0",
             "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
             "net.ipv6.conf.all.dad_transmits=0", "net.ipv6.conf.default.dad_transmits=0")
        _run("ip", "-n", link.ns, "link", "set", "lo", "multicast", "on")
        _run("ip", "-n", link.ns, "link", "set", "lo", "up")
        _run("ip", "-n", pair.dev, "link", "add", link.dev_if, "type", "veth", "peer", "name", link.ctl_if,
             "netns", link.ns)
        for ns, ifname, a6, a4 in ((pair.dev, link.dev_if, link.dev_addr6, link.dev_addr4),
                                   (link.ns, link.ctl_if, link.ctl_addr6, link.ctl_addr4)):
            _run("ip", "-n", ns, "link", "set", ifname, "multicast", "on")
            _run("ip", "-n", ns, "-6", "addr", "add", f"{a6}/64", "dev", ifname, "nodad")
            _run("ip", "-n", ns, "-4", "addr", "add", f"{a4}/24", "dev", ifname)
            _run("ip", "-n", ns, "link", "set", ifname, "up")
        # Multicast routes only in the new namespace: the dev side keeps its default route for multicast on the
        # first link, and mDNS there picks interfaces explicitly.
        _run("ip", "-n", link.ns, "-4", "route", "replace", "224.0.0.0/4", "dev", link.ctl_if)
        _run("ip", "-n", link.ns, "-6", "route", "replace", "ff00::/8", "dev", link.ctl_if)
        deadline = time.monotonic() + 5
        while True:
            ok = all("fe80::" in _run("ip", "-n", ns, "-6", "addr", "show", "dev", i, "scope", "link",
                                      check=False).stdout
                     and "LOWER_UP" in _run("ip", "-n", ns, "link", "show", i, check=False).stdout
                     for ns, i in ((pair.dev, link.dev_if), (link.ns, link.ctl_if)))
            if ok:
                return link
            if time.monotonic() > deadline:
                raise RuntimeError(f"netns {link.ns}: link-local addresses not ready")
            time.sleep(0.05)
    except BaseException:
        remove_link(pair, link)
        raise


def remove_link(pair: NetnsPair, link: ExtraLink) -> None:
    """Kill (by pid) what runs in the link's namespace, delete it (the veth goes with it). Never raises."""
    if link.ns in set(list_namespaces()):
        try:
            _kill_pids_in(link.ns)
        except Exception:
            pass
        _run("ip", "netns", "del", link.ns, check=False)


def destroy(prefix: str, spare: frozenset[int] = frozenset()) -> None:
    """Kill (by pid) what still runs inside the pair (and its extra links' namespaces), except the pids in `spare`,
    then delete the namespaces. Never raises."""
    existing = set(list_namespaces())
    extra = sorted(ns for ns in existing if re.match(rf"^{re.escape(prefix)}-ctl\d+$", ns))
    for ns in (f"{prefix}-dev", f"{prefix}-ctl", *extra):
        if ns in existing:
            try:
                _kill_pids_in(ns, spare)
            except Exception:
                pass
            _run("ip", "netns", "del", ns, check=False)


def sweep_stale() -> list[str]:
    """Destroy pairs named hb-<pid>[letter]-* whose owning pid is gone (left behind by a SIGKILLed run)."""
    gone = []
    for ns in list_namespaces():
        m = _NAME_RE.match(ns)
        if m and not _alive(int(m.group(1))):
            prefix = f"hb-{m.group(1)}{m.group(2)}"
            if prefix not in gone:
                destroy(prefix)
                gone.append(prefix)
    return gone


# ----------------------------------------------------------------------------- entering a namespace in-process

_CLONE_NEWNS = 0x00020000
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def enter_netns(ns: str) -> None:
    """Move the calling thread (call it before any other thread starts) into network namespace `ns`.

    Threads created afterwards (the CHIP stack's) inherit it."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns({ns}): {os.strerror(e)}")
    finally:
        os.close(fd)


def unshare_mounts() -> None:
    """Give this process a private mount namespace (mounts made afterwards are invisible to the host)."""
    if _libc.unshare(_CLONE_NEWNS) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"unshare(CLONE_NEWNS): {os.strerror(e)}")
    _run("mount", "--make-rprivate", "/")


def bind_mount(src: str, dst: str) -> None:
    os.makedirs(src, exist_ok=True)
    os.makedirs(dst, exist_ok=True)
    _run("mount", "--bind", src, dst)


def _main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "up":
        pair = create(argv[1] if len(argv) > 1 else f"hb-{os.getppid()}")
        print(pair.prefix)
        return 0
    if len(argv) == 2 and argv[0] == "down":
        destroy(argv[1])
        return 0
    if len(argv) == 3 and argv[0] == "guard":
        # Used by sandbox.py: wait until the owner closes our stdin (or dies), then destroy the pair.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        t0 = time.monotonic()
        # The owner (argv[2]) may still be alive, waiting for us: never kill it.
        destroy(argv[1], spare=frozenset({int(argv[2])}))
        print(f"guardian: destroyed {argv[1]} in {time.monotonic() - t0:.2f}s", flush=True)
        return 0
    if argv == ["sweep"]:
        for p in sweep_stale():
            print(f"removed stale {p}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
