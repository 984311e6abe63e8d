#!/usr/bin/env bash
# The one entry point of the end-to-end tests (CI calls this, as root):
#   tests/e2e/run.sh [pytest args...]      e.g.  tests/e2e/run.sh -k reconnect -x
#
# 1. installs what the tests need (install.sh; ~1 s when already installed),
# 2. runs pytest from the venv. pytest itself creates the network namespaces hb-<pid>-dev / hb-<pid>-ctl, moves
#    into -ctl with private /data and /tmp, and starts device processes in -dev (see README.md),
# 3. always cleans up: namespaces left by a pytest that died are removed afterwards,
# 4. exits with pytest's status, except that "no tests ran" (5) is a failure (1).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/target/e2e-venv"

if [[ $(id -u) -ne 0 ]]; then
    echo "tests/e2e/run.sh: needs root (network namespaces, mount namespaces)" >&2
    exit 1
fi

bash "$HERE/install.sh" || { echo "tests/e2e/run.sh: install failed" >&2; exit 1; }

sweep() { (cd "$HERE" && "$VENV/bin/python" -m hbe2e.netns sweep) || true; }

cd "$HERE"
export PYTHONDONTWRITEBYTECODE=1
# pytest runs in the background so that this script can forward a SIGTERM/SIGINT to it and still clean up.
"$VENV/bin/python" -m pytest -c "$HERE/pytest.ini" --rootdir "$HERE" "$@" &
PYTEST_PID=$!
forward() { kill -TERM "$PYTEST_PID" 2>/dev/null; }
trap forward TERM INT HUP
while true; do
    wait "$PYTEST_PID"
    rc=$?
    # wait returns >128 when interrupted by a trapped signal while pytest still runs: keep waiting.
    if kill -0 "$PYTEST_PID" 2>/dev/null; then continue; fi
    break
done
trap - TERM INT HUP
sweep

if [[ $rc -eq 5 ]]; then
    echo "tests/e2e/run.sh: pytest collected no tests: failing" >&2
    exit 1
fi
exit "$rc"
