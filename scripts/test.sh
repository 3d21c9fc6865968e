#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests and the integration tests
# against a real Docker Engine (made ready by ensure-docker.sh first, so this
# works on a fresh Debian machine as root with only Rust installed).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-docker.sh

# `dmp config` is compared with Compose v2 (compose-go), fetched from Debian
# trixie into a private directory.
DMP_COMPOSE_V2="$(scripts/ensure-trixie-tools.sh)/bin/docker-compose"
export DMP_COMPOSE_V2

# Engine tests must run here, never skip.
export DMP_REQUIRE_DOCKER=1

for component in rustfmt clippy; do
    cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$component"
done

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "== static binary (musl)"
scripts/build-static.sh
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked 2>&1 | tee "$log" || status=$?
# One closing line with the totals of every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
