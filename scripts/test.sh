#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests and the integration tests
# against a real Docker Engine (made ready by ensure-docker.sh first, so this
# works on a fresh Debian machine as root with only Rust installed).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-docker.sh

# `dmp config` is checked against Debian's docker-compose (Compose v1).
if ! command -v docker-compose >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "test.sh: install docker-compose (sudo apt-get install docker-compose)" >&2; exit 1; }
    apt-cache show docker-compose >/dev/null 2>&1 || apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose
fi

# The GOV.UK demo's screenshot test (tests/it/frontend.rs) needs Debian's headless Chromium.
command -v chromium >/dev/null || { apt-cache show chromium >/dev/null 2>&1 || apt-get update -q; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

# Engine tests must run here, never skip.
export DMP_REQUIRE_DOCKER=1

for component in rustfmt clippy; do
    cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$component"
done

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked 2>&1 | tee "$log" || status=$?
# One closing line with the totals of every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
