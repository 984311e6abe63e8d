"""The peers under test, started the same way: N virtual On/Off lights behind an aggregator.

- `hubbridge`: `hubbridge run --config FILE` with a generated config of N `on_off_light` devices (virtual source,
  drift off); local changes through its HTTP API (`PATCH /api/devices/{id}/state`).
- `matterjs`: `node bench/matterjs/bridge.mjs --count N`; local changes through its `--control-port` hook
  (`PUT /lights/<i>`).
- `matterbridge`: the real Matterbridge (npm `matterbridge`, pinned in bench/matterbridge) in bridge mode, no
  virtual devices, with the local plugin `bench/matterbridge/plugin` (N lights); local changes through the
  plugin's hook (`PUT /lights/<i>`, the same as matter.js'). Its frontend and backend listen on the
  namespace's loopback only.

All are `hbe2e.device.Device`s in the sandbox's dev namespace; the local-change requests go over the veth from
the controller's namespace on one kept-alive HTTP connection.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil

from hbe2e.device import Device
from hbe2e.api import token_for_port
from hbe2e.hubbridge import config_toml
from hbe2e.standin import standin_device

PEERS = ("hubbridge", "matterjs", "matterbridge")
# `--peers` default: all three (a full run with Matterbridge stays well inside the default --max-minutes).
DEFAULT_PEERS = PEERS
API_PORT = 8080
CONTROL_PORT = 8081


class Peer:
    """A started bridge with N lights: its process, its light endpoints and a local-change hook."""

    name: str
    device: Device
    count: int

    def light_endpoints(self) -> list[int]:
        raise NotImplementedError

    def set_local(self, index: int, on: bool) -> None:
        """Change light `index` (0-based) as a local source would; returns once the bridge accepted it."""
        raise NotImplementedError

    def _http(self, host: str, port: int):
        if getattr(self, "_conn", None) is None:
            self._conn = http.client.HTTPConnection(host, port, timeout=10)
        return self._conn

    def _request(self, host: str, port: int, method: str, path: str, body: dict, ok: tuple[int, ...]) -> None:
        data = json.dumps(body).encode()
        for attempt in (1, 2):  # one retry on a connection the server closed while idle
            conn = self._http(host, port)
            try:
                conn.request(method, path, body=data, headers=_headers(port))
                r = conn.getresponse()
                text = r.read()
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                conn.close()
                self._conn = None
                if attempt == 2:
                    raise
        if r.status not in ok:
            raise RuntimeError(f"{self.name}: {method} {path} -> {r.status}: {text[:200]!r}")

    def close(self) -> None:
        if getattr(self, "_conn", None) is not None:
            self._conn.close()
            self._conn = None


def _headers(port: int) -> dict:
    """JSON, and hubbridge's API token when a hubbridge serves `port`."""
    h = {"content-type": "application/json"}
    token = token_for_port(port)
    if token:
        h["authorization"] = f"Bearer {token}"
    return h


class HubbridgePeer(Peer):
    def __init__(self, *, binary: str, count: int, sandbox, storage: str, log_level: str = "warn", extra: str = "",
                 nodes: int = 1):
        """`extra`: more config, appended verbatim (the cloud step's connector). `nodes` > 1: the `count` lights
        are spread over that many Matter nodes of the one process (light k in room r<k % nodes>, node n<j>
        serving room r<j>); the controller pairs with the main node, which serves room r0 — the figures are
        that node's, with the whole process behind it."""
        self.name = "hubbridge"
        self.count = count
        self.host = sandbox.pair.dev_addr6
        ids = [f"light-{i:03d}" for i in range(1, count + 1)]
        devices = [dict(id=i, kind="on_off_light", name=f"Light {n}") for n, i in enumerate(ids, 1)]
        if nodes > 1:
            for k, d in enumerate(devices):
                d["room"] = f"r{k % nodes}"
            extra = "\n".join([extra] + [f'[[nodes]]\nid = "n{j}"\nname = "hubbridge bench {j}"\nport = {5540 + j}\n'
                                         f'rooms = ["r{j}"]\n' for j in range(1, nodes)])
        # The lights the measured (main) node serves.
        self.ids = [i for k, i in enumerate(ids) if k % nodes == 0]
        self.nodes = nodes
        cfg = config_toml(os.path.join(storage, "state"), interface=sandbox.pair.dev_if, name="hubbridge bench",
                          api_listen=f"[{self.host}]:{API_PORT}", devices=devices, extra=extra,
                          # The benchmark drives the API as fast as it answers: no per-client rate limit.
                          api_extra=dict(rate_limit_per_second=1000000, rate_limit_burst=1000000))
        cfg += "\n[virtual]\ndrift = false\n"
        os.makedirs(storage, exist_ok=True)
        path = os.path.join(storage, "hubbridge.toml")
        with open(path, "w") as f:
            f.write(cfg)
        self.device = Device("hubbridge", [binary, "run", "--config", path], netns=sandbox.pair.dev,
                             log_dir=sandbox.log_dir, ready=r"hubbridge ready: API on", ready_timeout=120,
                             env={"RUST_LOG": log_level}, cwd=storage)
        self._endpoints: list[int] | None = None

    def light_endpoints(self) -> list[int]:
        if self._endpoints is None:
            conn = self._http(self.host, API_PORT)
            conn.request("GET", "/api/devices", headers=_headers(API_PORT))
            r = conn.getresponse()
            devices = {d["id"]: d["endpoint"] for d in json.loads(r.read())}
            self._endpoints = [devices[i] for i in self.ids]
        return self._endpoints

    def set_local(self, index: int, on: bool) -> None:
        self._request(self.host, API_PORT, "PATCH", f"/api/devices/{self.ids[index]}/state", {"on": on}, (200,))


class MatterjsPeer(Peer):
    def __init__(self, *, workspace: str, count: int, sandbox, storage: str, log_level: str = "warn"):
        self.name = "matterjs"
        self.count = count
        self.host = sandbox.pair.dev_addr6
        self.device = standin_device(workspace, name="matterjs", netns=sandbox.pair.dev,
                                     interface=sandbox.pair.dev_if, log_dir=sandbox.log_dir, storage=storage,
                                     count=count, log_level=log_level)
        self.device.argv += ["--control-port", str(CONTROL_PORT)]
        self.device.ready_timeout = 300  # 500 endpoints take a while to build

    def light_endpoints(self) -> list[int]:
        return list(range(2, self.count + 2))  # bridge.mjs: light i is endpoint i+1

    def set_local(self, index: int, on: bool) -> None:
        self._request(self.host, CONTROL_PORT, "PUT", f"/lights/{index + 1}", {"on": on}, (204,))


MATTERBRIDGE_DIR = ("bench", "matterbridge")
MATTERBRIDGE_FRONTEND_PORT = 8283


def matterbridge_available(workspace: str) -> str | None:
    """None if the Matterbridge peer can run, else the reason it cannot (tests/e2e/install.sh installs it)."""
    root = os.path.join(workspace, *MATTERBRIDGE_DIR)
    if shutil.which("node") is None:
        return "node is not installed"
    if not os.path.isfile(os.path.join(root, "node_modules", "matterbridge", "bin", "matterbridge.js")):
        return f"Matterbridge is not installed in {root} (run tests/e2e/install.sh)"
    if not os.path.exists(os.path.join(root, "plugin", "node_modules", "matterbridge")):
        # Without it Matterbridge runs `npm link matterbridge` in the plugin's directory at every start.
        return f"{root}/plugin/node_modules/matterbridge is missing (run tests/e2e/install.sh)"
    return None


def matterbridge_version(workspace: str) -> str | None:
    try:
        with open(os.path.join(workspace, *MATTERBRIDGE_DIR, "node_modules", "matterbridge", "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return None


class MatterbridgePeer(Peer):
    """Matterbridge with N lights from bench/matterbridge/plugin.

    Its home (`-homedir`, and HOME) is fresh per repetition under `storage`: the plugin is registered there by a
    one-shot `matterbridge -add` before the first start (an install step, not part of the timed start-up).
    Started as `node …/bin/matterbridge.js` so the process we measure and signal is Matterbridge itself (on
    SIGTERM it closes its server node and exits, 0 here, 143 in other setups). `-novirtual`: no "restart"/"update" outlets on the aggregator; `-bind 127.0.0.1`: frontend
    and backend on the namespace's loopback; `-mdnsinterface`: mDNS on the veth only.
    """

    def __init__(self, *, workspace: str, count: int, sandbox, storage: str, log_level: str = "notice"):
        self.name = "matterbridge"
        self.count = count
        self.host = sandbox.pair.dev_addr6
        root = os.path.join(workspace, *MATTERBRIDGE_DIR)
        self.plugin = os.path.join(root, "plugin")
        cli = os.path.join(root, "node_modules", "matterbridge", "bin", "matterbridge.js")
        self.home = os.path.join(storage, "home")
        os.makedirs(self.home, mode=0o700, exist_ok=True)
        env = {"HOME": self.home, "NO_COLOR": "1", "HBBENCH_LIGHTS": str(count),
               "HBBENCH_CONTROL_PORT": str(CONTROL_PORT)}
        common = ["-homedir", self.home, "-no-ansi", "-nosudo"]
        self._add = Device("matterbridge-add", ["node", cli, *common, "-add", self.plugin], netns=sandbox.pair.dev,
                           log_dir=sandbox.log_dir, env=env, cwd=self.home)
        # (the pairing code is logged at "notice": the quietest level that still shows it)
        self.device = _RegisteringDevice(self.register_plugin, "matterbridge", ["node", cli, *common, "-novirtual", "-bridge", "-port", "5540",
                                              "-passcode", "20202021", "-discriminator", "3840",
                                              "-frontend", str(MATTERBRIDGE_FRONTEND_PORT), "-bind", "127.0.0.1",
                                              "-mdnsinterface", sandbox.pair.dev_if, "-logger", log_level,
                                              "-matterlogger", log_level],
                             netns=sandbox.pair.dev, log_dir=sandbox.log_dir, ready=r"Manual pairing code",
                             ready_timeout=300, env=env, cwd=self.home, stop_timeout=30)
        self._endpoints: list[int] | None = None

    def register_plugin(self) -> None:
        """`matterbridge -add plugin/` (runs and exits); raises if the plugin was not registered."""
        self._add.start()
        try:
            rc = self._add.proc.wait(120)
        except Exception:
            self._add.kill()
            raise
        log = self._add.log_text()
        if rc != 0 or not re.search(r"Added plugin hubbridge-bench-lights", log):
            raise RuntimeError(f"matterbridge -add {self.plugin} exited {rc} without adding the plugin; "
                               f"log {self._add.log_path}:\n{self._add.tail()}")

    def light_endpoints(self) -> list[int]:
        if self._endpoints is None:
            conn = self._http(self.host, CONTROL_PORT)
            conn.request("GET", "/lights")
            r = conn.getresponse()
            body = json.loads(r.read())
            eps = [x["endpoint"] for x in body]
            if r.status != 200 or len(eps) != self.count or None in eps:
                raise RuntimeError(f"matterbridge: GET /lights -> {r.status}: {body!r:.300}")
            self._endpoints = eps
        return self._endpoints

    def set_local(self, index: int, on: bool) -> None:
        self._request(self.host, CONTROL_PORT, "PUT", f"/lights/{index + 1}", {"on": on}, (204,))


class _RegisteringDevice(Device):
    """A Device that runs `before_first_start` once, untimed, before its first start."""

    def __init__(self, before_first_start, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._before_first_start = before_first_start

    def start(self, timeout: float | None = None) -> Device:
        if self.starts == 0:
            self._before_first_start()
        return super().start(timeout)


def make_peer(name: str, *, workspace: str, hubbridge_bin: str, count: int, sandbox, storage: str,
              nodes: int = 1) -> Peer:
    if name == "hubbridge":
        return HubbridgePeer(binary=hubbridge_bin, count=count, sandbox=sandbox, storage=storage, nodes=nodes)
    if nodes != 1:
        raise ValueError(f"--nodes {nodes}: only hubbridge serves several Matter nodes from one process")
    if name == "matterjs":
        return MatterjsPeer(workspace=workspace, count=count, sandbox=sandbox, storage=storage)
    if name == "matterbridge":
        return MatterbridgePeer(workspace=workspace, count=count, sandbox=sandbox, storage=storage)
    raise ValueError(f"unknown peer {name!r} (want one of {PEERS})")
