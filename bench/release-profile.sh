#!/usr/bin/env bash
# Release-profile candidates for the appliance build: builds hubbridge with each, records the stripped size,
# and runs the Matter bench (hubbridge only, same settings for every candidate, back to back) on each.
# Writes target/release-profile/results.jsonl (one line per candidate); bench/release-profile.md is written
# from it by hand with the conclusions.
#
#   sudo -E bench/release-profile.sh                      # every candidate
#   sudo -E bench/release-profile.sh base fat-cu1         # some
#   COUNTS=100 REPS=1 ITER=100 sudo -E bench/release-profile.sh ...
#   PHASE=build bench/release-profile.sh ...            # only build (e.g. while the machine is busy) ...
#   PHASE=bench sudo -E bench/release-profile.sh ...    # ... and bench the built candidates back to back later
#
# A candidate is a full set of CARGO_PROFILE_RELEASE_* overrides; `base` is [profile.release] as it was before
# the appliance settings (opt-level 3, lto = false i.e. thin-local, codegen-units 16, panic unwind,
# debug = line-tables-only). Each candidate builds in its own target dir (target/release-profile/<name>), so a
# re-run only re-benches; sizes are of `strip`ped copies. The machine is shared: latency figures are noisy; compare them against each other.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/target/release-profile"  # absolute: the bench starts the binary from its own run dirs
mkdir -p "$out"
COUNTS="${COUNTS:-100}"; REPS="${REPS:-1}"; ITER="${ITER:-100}"; PHASE="${PHASE:-all}"

# Every key explicit, so a candidate means the same whatever [profile.release] says today.
candidate_env() {
    local opt=3 lto=false cgu=16 panic=unwind
    case "$1" in
        base)          ;;
        thin)          lto=thin ;;
        fat-cu1)       lto=fat cgu=1 ;;
        fat-cu1-s)     lto=fat cgu=1 opt=s ;;
        fat-cu1-z)     lto=fat cgu=1 opt=z ;;
        fat-cu1-abort) lto=fat cgu=1 panic=abort ;;
        fat-cu1-deps-s) lto=fat cgu=1 ;;  # and candidate_args
        *) echo "unknown candidate $1" >&2; return 1 ;;
    esac
    echo "CARGO_PROFILE_RELEASE_OPT_LEVEL=$opt CARGO_PROFILE_RELEASE_LTO=$lto" \
         "CARGO_PROFILE_RELEASE_CODEGEN_UNITS=$cgu CARGO_PROFILE_RELEASE_PANIC=$panic" \
         "CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=none"
}

# Crates on the Matter path (the Interaction Model, its crypto, the runtime and the bridge's own crates,
# which `package."*"` does not cover): fat-cu1-deps-s keeps them at opt-level 3 and builds every other
# dependency (the AWS SDK and its HTTP stack, axum, clap, tracing, serde, redb, rumqttc, mdns-sd...) for size.
HOT_CRATES=(rs-matter aes ccm cipher ctr sha2 hmac hkdf pbkdf2 p256 primeorder elliptic-curve crypto-bigint
            ecdsa digest block-buffer embassy-sync embassy-time embassy-futures heapless tokio)
candidate_args() {
    case "$1" in
        fat-cu1-deps-s)
            printf '%s\n' --config 'profile.release.package."*".opt-level="s"'
            for c in "${HOT_CRATES[@]}"; do printf '%s\n' --config "profile.release.package.$c.opt-level=3"; done ;;
    esac
}

names=("$@")
[[ ${#names[@]} -eq 0 ]] && names=(base thin fat-cu1 fat-cu1-s fat-cu1-z fat-cu1-abort)
for name in "${names[@]}"; do
    envs="$(candidate_env "$name")"
    dir="$out/$name"
    mkdir -p "$dir"
    bin="$dir/release/hubbridge"
    echo "== $name: $envs"
    if [[ $PHASE != bench ]]; then
    start=$(date +%s)
    # shellcheck disable=SC2086
    mapfile -t args < <(candidate_args "$name")
    env $envs cargo build --release --locked -p hubbridge --bin hubbridge --target-dir "$dir" "${args[@]}" \
        >"$dir.build.log" 2>&1 \
        || { echo "build failed: $dir.build.log"; exit 1; }
    build_s=$(( $(date +%s) - start ))
    mkdir -p "$dir/stripped"  # named hubbridge: the harness finds the API token of a binary by that name
    cp "$bin" "$dir/stripped/hubbridge"
    strip "$dir/stripped/hubbridge"
    unstripped=$(stat -c %s "$bin"); stripped=$(stat -c %s "$dir/stripped/hubbridge")
    echo "   built in ${build_s}s (incremental if re-run): ${unstripped} bytes, stripped ${stripped}"
    echo "$build_s" >"$dir.build-seconds"
    fi
    [[ $PHASE == build ]] && continue
    build_s=$(cat "$dir.build-seconds")
    unstripped=$(stat -c %s "$bin"); stripped=$(stat -c %s "$dir/stripped/hubbridge")
    rm -rf "$dir/bench"
    PYTHONPATH=bench PYTHONDONTWRITEBYTECODE=1 target/e2e-venv/bin/python -m hbbench --peers hubbridge --no-cloud \
        --counts "$COUNTS" --reps "$REPS" --iterations "$ITER" --hubbridge-bin "$dir/stripped/hubbridge" \
        --out "$dir/bench" --label "release-profile $name" --source-note "candidate $name" --max-minutes 20 \
        >"$dir.bench.log" 2>&1 || { echo "bench failed: $dir.bench.log"; exit 1; }
    python3 - "$name" "$envs" "$build_s" "$unstripped" "$stripped" "$dir/bench/report.json" "$COUNTS" >>"$out/results.jsonl" <<'PY'
import json, sys
name, envs, build_s, unstripped, stripped, report, counts = sys.argv[1:]
r = json.load(open(report))
row = dict(name=name, env=envs, build_s=int(build_s), unstripped=int(unstripped), stripped=int(stripped))
for n in counts.split(","):
    a = r["aggregate"]["hubbridge"][n]
    for fig in ("invoke_s", "report_s", "commission_s", "structure_read_s", "wildcard_read_s"):
        if fig in a:
            row[f"{fig}_p50_ms_n{n}"] = round(a[fig]["p50"]["median"], 3)  # the aggregate is in ms already
            row[f"{fig}_p99_ms_n{n}"] = round(a[fig]["p99"]["median"], 3)
    for fig in ("invoke_peer_cpu_ms", "report_peer_cpu_ms", "rss_idle_mb", "cpu_s"):
        if fig in a:
            v = a[fig]
            row[f"{fig}_n{n}"] = v["value"]["median"] if "value" in v else v.get("p50", {}).get("median")
print(json.dumps(row))
PY
    tail -1 "$out/results.jsonl"
done
