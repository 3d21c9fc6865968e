#!/usr/bin/env bash
# Build the static binary (x86_64-unknown-linux-musl): one file that runs on
# any x86_64 Linux, whatever its glibc. Checks that it is static and starts.
#
#   scripts/build-static.sh    # leaves target/x86_64-unknown-linux-musl/release/dmp
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl

rustup target list --installed | grep -qx "$target" || rustup target add "$target"
cargo build --release --locked --target "$target"
bin=target/$target/release/dmp

# A static executable has no program interpreter (no ld-linux).
if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
    echo "build-static: $bin is dynamically linked" >&2
    exit 1
fi
version=$("$bin" --version)
echo "build-static: $bin ($version, static, $(du -h "$bin" | cut -f1))"
