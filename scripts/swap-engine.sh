#!/usr/bin/env bash
# Swaps the machine's Engine on the default socket: Debian's 20.10 out and
# Engine 26 (from Debian trixie, scripts/ensure-trixie-tools.sh) in, and back.
# For throwaway machines (CI) only: every container of the Engine that stops
# is stopped with it. Needs root.
#
#   scripts/swap-engine.sh 26      # stop 20.10 (by its pid file), start 26
#   scripts/swap-engine.sh back    # stop 26, start 20.10 (scripts/ensure-docker.sh)
#
# Engine 26 keeps its own state: --data-root /var/lib/dmp-engine26 (images
# and build cache survive between runs), --exec-root /run/dmp-engine26,
# --pidfile /run/dmp-engine26.pid, its own containerd (under its exec root,
# namespace dmp26), log /var/log/dmp-dockerd26.log. debian:bookworm-slim is
# copied over from 20.10 (nothing can be pulled here).
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=/var/lib/dmp-engine26
EXEC=/run/dmp-engine26
PIDFILE=/run/dmp-engine26.pid
LOG=/var/log/dmp-dockerd26.log
BASE_IMAGE=debian:bookworm-slim

say() { printf 'swap-engine: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Stops the dockerd whose pid is in $1 and waits for it to go.
stop_by_pidfile() {
    local pid
    pid=$(cat "$1" 2>/dev/null || true)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    say "stopping dockerd $pid ($1)"
    kill -TERM "$pid"
    for _ in $(seq 1 240); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.25
    done
    die "dockerd $pid did not stop within 60 s"
}

[ "$(id -u)" -eq 0 ] || die "needs root"
case ${1:-} in
26)
    trixie=$(scripts/ensure-trixie-tools.sh)
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        say "Engine 26 already runs"
        exit 0
    fi
    base=""
    if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        base=$(mktemp /tmp/dmp-base.XXXXXX.tar)
        trap 'rm -f "$base"' EXIT
        docker save -o "$base" "$BASE_IMAGE"
    fi
    stop_by_pidfile /var/run/docker.pid
    mkdir -p "$DATA" "$EXEC"
    say "starting Engine 26 on /var/run/docker.sock (log: $LOG)"
    # Bookworm's runc: trixie's needs a newer glibc.
    (
        for fd in $(ls /proc/$BASHPID/fd); do
            [ "$fd" -le 2 ] || eval "exec $fd>&-"
        done
        exec env PATH="$trixie/engine-bin:/usr/sbin:/usr/bin:/sbin:/bin" setsid dockerd \
            --data-root "$DATA" --exec-root "$EXEC" --pidfile "$PIDFILE" \
            --containerd-namespace dmp26 --containerd-plugins-namespace dmp26-plugins \
            >>"$LOG" 2>&1 </dev/null
    ) &
    for _ in $(seq 1 120); do
        timeout 10 docker version --format '{{.Server.Version}}' 2>/dev/null | grep -q '^26\.' && break
        sleep 0.5
    done
    docker version --format '{{.Server.Version}}' 2>/dev/null | grep -q '^26\.' \
        || { tail -n 20 "$LOG" >&2; die "Engine 26 did not answer within 60 s"; }
    if [ -n "$base" ] && ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        docker load -q -i "$base" >/dev/null
    fi
    say "ready: Engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
    ;;
back)
    stop_by_pidfile "$PIDFILE"
    scripts/ensure-docker.sh
    ;;
*)
    sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
