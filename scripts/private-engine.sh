#!/usr/bin/env bash
# A private Docker Engine in a network namespace of its own, next to the
# machine's Engine and never touching it: its own socket, --data-root,
# --exec-root, --pidfile, containerd (state under its exec root, its own
# namespaces) and its own iptables (those of its network namespace). Needs
# root, `ip` and `nsenter`. Used by tests/engine_restart.rs, by scripts/test.sh
# (the second pass on Engine 26) and by scripts/bench.sh.
#
#   private-engine.sh start DIR            # DIR must not exist; prints DOCKER_HOST
#   private-engine.sh load DIR IMAGE...    # docker save (from $DOCKER_HOST) | load into DIR's Engine
#   private-engine.sh exec DIR CMD...      # CMD inside the namespace, DOCKER_HOST set to DIR's Engine
#   private-engine.sh restart DIR          # stop and start DIR's dockerd (containers come back Exited)
#   private-engine.sh stop DIR             # stop everything, delete the namespace, remove DIR
#
# Settings for `start`:
#   DMP_ENGINE_BIN=DIR   where dockerd, containerd, docker-proxy are (default:
#                        those on PATH); e.g. /opt/dmp-trixie/engine-bin for
#                        Engine 26 (bookworm's runc from /usr/sbin is used).
#   DMP_ENGINE_NET=slirp outbound network through slirp4netns (image builds
#                        need it); default: loopback only, nothing leaves.
#   DMP_ENGINE_DATA=DIR  the Engine's --data-root, kept by `stop` (a cache of
#                        images and build steps across runs; one Engine at a
#                        time); default: inside DIR, removed by `stop`.
#
# Inside the namespace, ports the Engine publishes on 127.0.0.1 are reached on
# 127.0.0.1, by commands run with `exec`.
set -euo pipefail

say() { printf 'private-engine: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2

netns() { cat "$dir/netns"; }
in_ns() { nsenter --net="/run/netns/$(netns)" "$@"; }
socket() { echo "unix://$dir/docker.sock"; }
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Runs "$@" in the background, detached, with no file descriptor of ours but
# the log: an inherited pipe would keep a caller reading our output waiting,
# and an inherited lock (flock /tmp/dmp-engine.lock …) held.
daemon() {
    local log=$1
    shift
    (
        for fd in $(ls /proc/$BASHPID/fd); do
            [ "$fd" -le 2 ] || eval "exec $fd>&-"
        done
        exec setsid "$@" >>"$log" 2>&1 </dev/null
    ) &
}

start_dockerd() {
    # nsenter enters only the network namespace: `ip netns exec` would also
    # remount /sys, hiding the cgroup mounts dockerd needs.
    daemon "$dir/dockerd.log" nsenter --net="/run/netns/$(netns)" env PATH="$(cat "$dir/path")" dockerd \
        --host "$(socket)" \
        --data-root "$(cat "$dir/data-root")" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
        --containerd-namespace dmp-private --containerd-plugins-namespace dmp-private-plugins \
        --cgroup-parent dmp-private
    for _ in $(seq 1 120); do
        DOCKER_HOST=$(socket) timeout 10 docker version >/dev/null 2>&1 && return 0
        pid_alive "$!" || break
        sleep 0.25
    done
    tail -n 30 "$dir/dockerd.log" >&2 || true
    die "the private dockerd did not answer on $(socket) (log: $dir/dockerd.log)"
}

stop_dockerd() {
    local pid
    pid=$(cat "$dir/docker.pid" 2>/dev/null || true)
    pid_alive "$pid" || return 0
    kill -TERM "$pid"
    for _ in $(seq 1 240); do
        pid_alive "$pid" || return 0
        sleep 0.25
    done
    say "dockerd $pid did not stop within 60 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

case $cmd in
start)
    [ "$(id -u)" -eq 0 ] || die "needs root"
    for tool in ip nsenter docker; do command -v "$tool" >/dev/null || die "needs $tool"; done
    [ ! -e "$dir" ] || die "$dir exists"
    # The containerd socket lives under the exec root: unix socket paths are
    # limited to 108 bytes.
    [ ${#dir} -le 40 ] || die "$dir is too long a path for the sockets under it (40 characters at most)"
    bin=${DMP_ENGINE_BIN:-}
    if [ -n "$bin" ]; then
        [ -x "$bin/dockerd" ] || die "no dockerd in $bin"
        bin="$(cd "$bin" && pwd):"
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    data=${DMP_ENGINE_DATA:-$dir/data}
    mkdir -p "$data"
    (cd "$data" && pwd) >"$dir/data-root"
    echo "$bin/usr/sbin:/usr/bin:/sbin:/bin:$PATH" | sed 's/^://' >"$dir/path"
    name="dmp-$(basename "$dir")"
    echo "$name" >"$dir/netns"
    ip netns add "$name"
    in_ns ip link set lo up
    if [ "${DMP_ENGINE_NET:-}" = slirp ]; then
        command -v slirp4netns >/dev/null || die "DMP_ENGINE_NET=slirp needs slirp4netns (apt-get install slirp4netns)"
        daemon "$dir/slirp.log" slirp4netns --configure --mtu=65520 --disable-host-loopback \
            --netns-type=path "/run/netns/$name" tap0
        echo $! >"$dir/slirp.pid"
        for _ in $(seq 1 40); do
            in_ns ip route show default | grep -q tap0 && break
            sleep 0.1
        done
        in_ns ip route show default | grep -q tap0 || die "slirp4netns gave no route (log: $dir/slirp.log)"
    fi
    start_dockerd
    socket
    ;;
load)
    [ $# -gt 0 ] || usage
    docker save "$@" | DOCKER_HOST=$(socket) docker load -q >/dev/null
    ;;
exec)
    [ $# -gt 0 ] || usage
    exec nsenter --net="/run/netns/$(netns)" env DOCKER_HOST="$(socket)" "$@"
    ;;
restart)
    stop_dockerd
    start_dockerd >/dev/null
    ;;
stop)
    [ -d "$dir" ] || exit 0
    dir=$(cd "$dir" && pwd)
    # Containers first, so dockerd's shutdown is quick.
    if DOCKER_HOST=$(socket) timeout 10 docker version >/dev/null 2>&1; then
        ids=$(DOCKER_HOST=$(socket) timeout 10 docker ps -aq)
        [ -z "$ids" ] || DOCKER_HOST=$(socket) timeout 60 docker rm -fv $ids >/dev/null 2>&1 || true
    fi
    stop_dockerd
    pid_alive "$(cat "$dir/slirp.pid" 2>/dev/null)" && kill "$(cat "$dir/slirp.pid")" 2>/dev/null || true
    [ -f "$dir/netns" ] && ip netns delete "$(netns)" 2>/dev/null || true
    # Whatever dockerd left mounted under DIR or its data root, deepest
    # first, before removing DIR.
    for root in "$dir" "$(cat "$dir/data-root" 2>/dev/null || echo "$dir")"; do
        awk -v d="$root/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
            umount -l "$m" 2>/dev/null || true
        done
    done
    rm -rf --one-file-system "$dir"
    ;;
*) usage ;;
esac
