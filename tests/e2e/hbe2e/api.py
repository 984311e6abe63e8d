"""The bridge's local HTTP API as the tests use it (JSON over the veth)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request


class Api:
    def __init__(self, host: str, port: int = 8080):
        self.base = f"http://[{host}]:{port}/api" if ":" in host else f"http://{host}:{port}/api"

    def call(self, method: str, path: str, body=None, expect: int | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
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
