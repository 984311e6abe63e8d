"""pytest fixtures of the hubbridge end-to-end tests. The API is described in tests/e2e/README.md.

Session: `sandbox` (namespaces, private mounts, run dir), `chip_runtime` (the one CHIP stack), `controller`
(administrator on fabric 1), `new_controller` (factory: another administrator on a new fabric), `timings`.
Per test: `devices` (generic process factory in the dev namespace), `device_dir`, `standin` (matter.js stand-in
factory), `hubbridge` (real bridge factory).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hbe2e.device import Device, Devices  # noqa: E402
from hbe2e.sandbox import Sandbox  # noqa: E402
from hbe2e import standin as _standin  # noqa: E402

WORKSPACE = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def _sigterm_to_interrupt(signum, frame):  # pragma: no cover - exercised by CI timeouts
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    # SIGTERM (CI cancelling, run.sh forwarding) tears down like Ctrl-C: fixtures stop devices, the sandbox is left.
    signal.signal(signal.SIGTERM, _sigterm_to_interrupt)


# ------------------------------------------------------------------------------------------------------ session


class Timings:
    """Named durations collected during the session, printed in the terminal summary (not assertions)."""

    def __init__(self):
        self.items: list[tuple[str, float]] = []

    def add(self, name: str, seconds: float) -> None:
        self.items.append((name, seconds))


_TIMINGS = Timings()


@pytest.fixture(scope="session")
def timings() -> Timings:
    return _TIMINGS


def pytest_terminal_summary(terminalreporter):
    if _TIMINGS.items:
        terminalreporter.write_sep("-", "hbe2e timings")
        for name, s in _TIMINGS.items:
            terminalreporter.write_line(f"{name:<48} {s:8.2f}s")
    if _SANDBOX is not None:
        terminalreporter.write_line(f"hbe2e run dir: {_SANDBOX.run_dir}")


_SANDBOX: Sandbox | None = None


@pytest.fixture(scope="session")
def workspace() -> str:
    return WORKSPACE


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """Namespaces hb-<pid>-dev/-ctl; this process now lives in -ctl with private /data and /tmp."""
    global _SANDBOX
    sb = Sandbox.enter(WORKSPACE, os.environ.get("HB_E2E_RUN_DIR") or None)
    _SANDBOX = sb
    try:
        yield sb
    finally:
        sb.leave()


# ---------------------------------------------------------------------------------------------- the aged bridge
# A hubbridge started when the session starts, in namespaces of its own (hb-<pid>a-dev/-ctl, so no other test's
# controller discovers it), for the tests that pair with a node long after its start-up announcements are over
# (test_mdns.py). It ages while the other tests run; a test using it waits only for what is left of the age.
AGED_AGE_S = float(os.environ.get("HB_E2E_AGED_S", "300"))


class AgedBridge:
    def __init__(self, pair, device: Device, started: float, run_dir: str):
        self.pair = pair
        self.device = device
        self.started = started
        self.run_dir = run_dir

    def age(self) -> float:
        return time.monotonic() - self.started

    def wait_until_aged(self, age_s: float = AGED_AGE_S) -> float:
        left = age_s - self.age()
        if left > 0:
            time.sleep(left)
        return self.age()


def pytest_collection_modifyitems(session, config, items):
    config._hb_wants_aged = any("aged_bridge" in getattr(i, "fixturenames", ()) for i in items)


@pytest.fixture(scope="session", autouse=True)
def _aged_bridge_session(request):
    binary = hubbridge_binary()
    if not getattr(request.config, "_hb_wants_aged", False) or binary is None:
        yield None
        return
    from hbe2e import netns
    from hbe2e.hubbridge import config_toml

    sb = request.getfixturevalue("sandbox")
    pair = netns.create(f"{sb.pair.prefix}a")
    run_dir = os.path.join(sb.devices_dir, "aged")
    os.makedirs(run_dir, exist_ok=True)
    cfg = os.path.join(run_dir, "hubbridge.toml")
    with open(cfg, "w") as f:
        f.write(config_toml(os.path.join(run_dir, "state"), interface=pair.dev_if, name="Aged bridge",
                            api_listen=f"[{pair.dev_addr6}]:8080",
                            devices=[dict(id="aged-light", kind="on_off_light", name="Aged light")]))
    dev = Device("hubbridge-aged", [binary, "run", "--config", cfg], netns=pair.dev, log_dir=sb.log_dir,
                 ready=HUBBRIDGE_READY, env={"RUST_LOG": "info"}, cwd=run_dir)
    try:
        dev.start()
        yield AgedBridge(pair, dev, time.monotonic(), run_dir)
    finally:
        dev.stop()
        netns.destroy(pair.prefix)


@pytest.fixture
def aged_bridge(_aged_bridge_session) -> AgedBridge:
    """The session's aged hubbridge (see AGED_AGE_S), unpaired until a test pairs it."""
    if _aged_bridge_session is None:
        pytest.skip("hubbridge binary not built")
    return _aged_bridge_session


@pytest.fixture(scope="session")
def chip_runtime(sandbox):
    from hbe2e.controller import ChipRuntime

    rt = ChipRuntime(sandbox.controller_storage, sandbox.paa_dir, os.path.join(sandbox.log_dir, "chip-controller.log"),
                     chip_log_level=os.environ.get("HB_E2E_CHIP_LOG", "detail"))
    try:
        yield rt
    finally:
        rt.shutdown()


@pytest.fixture(scope="session")
def controller(chip_runtime):
    """The main administrator: fabric 1, controller node id 112233."""
    return chip_runtime.new_controller("alpha", fabric_id=1)


@pytest.fixture(scope="session")
def new_controller(chip_runtime):
    """Factory: new_controller(name, fabric_id=None, vendor_id=None) -> Controller on a NEW fabric (a second
    ecosystem); `vendor_id` is the admin vendor id its commissioner writes into the fabric (default: test vendor)."""
    def make(name: str, fabric_id: int | None = None, vendor_id: int | None = None):
        if vendor_id is None:
            return chip_runtime.new_controller(name, fabric_id=fabric_id)
        return chip_runtime.new_controller(name, fabric_id=fabric_id, vendor_id=vendor_id)
    return make


# ------------------------------------------------------------------------------------------------------ per test


def _slug(nodeid: str) -> str:
    # "test_x.py::test_y[param]" -> "test_x.test_y_param_"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.rsplit("/", 1)[-1].replace(".py::", "."))[:100]


@pytest.fixture
def device_dir(sandbox, request) -> str:
    """A fresh directory for this test's device state/config files: <run dir>/devices/<test name>/."""
    base = os.path.join(sandbox.devices_dir, _slug(request.node.nodeid))
    d, n = base, 1
    while os.path.exists(d):  # a rerun of the same test id gets a fresh one
        n += 1
        d = f"{base}.{n}"
    os.makedirs(d)
    return d


@pytest.fixture
def devices(sandbox):
    ds = Devices(sandbox)
    try:
        yield ds
    finally:
        ds.stop_all()


@pytest.fixture
def standin(sandbox, devices, device_dir, timings):
    """Factory: standin(count=3, passcode=20202021, discriminator=3840, port=5540, name="standin",
    storage=None, start=True, log_level="info") -> Device (the matter.js stand-in bridge, started and ready)."""
    why = _standin.standin_available(WORKSPACE)
    if why:
        pytest.skip(f"matter.js stand-in unavailable: {why}")

    def make(count: int = 3, passcode: int = 20202021, discriminator: int = 3840, port: int = 5540,
             name: str = "standin", storage: str | None = None, start: bool = True, log_level: str = "info") -> Device:
        d = _standin.standin_device(
            WORKSPACE, name=name, netns=sandbox.pair.dev, interface=sandbox.pair.dev_if, log_dir=sandbox.log_dir,
            storage=storage or os.path.join(device_dir, name), count=count, passcode=passcode,
            discriminator=discriminator, port=port, log_level=log_level)
        devices.started.append(d)
        if start:
            d.start()
            timings.add(f"{name}: start to ready", d.last_start_s or 0)
        return d
    return make


def hubbridge_binary() -> str | None:
    b = os.environ.get("HB_E2E_HUBBRIDGE_BIN") or os.path.join(WORKSPACE, "target", "debug", "hubbridge")
    return b if os.path.isfile(b) and os.access(b, os.X_OK) else None


@pytest.fixture
def hubbridge(sandbox, devices, device_dir, timings):
    """Factory: hubbridge(config, name="hubbridge", ready=DEFAULT_READY, start=True, args=(), env=None) -> Device.

    `config` is TOML text (written to <device_dir>/<name>.toml) or the path of an existing file; the process is
    `hubbridge run --config FILE` in the dev namespace (interface `sandbox.pair.dev_if`). Skips when the binary
    is missing, unless HB_E2E_REQUIRE_HUBBRIDGE=1 (then fails)."""
    binary = hubbridge_binary()
    if binary is None:
        msg = "hubbridge binary not built (target/debug/hubbridge; or set HB_E2E_HUBBRIDGE_BIN)"
        if os.environ.get("HB_E2E_REQUIRE_HUBBRIDGE") == "1":
            pytest.fail(msg)
        pytest.skip(msg)

    def make(config: str, name: str = "hubbridge", ready: str | None = HUBBRIDGE_READY, start: bool = True,
             args: tuple[str, ...] = (), env: dict | None = None, ready_timeout: float = 60.0) -> Device:
        if os.path.isfile(config):
            cfg = config
        else:
            cfg = os.path.join(device_dir, f"{name}.toml")
            with open(cfg, "w") as f:
                f.write(config)
        e = {"RUST_BACKTRACE": "1", "RUST_LOG": os.environ.get("RUST_LOG", "info")}
        e.update(env or {})
        d = devices.create(name, [binary, "run", "--config", cfg, *args], ready=ready, ready_timeout=ready_timeout,
                           env=e, cwd=device_dir)
        if start:
            d.start()
            timings.add(f"{name}: start to ready", d.last_start_s or 0)
        return d
    return make


# Default "hubbridge is up" signal: the line it prints once the API serves (paired or not: the pairing code is
# printed only while unpaired). Override per call with ready=r"..." .
HUBBRIDGE_READY = os.environ.get("HB_E2E_HUBBRIDGE_READY", r"hubbridge ready: API on")


@pytest.fixture
def mosquitto(sandbox, devices, device_dir):
    """Factory: mosquitto(name="mosquitto") -> hbe2e.mosquitto.Broker, started in the dev namespace on the veth
    address (TCP and TLS listeners, password auth, client certificates required on TLS, test PKI per test)."""
    from hbe2e.mosquitto import make_broker

    def make(name: str = "mosquitto"):
        return make_broker(devices, WORKSPACE, device_dir, sandbox.pair.dev_addr4, name=name)
    return make
