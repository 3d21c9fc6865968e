#!/usr/bin/env bash
# The main job: make this machine ready, build dmp, and bring up the demo app
# (examples/demo) with it; prints the demo's URL.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-docker.sh
cargo build --release --locked
dmp=$(pwd)/target/release/dmp

# The demo runs from a copy in target/demo. dmp runs containers as the
# owner of the app directory (never as root); a checkout made by root would
# leave them only the images' own user (uid 1000), who could not write the
# database and compiled assets into a root-owned directory.
demo=target/demo
mkdir -p "$demo"
# The sources only: not a node_modules, database or build output of the checkout.
tar -C examples/demo --exclude=./node_modules --exclude=./static --exclude=./.env \
    --exclude=./db.sqlite3 --exclude=__pycache__ -cf - . | tar -C "$demo" -xf -
if [ "$(id -u)" -eq 0 ] && [ "$(stat -c %u "$demo")" -eq 0 ]; then
    chown -R 1000:1000 "$demo"
fi
cd "$demo"
"$dmp" init
# The first up builds the images (Node 24 for buildstatic), runs `npm ci`
# there (through the host's CA when one is set) and compiles GOV.UK Frontend.
"$dmp" up "$@" >/dev/null
port=$(sed -n 's/^HTTP_PORT=//p' .env | tail -n 1)
echo "the demo is up; stop it with: (cd $(pwd) && $dmp down)" >&2
echo "http://127.0.0.1:${port:-8080}/"
