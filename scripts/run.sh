#!/usr/bin/env bash
# The main job: make the machine ready, build dmp, build the five base images.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-docker.sh
cargo build --release --locked
target/release/dmp images build "$@"
echo "dmp is built at $(pwd)/target/release/dmp"
