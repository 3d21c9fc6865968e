#!/usr/bin/env bash
# Make this machine ready for dmp: a running Docker Engine and a
# debian:bookworm-slim base image. Idempotent: once ready, a run takes about a
# second and changes nothing.
#
# As root on Debian/Ubuntu it installs Debian's docker.io, starts dockerd in
# the background (log: /var/log/dmp-dockerd.log) and, when no registry
# answers, builds debian:bookworm-slim locally with debootstrap.
set -euo pipefail

DOCKERD_LOG=${DMP_DOCKERD_LOG:-/var/log/dmp-dockerd.log}
BASE_IMAGE=debian:bookworm-slim
rootfs="" # debootstrap's target, removed on exit

say() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

engine_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

apt_install() {
    # `apt-get update` only when the package is unknown to the local lists.
    if ! apt-cache show "$@" >/dev/null 2>&1; then
        apt-get update -q
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

install_engine() {
    [ -f /etc/debian_version ] || die "no Docker Engine answers and this is not Debian/Ubuntu: install Docker Engine yourself, start it, and run this script again."
    say "installing Debian's docker.io"
    apt_install docker.io
}

# The machine's dockerd, by its pid file: other dockerd processes (a private
# Engine of the tests, scripts/private-engine.sh) do not count.
machine_dockerd_runs() {
    [ "$(cat "/proc/$(cat /var/run/docker.pid 2>/dev/null)/comm" 2>/dev/null)" = dockerd ]
}

start_engine() {
    # A dockerd killed with its session leaves its pid file behind, and the
    # next dockerd refuses to start ("pid file found"): remove it when that
    # dockerd is gone.
    if [ -f /var/run/docker.pid ] && ! machine_dockerd_runs; then
        say "removing stale /var/run/docker.pid"
        rm -f /var/run/docker.pid
    fi
    if ! machine_dockerd_runs; then
        say "starting dockerd (log: $DOCKERD_LOG)"
        # Keep none of our open files: a lock held by whoever called this
        # (`flock LOCK scripts/test.sh`) would stay held for as long as dockerd runs.
        (
            for fd in $(ls /proc/$BASHPID/fd); do
                [ "$fd" -le 2 ] || eval "exec $fd>&-"
            done
            exec setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null
        ) &
    fi
    for _ in $(seq 1 120); do
        engine_answers && return 0
        sleep 0.5
    done
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    die "dockerd did not answer within 60 s; its log is $DOCKERD_LOG"
}

apt_mirror() {
    # The mirror this machine's apt already uses also works inside containers.
    local uri
    uri=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | grep -m1 -E 'debian/?( |$)' | grep -oE 'https?://[^ ]+' || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

build_offline_base() {
    local mirror
    mirror=$(apt_mirror)
    command -v debootstrap >/dev/null || apt_install debootstrap
    rootfs=$(mktemp -d /tmp/dmp-bookworm.XXXXXX)
    trap '[ -z "$rootfs" ] || rm -rf "$rootfs"' EXIT
    say "no registry answers: building an offline stand-in for $BASE_IMAGE with debootstrap from $mirror (about 30 s)"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
        || { tail -n 20 "$rootfs.log" >&2; die "debootstrap failed (full log: $rootfs.log)"; }
    rm -f "$rootfs.log"
    # What the official slim image does: no docs, man pages or apt caches in
    # layers built on it.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
    # Same suites as the official image: security fixes reach image builds.
    cat >"$rootfs/etc/apt/sources.list" <<LIST
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian*}/debian-security bookworm-security main
LIST
    echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/*/changelog* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    tar -C "$rootfs" -c . | docker import \
        --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --message "dmp offline stand-in for $BASE_IMAGE (debootstrap --variant=minbase bookworm)" \
        - "$BASE_IMAGE" >/dev/null
    say "made $BASE_IMAGE locally (offline stand-in: debootstrap --variant=minbase bookworm, apt mirror $mirror)"
}

ensure_base_image() {
    docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
    is_root || die "$BASE_IMAGE is missing; run this script as root (sudo $0) to pull or build it."
    say "pulling $BASE_IMAGE"
    if timeout 60 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
        say "pulled $BASE_IMAGE"
    else
        build_offline_base
    fi
}

main() {
    if ! engine_answers; then
        is_root || die "no Docker Engine answers on ${DOCKER_HOST:-/var/run/docker.sock}. As root, run: sudo $0 (installs docker.io and starts dockerd), or start your Engine and check that your user may use its socket."
        command -v dockerd >/dev/null || install_engine
        start_engine
    fi
    ensure_base_image
    say "ready: Engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null), $BASE_IMAGE present"
}

main "$@"
