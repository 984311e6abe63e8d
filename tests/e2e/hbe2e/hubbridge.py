"""Config text for hubbridge under test, following bridge/hubbridge.example.toml (the source of truth: if a key
here is renamed there, hubbridge rejects this config loudly, since unknown keys are errors).

    cfg = config_toml(storage_dir=os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if,
                      devices=[dict(id="l1", kind="on_off_light", name="Light 1")])
    dev = hubbridge(cfg)          # the conftest fixture
"""

from __future__ import annotations

from typing import Any, Iterable


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot render {v!r} as TOML")


def config_toml(storage_dir: str, *, interface: str, port: int = 5540, name: str = "hubbridge-e2e",
                test_passcode: bool = True, api_listen: str = "127.0.0.1:8080",
                devices: Iterable[dict] = (), bridge_extra: dict | None = None, api_extra: dict | None = None,
                extra: str = "") -> str:
    """A complete hubbridge config. `devices` are [[devices]] tables (id, kind, name, room?, state?);
    `bridge_extra` adds keys to [bridge], `api_extra` to [api]; `extra` is appended verbatim (e.g. connector
    sections)."""
    bridge = dict(name=name, port=port, interfaces=[interface], storage_dir=storage_dir, test_passcode=test_passcode)
    bridge.update(bridge_extra or {})
    out = ["[bridge]"] + [f"{k} = {_toml_value(v)}" for k, v in bridge.items()]
    out += ["", "[api]", f"listen = {_toml_value(api_listen)}"]
    out += [f"{k} = {_toml_value(v)}" for k, v in (api_extra or {}).items()]
    for d in devices:
        out += ["", "[[devices]]"] + [f"{k} = {_toml_value(v)}" for k, v in d.items()]
    if extra:
        out += ["", extra]
    return "\n".join(out) + "\n"
