"""The Matter transport guard, attacked over the wire while a paired controller keeps using the bridge.

An attacker in the controller's namespace (raw UDP to the bridge's Matter port, from 16 extra addresses of its
own) sends what the 2026-12-02 measurements showed hurts rs-matter 0.4.1: Interaction Model requests on the
unsecured session (answered in cleartext, which enumerated endpoints), a burst of never-acknowledged
PBKDFParamRequests (which pinned sessions and handlers and made the controller's reads fail for 5-6 s), and a
flood of garbage (one multi-line ERROR record each). The controller's reads must keep working throughout, no
IM answer may come back on the unsecured session, and the log must stay small."""

from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import time

import pytest

from hbe2e.controller import Clusters
from test_bridge_matter import bridge  # noqa: F401 - the fixture

pytestmark = pytest.mark.hubbridge

MATTER_PORT = 5540
SECURE_CHANNEL, INTERACTION_MODEL = 0x0000, 0x0001
PBKDF_PARAM_REQUEST = 0x20
READ_REQUEST = 0x02
VendorName = Clusters.BasicInformation.Attributes.VendorName


def unsecured(counter: int, opcode: int, exchange: int, protocol: int, payload: bytes) -> bytes:
    """Message header (source node id present, session 0) + protocol header (initiator, reliable)."""
    header = struct.pack("<BHBIQ", 0x04, 0, 0, counter, 0x1122334455667788)
    proto = struct.pack("<BBHH", 0x05, opcode, exchange, protocol)
    return header + proto + payload


def pbkdf_param_request(session_id: int) -> bytes:
    """TLV {1: random[32], 2: initiator session id, 3: passcode id 0, 4: hasPBKDFParameters false}."""
    return (b"\x15" + b"\x30\x01\x20" + os.urandom(32) + b"\x25\x02" + struct.pack("<H", session_id)
            + b"\x25\x03\x00\x00" + b"\x28\x04" + b"\x18")


def read_request() -> bytes:
    """TLV ReadRequest for every attribute of endpoint 0 ({0: [[ep 0]], 3: fabric filtered})."""
    return b"\x15\x36\x00\x17\x24\x02\x00\x18\x18\x28\x03\x24\xff\x0c\x18"


def replies(sock: socket.socket, seconds: float) -> list[tuple[int, int]]:
    """(protocol id, opcode) of every unsecured-session message received within `seconds`."""
    out = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            break
        data = sock.recv(2048)
        flags, session = data[0], struct.unpack_from("<H", data, 1)[0]
        if session != 0:
            continue
        at = 8 + (8 if flags & 0x04 else 0) + {0: 0, 1: 8, 2: 2}.get(flags & 0x03, 0)
        _, opcode, _, protocol = struct.unpack_from("<BBHH", data, at)
        out.append((protocol, opcode))
    return out


@pytest.fixture
def attacker_addresses(sandbox):
    """16 more addresses on the controller side of the veth (removed afterwards), deprecated (preferred_lft 0)
    so that the kernel never picks them as the controller's source address: rs-matter ties a session to the
    peer's address, and a controller that suddenly sends from another one loses its session."""
    addrs = [f"fd42:6862::{0x100 + i:x}" for i in range(16)]
    for a in addrs:
        subprocess.run(["ip", "-6", "addr", "add", f"{a}/64", "dev", sandbox.pair.ctl_if, "nodad",
                        "preferred_lft", "0"], check=True)
    yield addrs
    for a in addrs:
        subprocess.run(["ip", "-6", "addr", "del", f"{a}/64", "dev", sandbox.pair.ctl_if], check=False)


def udp_from(addr: str) -> socket.socket:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    return s


def test_no_interaction_model_on_the_unsecured_session(bridge, sandbox):  # noqa: F811
    dev, node, api = bridge
    target = (sandbox.pair.dev_addr6, MATTER_PORT)
    s = udp_from(sandbox.pair.ctl_addr6)
    try:
        s.sendto(unsecured(1, PBKDF_PARAM_REQUEST, 0x4000, SECURE_CHANNEL, pbkdf_param_request(0x7000)), target)
        s.sendto(unsecured(2, READ_REQUEST, 0x4001, INTERACTION_MODEL, read_request()), target)
        got = replies(s, 3.0)
    finally:
        s.close()
    # Paired, the window is closed: the bridge acknowledges (MRP) and refuses PASE, but it did hear us.
    assert [g for g in got if g[0] == SECURE_CHANNEL], f"no Secure Channel answer at all: {got}"
    assert not [g for g in got if g[0] == INTERACTION_MODEL], f"IM answered on the unsecured session: {got}"


def test_a_paired_controller_keeps_working_through_establishment_and_garbage_floods(
        bridge, controller, sandbox, attacker_addresses, timings):  # noqa: F811
    dev, node, api = bridge
    target = (sandbox.pair.dev_addr6, MATTER_PORT)
    assert controller.read_attribute(node, 0, VendorName)
    socks = [udp_from(a) for a in attacker_addresses]
    log_before = dev.mark()
    try:
        # 1. Two never-acknowledged PBKDFParamRequests from each of 16 addresses, with an IM request each,
        #    repeated for 8 s, while the controller reads every 0.3 s.
        worst, reads, counter = 0.0, 0, 100
        t_end = time.monotonic() + 8
        while time.monotonic() < t_end:
            for i, s in enumerate(socks):
                for k in range(2):
                    counter += 1
                    ex = (counter * 7) & 0xFFFF
                    s.sendto(unsecured(counter, PBKDF_PARAM_REQUEST, ex, SECURE_CHANNEL,
                                       pbkdf_param_request(0x1000 + i * 2 + k)), target)
                    s.sendto(unsecured(counter + 50000, READ_REQUEST, ex + 1, INTERACTION_MODEL,
                                       read_request()), target)
            t0 = time.monotonic()
            assert controller.read_attribute(node, 0, VendorName, timeout=10)
            worst = max(worst, time.monotonic() - t0)
            reads += 1
            time.sleep(0.3)
        timings.add(f"guard: worst controller read during an establishment flood ({reads} reads)", worst)

        # 2. 20,000 random datagrams.
        for n in range(20_000):
            socks[n % len(socks)].sendto(os.urandom(40 + n % 200), target)
        assert controller.read_attribute(node, 0, VendorName, timeout=10)
    finally:
        for s in socks:
            s.close()

    # The guard says what it dropped, once per cause every 10 s, on the next datagram after that.
    time.sleep(10.5)
    assert controller.read_attribute(node, 1, Clusters.Descriptor.Attributes.PartsList)
    dev.wait_for_log(r"transport guard dropped", since=log_before, timeout=10)
    grown = dev.mark() - log_before
    timings.add("guard: log bytes written for the whole attack (KB)", grown / 1024)
    assert grown < 200_000, f"{grown} bytes of log for the attack: not rate-limited"
    # Still fully usable: a command.
    light = api.device("hall-light")["endpoint"]
    controller.invoke(node, light, Clusters.OnOff.Commands.On())
    assert api.device("hall-light")["state"]["on"] is True
