"""The two peers under test, started the same way: N virtual On/Off lights behind an aggregator.

- `hubbridge`: `hubbridge run --config FILE` with a generated config of N `on_off_light` devices (virtual source,
  drift off); local changes through its HTTP API (`PATCH /api/devices/{id}/state`).
- `matterjs`: `node bench/matterjs/bridge.mjs --count N`; local changes through its `--control-port` hook
  (`PUT /lights/<i>`).

Both are `hbe2e.device.Device`s in the sandbox's dev namespace; the local-change requests go over the veth from
the controller's namespace on one kept-alive HTTP connection.
"""

from __future__ import annotations

import http.client
import json
import os

from hbe2e.device import Device
from hbe2e.api import token_for_port
from hbe2e.hubbridge import config_toml
from hbe2e.standin import standin_device

PEERS = ("hubbridge", "matterjs")
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
    def __init__(self, *, binary: str, count: int, sandbox, storage: str, log_level: str = "warn", extra: str = ""):
        """`extra`: more config, appended verbatim (the cloud step's connector)."""
        self.name = "hubbridge"
        self.count = count
        self.host = sandbox.pair.dev_addr6
        self.ids = [f"light-{i:03d}" for i in range(1, count + 1)]
        devices = [dict(id=i, kind="on_off_light", name=f"Light {n}") for n, i in enumerate(self.ids, 1)]
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


def make_peer(name: str, *, workspace: str, hubbridge_bin: str, count: int, sandbox, storage: str) -> Peer:
    if name == "hubbridge":
        return HubbridgePeer(binary=hubbridge_bin, count=count, sandbox=sandbox, storage=storage)
    if name == "matterjs":
        return MatterjsPeer(workspace=workspace, count=count, sandbox=sandbox, storage=storage)
    raise ValueError(f"unknown peer {name!r} (want one of {PEERS})")
