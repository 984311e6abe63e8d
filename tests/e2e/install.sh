#!/usr/bin/env bash
# Installs what the end-to-end tests need. Idempotent; a second run takes about a second.
#
#   - Debian packages: iproute2 (network namespaces), libnl (the CHIP controller's native library links it),
#     glib (ditto), util-linux (unshare/mount), mosquitto (MQTT connector tests), openssl (their
#     per-test PKI, certs/gen-test-pki.sh), python3-venv, strace (fault injection and the "no fsync on the
#     Matter thread" check: test_fault_injection.py, test_disk_full.py), chromium + chromium-driver (the web
#     page's browser tests, test_web_page.py, headless), fuse3 (libfuse3 for the fake disk of
#     test_fake_disk.py, through mfusepy; needs /dev/fuse), dpkg-dev and binutils (cargo-deb's
#     dpkg-shlibdeps and strip), systemd (systemd-analyze), init-system-helpers and passwd (the package's
#     maintainer scripts, run in a throw-away root: test_package.py), prometheus (promtool and a real server
#     scraping the bridge: test_metrics.py).
#   - cargo-deb (pinned) into <repo>/target/tools, built once with `cargo install --locked` (test_package.py).
#   - A Python venv at <repo>/target/e2e-venv with the CHIP controller bindings and pytest,
#     pinned in tests/e2e/requirements.txt (also paho-mqtt, and moto[server] for the AWS IoT data-plane emulator).
#   - The matter.js stand-in device's node modules (bench/matterjs, pinned by package-lock.json),
#     zigbee-herdsman-converters for the Zigbee2MQTT fake (tests/e2e/z2m, pinned by package-lock.json), and the
#     real Matterbridge, the benchmark's third peer (bench/matterbridge, pinned by package-lock.json, laid out
#     like `npm install -g` by its .npmrc; ~20-30 s the first time), with the node_modules/matterbridge link its
#     local plugin (bench/matterbridge/plugin) needs.
#     Skipped with a warning when node is missing or older than 20.19 (set HB_E2E_SKIP_NODE=1 to skip on purpose).
#
# Stamps (hash of the pin files) make warm runs fast; delete target/e2e-venv or bench/matterjs/node_modules
# to force a reinstall.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/target/e2e-venv"
REQ="$HERE/requirements.txt"
MATTERJS="$ROOT/bench/matterjs"

log() { printf '[e2e-install] %s\n' "$*"; }

# One install at a time (two test runs starting together must not rebuild the venv under each other).
mkdir -p "$ROOT/target"
exec 9>"$ROOT/target/.e2e-install.lock"
flock 9

# ---------------------------------------------------------------- Debian packages
APT_PKGS=(iproute2 util-linux libnl-3-200 libnl-route-3-200 libglib2.0-0 mosquitto openssl python3-venv ca-certificates strace chromium chromium-driver fuse3 dpkg-dev binutils systemd init-system-helpers passwd
          prometheus)
missing=()
for p in "${APT_PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        log "missing Debian packages: ${missing[*]} (run this script as root)"; exit 1
    fi
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    # mosquitto's package starts a system broker on :1883; the tests start their own brokers.
    # Likewise prometheus's (:9090): test_metrics.py starts its own server on a free loopback port.
    for svc in mosquitto prometheus; do
        if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
            systemctl disable --now "$svc" >/dev/null 2>&1 || true
        fi
    done
else
    log "Debian packages present"
fi

# ---------------------------------------------------------------- Python venv
PY="${HB_E2E_PYTHON:-python3}"
pyver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
case "$pyver" in
    3.9|3.10|3.11|3.12|3.13) ;;
    *) log "python $pyver is not supported by the pinned set (want 3.11)"; exit 1 ;;
esac
stamp_want="$(cat "$REQ" | sha256sum | cut -d' ' -f1)-py$pyver"
stamp_file="$VENV/.hb-e2e-stamp"
if [[ -x "$VENV/bin/python" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp_want" ]]; then
    log "venv up to date: $VENV"
elif [[ -x "$VENV/bin/python" && -f "$stamp_file" ]] \
    && "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$REQ"; then
    # Pins changed (exact pins, so an in-place install gives the same set as a fresh venv, plus nothing
    # removed): far cheaper than rebuilding the controller's venv.
    log "venv updated in place: $VENV"
    echo "$stamp_want" >"$stamp_file"
else
    log "creating venv $VENV (python $pyver)"
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$REQ"
    "$VENV/bin/python" -c 'import chip.ChipDeviceCtrl, chip.clusters, pytest' \
        || { log "venv import check failed"; exit 1; }
    echo "$stamp_want" >"$stamp_file"
fi

# npm_ci_pinned DIR WHAT: `npm ci` in DIR unless its node_modules was installed from the same lockfile
# (a stamp holding the lockfile's sha256).
npm_ci_pinned() {
    local dir="$1" what="$2" sum stamp
    sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    stamp="$dir/node_modules/.hb-e2e-stamp"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then
        log "$what up to date"
    else
        log "npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        echo "$sum" >"$stamp"
    fi
}

# ---------------------------------------------------------------- matter.js stand-in (optional)
if [[ "${HB_E2E_SKIP_NODE:-0}" == 1 ]]; then
    log "HB_E2E_SKIP_NODE=1: not installing matter.js"
elif ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "WARNING: node/npm not found: the matter.js stand-in device is unavailable (its tests will skip)"
elif ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)'; then
    log "WARNING: node $(node --version) < 20.19: the matter.js stand-in device is unavailable (its tests will skip)"
else
    npm_ci_pinned "$MATTERJS" "matter.js modules"
    # The real Matterbridge (bench/matterbridge, pinned): the benchmark's third peer (bench/hbbench/peers.py).
    MB="$ROOT/bench/matterbridge"
    npm_ci_pinned "$MB" "Matterbridge modules"
    # Without this link Matterbridge runs `npm link matterbridge` in the plugin's directory at every start.
    if [[ ! -L "$MB/plugin/node_modules/matterbridge" ]]; then
        mkdir -p "$MB/plugin/node_modules"
        ln -sfn ../../node_modules/matterbridge "$MB/plugin/node_modules/matterbridge"
    fi
    # zigbee-herdsman-converters for the Zigbee2MQTT fake's device definitions (tests/e2e/z2m, pinned).
    Z2M="$HERE/z2m"
    npm_ci_pinned "$Z2M" "zigbee-herdsman-converters"
    # matter.js as a second controller (tests/e2e/mjs_controller, pinned): pairs by manual code in test_mdns.py.
    npm_ci_pinned "$HERE/mjs_controller" "matter.js controller modules"
fi

# ---------------------------------------------------------------- cargo-deb (test_package.py)
CARGO_DEB_VERSION=3.8.0
TOOLS="$ROOT/target/tools"
if [[ "$("$TOOLS/bin/cargo-deb" --version 2>/dev/null)" == *" $CARGO_DEB_VERSION"* ]]; then
    log "cargo-deb $CARGO_DEB_VERSION present"
else
    log "cargo install cargo-deb $CARGO_DEB_VERSION into $TOOLS (once; a few minutes)"
    cargo install --locked --quiet --root "$TOOLS" --version "$CARGO_DEB_VERSION" cargo-deb
fi

log "done"
