#!/usr/bin/env bash
# The main job: make this machine ready, build dmp, and bring up the demo app
# (examples/demo) with it; prints the demo's URL.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-docker.sh
cargo build --release --locked
dmp=$(pwd)/target/release/dmp

# The demo runs in place. dmp runs containers as the owner of the app
# directory; in a checkout made by root, as root without any capability,
# so they can write the database and compiled assets (all gitignored) there.
cd examples/demo
"$dmp" init
# The first up builds the images (Node 24 for buildstatic), runs `npm ci`
# there (through the host's CA when one is set) and compiles GOV.UK Frontend.
"$dmp" up "$@" >/dev/null
port=$(sed -n 's/^HTTP_PORT=//p' .env | tail -n 1)
echo "the demo is up; stop it with: (cd $(pwd) && $dmp down)" >&2
echo "http://127.0.0.1:${port:-8080}/"
