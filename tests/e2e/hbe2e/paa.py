"""Finds the test PAA (Product Attestation Authority) certificates the controller must trust.

rs-matter 0.4.1 ships the CHIP test PAAs as DER files in `src/attest/test_paa/`
(Chip-Test-PAA-FFF1-Cert.der, Chip-Test-PAA-NoVID-Cert.der). The CHIP controller's file trust store
(`paaTrustStorePath`) loads every `*.der` of one directory, which is exactly that format. The same two PAAs
root matter.js's test device certificates (NoVID PAA), so one directory serves the stand-in and hubbridge.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess

RS_MATTER_VERSION = "0.4.1"
_REL = os.path.join("src", "attest", "test_paa")


def _from_cargo_metadata(workspace: str) -> str | None:
    # --offline --locked: never download, never rewrite Cargo.lock; fails (-> glob) if a crate is not fetched yet.
    try:
        r = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--offline", "--locked"],
            cwd=workspace, capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    try:
        meta = json.loads(r.stdout)
    except ValueError:
        return None
    for pkg in meta.get("packages", []):
        if pkg.get("name") == "rs-matter":
            d = os.path.join(os.path.dirname(pkg["manifest_path"]), _REL)
            if os.path.isdir(d):
                return d
    return None


def _from_glob() -> str | None:
    home = os.environ.get("CARGO_HOME") or os.path.expanduser("~/.cargo")
    hits = sorted(glob.glob(os.path.join(home, "registry", "src", "*", f"rs-matter-{RS_MATTER_VERSION}", _REL)))
    hits += sorted(glob.glob(os.path.join(home, "registry", "src", "*", "rs-matter-*", _REL)), reverse=True)
    for d in hits:
        if glob.glob(os.path.join(d, "*.der")):
            return d
    return None


def find_paa_source(workspace: str) -> str:
    """Directory with rs-matter's test PAA DER files. Env HB_E2E_PAA_DIR overrides."""
    if os.environ.get("HB_E2E_PAA_DIR"):
        return os.environ["HB_E2E_PAA_DIR"]
    d = _from_cargo_metadata(workspace) or _from_glob()
    if not d:
        raise FileNotFoundError(
            "rs-matter test PAA certificates not found (looked for "
            f"~/.cargo/registry/src/*/rs-matter-{RS_MATTER_VERSION}/{_REL} and in `cargo metadata`); "
            "run `cargo fetch` in the workspace or set HB_E2E_PAA_DIR")
    return d


def prepare_paa_dir(workspace: str, dest: str) -> str:
    """Copy the PAA DER files into `dest` (a directory owned by this run) and return it."""
    src = find_paa_source(workspace)
    os.makedirs(dest, exist_ok=True)
    n = 0
    for f in sorted(glob.glob(os.path.join(src, "*.der"))):
        shutil.copy2(f, dest)
        n += 1
    if n == 0:
        raise FileNotFoundError(f"no *.der in {src}")
    return dest
