#!/usr/bin/env bash
# RSS per composed device: starts the bridge (release build, no controller) with 0 and with N
# multi-sensors (temperature_sensor with humidity_sensor, pressure_sensor, battery: the device's endpoint
# and two child endpoints), and with N plain temperature sensors for comparison; reads VmRSS
# once it is ready and writes bench/composed-rss.md. Runs each bridge in a fresh network namespace
# that has only loopback (`unshare -rn`), so its mDNS never leaves the process's own namespace.
#   bench/composed-rss.sh [N]     (default 500)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-500}"
# HUBBRIDGE_BIN=path: measure that binary (e.g. a bench/release-profile.sh candidate) instead of building one.
if [[ -n "${HUBBRIDGE_BIN:-}" ]]; then
  BIN="$HUBBRIDGE_BIN"
else
  cargo build -q --release -p hubbridge --manifest-path "$ROOT/Cargo.toml"
  BIN="$ROOT/target/release/hubbridge"
fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# config <file> <count> <kind> <with>
config() {
  { echo '[bridge]'; echo 'name = "rss bench"'; echo '[virtual]'; echo 'drift = false'
    for i in $(seq 1 "$2"); do
      echo '[[devices]]'; echo "id = \"d$i\""; echo "kind = \"$3\""; echo "name = \"Device $i\""
      if [[ -n "$4" ]]; then echo "with = $4"; fi
    done; } >"$1"
}

# rss_kb <config>: VmRSS of a bridge serving it, once ready and settled.
rss_kb() {
  local dir="$tmp/run-$RANDOM"; mkdir -p "$dir"
  unshare -rn bash -c '
    ip link set lo up
    "$0" run --config "$1" --storage "$2/state" --interface lo --api-listen 127.0.0.1:18080 >"$2/log" 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do grep -q "hubbridge ready" "$2/log" && break; sleep 0.1; done
    grep -q "hubbridge ready" "$2/log" || { cat "$2/log" >&2; kill $pid; exit 1; }
    sleep 2
    awk "/^VmRSS:/ {print \$2}" /proc/$pid/status
    kill $pid; wait $pid 2>/dev/null || true' "$BIN" "$1" "$dir"
}

config "$tmp/zero.toml" 0 temperature_sensor ""
config "$tmp/composed.toml" "$N" temperature_sensor '["humidity_sensor", "pressure_sensor", "battery"]'
config "$tmp/plain.toml" "$N" temperature_sensor ""
zero=$(rss_kb "$tmp/zero.toml"); composed=$(rss_kb "$tmp/composed.toml"); plain=$(rss_kb "$tmp/plain.toml")
per() { python3 -c "print(f'{($1 - $zero) * 1024 / $N / 1024:.2f}')"; }
cat >"$ROOT/bench/composed-rss.md" <<MD
# RSS per composed device

\`bench/composed-rss.sh $N\` ($(date -u +%Y-%m-%d), $("$BIN" --version), release build, no controller connected):
VmRSS of the bridge once ready, with no device, with $N multi-sensors (\`temperature_sensor\` with
\`humidity_sensor\`, \`pressure_sensor\`, \`battery\`: temperature, Power Source and Bridged Device Basic
Information on the device's endpoint, humidity and pressure each on a child endpoint of its own — three
endpoints per device) and with $N plain temperature sensors.

| devices | VmRSS (KiB) | per device (KiB) |
|---|---|---|
| none | $zero | |
| $N multi-sensors with battery | $composed | $(per "$composed") |
| $N temperature sensors | $plain | $(per "$plain") |

Aim (issue 9): under 8 KiB per composed device.
MD
cat "$ROOT/bench/composed-rss.md"
