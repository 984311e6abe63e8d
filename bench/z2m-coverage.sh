#!/usr/bin/env bash
# Zigbee2MQTT mapping coverage: dumps every zigbee-herdsman-converters definition with static exposes
# (tests/e2e/z2m/dump.js, the pinned package) and runs the bridge's own mapping over them
# (`hubbridge z2m-coverage`), then replaces the "Zigbee2MQTT mapping coverage" section of bench/report.md.
#   bench/z2m-coverage.sh            (after tests/e2e/install.sh has installed tests/e2e/z2m/node_modules)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
Z2M="$ROOT/tests/e2e/z2m"
[[ -d "$Z2M/node_modules" ]] || (cd "$Z2M" && npm ci --no-audit --no-fund --loglevel=error)
cargo build -q -p hubbridge --manifest-path "$ROOT/Cargo.toml"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
(cd "$Z2M" && node dump.js all) >"$tmp/dump.json" 2>"$tmp/dump.err"
"$ROOT/target/debug/hubbridge" z2m-coverage "$tmp/dump.json" >"$tmp/coverage.json"
version="$(node -p "require('$Z2M/node_modules/zigbee-herdsman-converters/package.json').version")"
python3 - "$tmp/coverage.json" "$tmp/dump.err" "$version" "$ROOT/bench/report.md" <<'PY'
import json, re, sys
cov, err, version, report = json.load(open(sys.argv[1])), open(sys.argv[2]).read().strip(), sys.argv[3], sys.argv[4]
pct = lambda a, b: f"{100 * a / b:.1f} %" if b else "n/a"
lines = ["## Zigbee2MQTT mapping coverage", "",
         f"`bench/z2m-coverage.sh`: zigbee-herdsman-converters {version} ({err}); the bridge's mapping "
         "(`bridge/src/sources/zigbee2mqtt/mapping.rs`) over each definition's exposes as Zigbee2MQTT serialises "
         "them. linkquality, update, identify and effect do not count; action and battery do.", "",
         "| figure | value |", "|---|---|",
         f"| definitions with >= 1 mapped function | {cov['definitions_mapped']} / {cov['definitions']} "
         f"({pct(cov['definitions_mapped'], cov['definitions'])}) |",
         f"| exposes mapped | {cov['exposes_mapped']} / {cov['exposes']} ({pct(cov['exposes_mapped'], cov['exposes'])}) |",
         "", "Most frequent unmapped exposes (definitions where each is left unmapped):", "",
         "| expose | definitions |", "|---|---|"]
lines += [f"| `{name}` | {n} |" for name, n in cov["top_unmapped"]]
lines += ["", "What the definitions with no mapped function expose (definitions not bridged that have each):", "",
          "| expose | definitions |", "|---|---|"]
lines += [f"| `{name}` | {n} |" for name, n in cov.get("top_in_unmapped_definitions", [])]
lines += ["", "Left unmapped on purpose (no Matter cluster holds them truthfully, or none is served yet; README "
          "\"Zigbee2MQTT source\" has the list): `power_on_behavior` (On/Off StartUpOnOff is a bridge setting today, "
          "not sent to the device), `effect_*`, `tamper`, `gas`, `vibration`, `sos` (no Matter cluster), "
          "`device_temperature` (the device's own, not the room's), a battery device's `voltage` (Power Source "
          "BatVoltage is not served yet), `child_lock` and other configuration, a meter without a switch "
          "(Electrical Sensor has no stand-alone kind yet), a second expose of a field already bound "
          "(`switch_l2` until endpoint parts land)."]
section = "\n".join(lines) + "\n"
text = open(report).read()
pattern = re.compile(r"## Zigbee2MQTT mapping coverage\n.*?(?=\n## |\Z)", re.S)
text = pattern.sub(section.rstrip("\n"), text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
open(report, "w").write(text)
print(section)
PY
