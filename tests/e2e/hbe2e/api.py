"""The bridge's local HTTP API as the tests use it (JSON over the veth), with its bearer token.

The token is hubbridge's `<storage>/api-token`. Every hubbridge process the harness starts is registered here
(`register_argv`, called by `Device`), so `Api(host, port)` finds the token of the bridge listening on that port by
itself; pass `token=` to use another one (a read-only token, a wrong one) or `token=""` to send none.
"""

from __future__ import annotations

import json
import os
import ssl
import time
import tomllib
import urllib.error
import urllib.request

# API port -> storage dir of the hubbridge that listens on it (the latest started).
_storage_by_port: dict[int, str] = {}


def _port_of(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


def register_argv(argv: list[str], cwd: str | None) -> None:
    """Notes where a `hubbridge run ...` command keeps its storage and which API port it serves."""
    if len(argv) < 2 or os.path.basename(argv[0]) != "hubbridge" or argv[1] != "run":
        return
    args = argv[2:]

    def flag(name: str) -> str | None:
        return args[args.index(name) + 1] if name in args[:-1] else None

    storage, listen = "./hubbridge-data", "127.0.0.1:8080"  # the built-in demo's
    config = flag("--config")
    if config:
        path = config if os.path.isabs(config) or not cwd else os.path.join(cwd, config)
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        storage = doc.get("bridge", {}).get("storage_dir", "/var/lib/hubbridge")
        listen = doc.get("api", {}).get("listen", listen)
    storage = flag("--storage") or storage
    listen = flag("--api-listen") or listen
    if not os.path.isabs(storage) and cwd:
        storage = os.path.join(cwd, storage)
    _storage_by_port[_port_of(listen)] = storage


def storage_for_port(port: int) -> str | None:
    return _storage_by_port.get(port)


def read_token(storage: str, name: str | None = None) -> str | None:
    """The token hubbridge keeps in `storage` (the admin one, or read-only token `name`), None if not made yet."""
    path = os.path.join(storage, "api-token" if name is None else f"api-token.{name}")
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def token_for_port(port: int) -> str | None:
    storage = storage_for_port(port)
    return read_token(storage) if storage else None


class Api:
    def __init__(self, host: str, port: int = 8080, token: str | None = None, *, scheme: str = "http",
                 ca: str | None = None, host_header: str | None = None):
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.base = f"{scheme}://{netloc}/api"
        self.root = f"{scheme}://{netloc}"
        self.port = port
        self.token = token
        self.host_header = host_header
        self._ssl = ssl.create_default_context(cafile=ca) if scheme == "https" else None

    def headers(self) -> dict:
        h = {"content-type": "application/json"}
        token = self.token if self.token is not None else token_for_port(self.port)
        if token:
            h["authorization"] = f"Bearer {token}"
        if self.host_header:
            h["host"] = self.host_header
        return h

    def raw(self, method: str, url: str, data: bytes | None = None, headers: dict | None = None):
        """One request to an absolute URL; returns (status, headers, body text). Never raises on HTTP errors."""
        req = urllib.request.Request(url, data=data, method=method, headers={**self.headers(), **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=10, context=self._ssl) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def call(self, method: str, path: str, body=None, expect: int | None = None):
        data = None if body is None else json.dumps(body).encode()
        status, _, text = self.raw(method, self.base + path, data)
        if expect is not None:
            assert status == expect, f"{method} {path} -> {status}: {text}"
        return status, (json.loads(text) if text else None)

    def device(self, dev_id: str) -> dict:
        return self.call("GET", f"/devices/{dev_id}", expect=200)[1]

    def set_state(self, dev_id: str, patch: dict) -> dict:
        return self.call("PATCH", f"/devices/{dev_id}/state", patch, expect=200)[1]

    def set_reachable(self, dev_id: str, reachable: bool):
        return self.call("PUT", f"/devices/{dev_id}/reachable", {"reachable": reachable}, expect=200)[1]

    def connectors(self) -> dict:
        return {c["name"]: c for c in self.call("GET", "/connectors", expect=200)[1]["connectors"]}

    def wait_connector(self, name: str, check, timeout: float = 60, what: str = "condition") -> dict:
        """Polls connector `name`'s health until `check(health)` holds; returns that health."""
        deadline = time.monotonic() + timeout
        while True:
            c = self.connectors()[name]
            if check(c):
                return c
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not reached: {c}")
            time.sleep(0.1)
