#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests and the integration tests
# against a real Docker Engine (made ready by ensure-docker.sh first, so this
# works on a fresh Debian machine as root with only Rust installed).
#
# The tests run twice: on the machine's Engine (Debian's 20.10: what Debian
# users get), then on Engine 26 (Debian trixie's: close to Docker Desktop).
# - With CI=true (a throwaway machine) the second pass swaps the Engines on
#   the default socket (scripts/swap-engine.sh) and swaps back at the end,
#   also on failure.
# - Otherwise the machine's Engine is never stopped: the second pass runs
#   against a private Engine 26 in a network namespace of its own
#   (scripts/private-engine.sh, outbound network through slirp4netns for the
#   image builds), or is skipped, saying why, when that cannot run here.
#   DMP_ENGINE26=skip skips it.
# Around each pass it checks that the pass left the Engine's dockerd and every
# container no test made as they were. The closing line adds up both passes.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-docker.sh

# `dmp config` is compared with Compose v2 (compose-go), fetched from Debian
# trixie into a private directory.
DMP_COMPOSE_V2="$(scripts/ensure-trixie-tools.sh)/bin/docker-compose"
export DMP_COMPOSE_V2

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
echo "== static binary (musl)"
scripts/build-static.sh
echo "== cargo test --no-run"
cargo test --locked --no-run -q

log=$(mktemp)
engine26=""  # the private Engine 26's directory, removed on exit
swapped=""   # set while Engine 26 runs in place of 20.10
finish() {
    rm -f "$log"
    [ -z "$engine26" ] || scripts/private-engine.sh stop "$engine26" || true
    [ -z "$swapped" ] || scripts/swap-engine.sh back || true
}
trap finish EXIT
status=0
passes=0

# The dockerd processes, and every container no test made with when it last
# started: what a pass must leave as it found it.
untouched() {
    pgrep -x dockerd | sort | tr '\n' ' '
    echo
    docker ps -aq --no-trunc | xargs -r docker inspect --format \
        '{{.Id}} {{.State.StartedAt}}|{{index .Config.Labels "dev.dmp.test.pid"}}|{{index .Config.Labels "dev.dmp.project"}}' \
        2>/dev/null | awk -F'|' '$2 == "" && $3 !~ /^dmp-test-/ { print $1 }' | sort || true
}

# One pass of `cargo test $tests` on the Engine named $1 ("${@:2}" runs it,
# e.g. inside a namespace).
tests=""
pass() {
    local name=$1 before after
    shift
    passes=$((passes + 1))
    echo "== cargo test $tests on $name"
    before=$(untouched)
    # shellcheck disable=SC2086 # $tests is a list of arguments
    "$@" cargo test --locked $tests 2>&1 | tee -a "$log" || status=1
    after=$(untouched)
    if [ "$before" != "$after" ]; then
        echo "test.sh: the tests on $name disturbed the Engine's dockerd or containers that are not the tests':" >&2
        diff <(echo "$before") <(echo "$after") >&2 || true
        status=1
    fi
}

pass "$(docker version --format 'Engine {{.Server.Version}}')"

# The second pass: the Engine tests only (unit tests need no Engine).
tests="--test it --test engine_restart"
trixie=$(scripts/ensure-trixie-tools.sh)
if [ "${CI:-}" = true ]; then
    swapped=1
    scripts/swap-engine.sh 26
    PATH="$trixie/engine-bin:$PATH" pass "$(docker version --format 'Engine {{.Server.Version}}') (swapped in)"
    swapped=""
    scripts/swap-engine.sh back
elif [ "${DMP_ENGINE26:-}" = skip ]; then
    echo "== SKIPPED the Engine 26 pass (DMP_ENGINE26=skip)"
elif [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! command -v nsenter >/dev/null; then
    echo "== SKIPPED the Engine 26 pass: a private Engine needs root, ip and nsenter (CI=true swaps the Engines instead)"
else
    if ! command -v slirp4netns >/dev/null; then
        apt-cache show slirp4netns >/dev/null 2>&1 || apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slirp4netns
    fi
    engine26=$(mktemp -d /tmp/dmp-t26.XXXXXX)
    rmdir "$engine26"
    # Its data root is kept, so the images built there are cached next time.
    DMP_ENGINE_BIN="$trixie/engine-bin" DMP_ENGINE_NET=slirp DMP_ENGINE_DATA=/var/lib/dmp-private-engine26 \
        scripts/private-engine.sh start "$engine26" >/dev/null
    scripts/private-engine.sh load "$engine26" debian:bookworm-slim
    version=$(scripts/private-engine.sh exec "$engine26" docker version --format '{{.Server.Version}}')
    pass "a private Engine $version" scripts/private-engine.sh exec "$engine26" env PATH="$trixie/engine-bin:$PATH"
fi

# One closing line with the totals of every test binary of every pass.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed (%d passes)\n", passed, failed, passes }' passes="$passes" "$log"
exit "$status"
