"""A minimal mDNS querier and listener for the tests, independent of the bridge's code and of the controllers:
send one question the way a controller does and collect the records that come back, or listen for unsolicited
announcements. Parses answers by RFC 1035 (name compression included); only what the tests read.

    python -m hbe2e.mdns_probe query IFACE NAME TYPE [--seconds S]   # JSON list of records on stdout
    python -m hbe2e.mdns_probe listen IFACE SECONDS                   # JSON list of responses heard

`query` asks from an ephemeral port (a "legacy unicast" query, RFC 6762 §6.7): the responders answer to that
port, so several probes and the CHIP controller (which holds 5353) do not compete for the answers. Run inside
the namespace whose interface is named (`ip netns exec NS python -m hbe2e.mdns_probe ...`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import select
import socket
import struct
import sys
import time

TYPES = {"A": 1, "PTR": 12, "TXT": 16, "AAAA": 28, "SRV": 33, "ANY": 255}
NAMES = {v: k for k, v in TYPES.items()}
GROUP6 = "ff02::fb"
GROUP4 = "224.0.0.251"


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def build_query(name: str, qtype: str, qid: int | None = None) -> bytes:
    qid = random.randint(1, 0xFFFF) if qid is None else qid
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + _encode_name(name) + struct.pack("!HH", TYPES[qtype], 1)


def _read_name(msg: bytes, off: int) -> tuple[str, int]:
    labels, end, hops = [], None, 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            ptr = ((n & 0x3F) << 8) | msg[off + 1]
            end = off + 2 if end is None else end
            off, hops = ptr, hops + 1
            if hops > 32:
                raise ValueError("compression loop")
            continue
        if n == 0:
            return ".".join(labels), (off + 1 if end is None else end)
        labels.append(msg[off + 1:off + 1 + n].decode(errors="replace"))
        off += 1 + n


def parse(msg: bytes) -> dict:
    """{'id', 'response', 'records': [{'section', 'name', 'type', 'ttl', 'data'}]} of one DNS message."""
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        _, off = _read_name(msg, off)
        off += 4
    records = []
    for section, count in (("answer", an), ("authority", ns), ("additional", ar)):
        for _ in range(count):
            name, off = _read_name(msg, off)
            rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
            off += 10
            rdata = msg[off:off + rdlen]
            if rtype == 1 and rdlen == 4:
                data = str(ipaddress.IPv4Address(rdata))
            elif rtype == 28 and rdlen == 16:
                data = str(ipaddress.IPv6Address(rdata))
            elif rtype == 12:
                data = _read_name(msg, off)[0]
            elif rtype == 33:
                prio, weight, port = struct.unpack("!HHH", rdata[:6])
                data = {"port": port, "target": _read_name(msg, off + 6)[0]}
            elif rtype == 16:
                items, i = [], 0
                while i < len(rdata):
                    n = rdata[i]
                    items.append(rdata[i + 1:i + 1 + n].decode(errors="replace"))
                    i += 1 + n
                data = items
            else:
                data = rdata.hex()
            records.append(dict(section=section, name=name, type=NAMES.get(rtype, str(rtype)), ttl=ttl,
                                cache_flush=bool(rclass & 0x8000), data=data))
            off += rdlen
    return dict(id=qid, response=bool(flags & 0x8000), records=records)


def query(iface: str, name: str, qtype: str, seconds: float = 2.0, v4: bool = False) -> list[dict]:
    """Every record of every answer to one question sent on `iface` within `seconds`, each tagged with the
    responder's address (`from`)."""
    index = socket.if_nametoindex(iface)
    if v4:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 0))
        addr = _iface_v4(iface)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr))
        dest = (GROUP4, 5353)
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::", 0))
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        dest = (GROUP6, 5353, 0, index)
    try:
        s.sendto(build_query(name, qtype), dest)
        return _collect(s, seconds, lambda m: m["response"])
    finally:
        s.close()


def _iface_v4(iface: str) -> str:
    import fcntl
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        raw = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", iface.encode()[:15]))  # SIOCGIFADDR
        return socket.inet_ntoa(raw[20:24])
    finally:
        s.close()


def _collect(s: socket.socket, seconds: float, keep) -> list[dict]:
    out = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        r, _, _ = select.select([s], [], [], left)
        if not r:
            break
        data, src = s.recvfrom(9000)
        try:
            m = parse(data)
        except (ValueError, IndexError, struct.error):
            continue
        if keep(m):
            for rec in m["records"]:
                rec["from"] = src[0]
                out.append(rec)
    return out


class Listener:
    """Hears every mDNS response on `iface` (port 5353, IPv6 group) from construction until `close()`."""

    def __init__(self, iface: str):
        index = socket.if_nametoindex(iface)
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind(("::", 5353))
        mreq = socket.inet_pton(socket.AF_INET6, GROUP6) + struct.pack("@I", index)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        self.sock = s

    def wait_for(self, predicate, seconds: float) -> list[dict]:
        """Records of responses heard until one record satisfies `predicate` (returned with the rest), or []."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            got = _collect(self.sock, min(left, 0.5), lambda m: m["response"])
            if any(predicate(r) for r in got):
                return got
        return []

    def close(self) -> None:
        self.sock.close()


def _main(argv: list[str]) -> int:
    if argv[:1] == ["query"] and len(argv) >= 4:
        seconds = float(argv[argv.index("--seconds") + 1]) if "--seconds" in argv else 2.0
        print(json.dumps(query(argv[1], argv[2], argv[3], seconds, v4="--v4" in argv)))
        return 0
    if argv[:1] == ["listen"] and len(argv) == 3:
        lst = Listener(argv[1])
        print(json.dumps(_collect(lst.sock, float(argv[2]), lambda m: m["response"])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
