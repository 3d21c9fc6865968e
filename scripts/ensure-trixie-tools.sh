#!/usr/bin/env bash
# Fetch Compose v2 (docker-compose 2.26) and Docker Engine 26 (docker.io,
# containerd) from Debian trixie into a private directory, without touching
# the machine's apt sources or installed packages. Idempotent: once fetched,
# a run changes nothing and takes a few milliseconds.
#
#   scripts/ensure-trixie-tools.sh          # fetch if missing; prints the directory
#
# Layout of the directory (default /opt/dmp-trixie, or $DMP_TRIXIE_DIR):
#   root/usr/libexec/docker/cli-plugins/docker-compose   Compose v2
#   root/usr/sbin/dockerd, root/usr/bin/containerd, …     Engine 26
#   bin/docker-compose                                    a link to Compose v2
#   engine-bin/                                           Engine 26's binaries
#                                                         without trixie's runc
#                                                         (it needs glibc 2.38;
#                                                         bookworm's runc works)
set -euo pipefail

dir=${DMP_TRIXIE_DIR:-/opt/dmp-trixie}
say() { printf 'ensure-trixie-tools: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

if [ -x "$dir/bin/docker-compose" ] && [ -x "$dir/engine-bin/dockerd" ]; then
    echo "$dir"
    exit 0
fi

command -v apt-get >/dev/null || die "this needs Debian's apt-get"
mirror=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -m1 -E 'debian/?( |$)' | grep -oE 'https?://[^ ]+' || true)
mirror=${mirror:-http://deb.debian.org/debian}

state=$(mktemp -d /tmp/dmp-trixie-apt.XXXXXX)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
touch "$state/status"
cat >"$state/trixie.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_private=(
    -o "Dir::Etc::sourcelist=$state/trixie.sources" -o Dir::Etc::sourceparts=-
    -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
    -o "Dir::State::status=$state/status" -o APT::Get::List-Cleanup=0
)
say "fetching Compose v2 and Engine 26 from Debian trixie ($mirror) into $dir"
apt-get "${apt_private[@]}" update -q >"$state/update.log" 2>&1 \
    || { cat "$state/update.log" >&2; die "apt-get update for trixie failed"; }
(cd "$state/debs" && apt-get "${apt_private[@]}" download docker-compose docker.io containerd >"$state/download.log" 2>&1) \
    || { cat "$state/download.log" >&2; die "apt-get download failed"; }

tmp="$dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/root" "$tmp/bin" "$tmp/engine-bin"
for deb in "$state"/debs/*.deb; do
    dpkg-deb -x "$deb" "$tmp/root"
done
ln -s ../root/usr/libexec/docker/cli-plugins/docker-compose "$tmp/bin/docker-compose"
for f in "$tmp"/root/usr/sbin/* "$tmp"/root/usr/bin/*; do
    name=$(basename "$f")
    case "$name" in runc) continue ;; esac
    ln -s "../root/${f#"$tmp/root/"}" "$tmp/engine-bin/$name"
done
"$tmp/bin/docker-compose" version >/dev/null || die "the fetched docker-compose does not run here"
rm -rf "$dir"
mv "$tmp" "$dir"
say "ready: $("$dir/bin/docker-compose" version --short 2>/dev/null || true) and dockerd $("$dir/engine-bin/dockerd" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)"
echo "$dir"
