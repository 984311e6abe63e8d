#!/usr/bin/env bash
# The one test command: installs what the tests need (Debian packages, the Matter controller in a
# venv), builds the workspace once, runs the Rust tests, then the end-to-end tests against real
# peers inside network namespaces it creates and removes.
#
#   ./tests/run.sh            everything
#   ./tests/run.sh --rust     only the Rust unit and integration tests
#   ./tests/run.sh --e2e ...  only the end-to-end tests (extra args go to pytest)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=all
if [ "${1:-}" = "--rust" ]; then mode=rust; shift; fi
if [ "${1:-}" = "--e2e" ]; then mode=e2e; shift; fi

# Deterministic, quiet-by-default Rust runs; never RUST_BACKTRACE=1 (it makes every rs-matter
# error capture a backtrace).
unset RUST_BACKTRACE
export CARGO_TERM_COLOR=never

start=$(date +%s)
if [ "$mode" != e2e ]; then
  # The Rust integration tests talk to the same real peers (mosquitto, moto_server): install them first.
  if [ "$(id -u)" = 0 ]; then bash tests/e2e/install.sh; fi
  echo "== building the workspace (one build serves the Rust tests and the e2e tests)"
  cargo build --workspace --all-targets --locked
  echo "== Rust tests"
  cargo test --workspace --locked
fi
if [ "$mode" != rust ]; then
  [ "$mode" = e2e ] && cargo build -p hubbridge --locked
  echo "== end-to-end tests"
  ./tests/e2e/run.sh "$@"
fi
echo "== all tests done in $(( $(date +%s) - start ))s"
