#!/usr/bin/env bash
# Build the static binary (x86_64-unknown-linux-musl): one file that runs on
# any x86_64 Linux, whatever its glibc. Checks that it is static and starts.
#
#   scripts/build-static.sh    # leaves target/x86_64-unknown-linux-musl/release/dmp
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl

rustup target list --installed | grep -qx "$target" || rustup target add "$target"
# C code in the dependency tree (ring, for TLS to remote Engines) is compiled
# for musl with Debian's musl-gcc wrapper.
if ! command -v musl-gcc >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "build-static: install musl-tools (sudo apt-get install musl-tools)" >&2; exit 1; }
    apt-cache show musl-tools >/dev/null 2>&1 || apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends musl-tools
fi
export CC_x86_64_unknown_linux_musl=musl-gcc
cargo build --release --locked --target "$target"
bin=target/$target/release/dmp

# A static executable has no program interpreter (no ld-linux).
if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
    echo "build-static: $bin is dynamically linked" >&2
    exit 1
fi
version=$("$bin" --version)
echo "build-static: $bin ($version, static, $(du -h "$bin" | cut -f1))"
