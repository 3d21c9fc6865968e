#!/usr/bin/env bash
# Benchmarks dmp against Compose v2 (docker-compose 2.26 from Debian trixie)
# on Engine 26 (Debian trixie's), on the same two-service stack
# (compose/api.yml: uWSGI + nginx), in one run, with hyperfine; then the
# demo: dmp watch's save -> served (scripts/bench_watch.py), the GOV.UK
# partial's save -> restyled CSS served for the warm worker and the ways it
# replaces (scripts/bench_govuk.py), and the demo's no-op up. Writes the
# tables into docs/benchmarks.md (the Compose v1 tables below "## History" are
# kept as they are).
#
# Engine 26 is a private one in a network namespace of its own
# (scripts/private-engine.sh, outbound network through slirp4netns for the
# demo's image build): the machine's Engine is not stopped. Its data root,
# /var/lib/dmp-bench-engine26, is kept as a cache; the base images are copied
# into it from the machine's Engine. Needs root.
#
#   scripts/bench.sh            # full run
#   RUNS=5 scripts/bench.sh     # fewer runs of the cold start and of down
#   SAVES=20 scripts/bench.sh    # fewer saves per GOV.UK watch measure (30)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
dmp=$repo/target/release/dmp

if [ -z "${DMP_BENCH_INSIDE:-}" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "bench.sh: needs root (a private Engine 26)" >&2; exit 1; }
    scripts/ensure-docker.sh
    trixie=$(scripts/ensure-trixie-tools.sh)
    for tool in hyperfine curl slirp4netns; do
        if ! command -v "$tool" >/dev/null; then
            apt-cache show "$tool" >/dev/null 2>&1 || apt-get update -q
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$tool"
        fi
    done
    cargo build --release --locked -q
    $dmp images build --quiet
    engine=$(mktemp -d /tmp/dmp-b26.XXXXXX)
    rmdir "$engine"
    trap 'scripts/private-engine.sh stop "$engine"' EXIT
    DMP_ENGINE_BIN="$trixie/engine-bin" DMP_ENGINE_NET=slirp DMP_ENGINE_DATA=/var/lib/dmp-bench-engine26 \
        scripts/private-engine.sh start "$engine" >/dev/null
    version=$(cat images/VERSION)
    missing=()
    for image in debian:bookworm-slim dmp/wsgi dmp/http-headless dmp/http-frontend dmp/http-buildstatic; do
        [[ $image == *:* ]] || image=$image:$version
        # Missing, or older than the machine's (a cached data root).
        ours=$(docker image inspect -f '{{.Id}}' "$image")
        theirs=$(scripts/private-engine.sh exec "$engine" docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
        [ "$ours" = "$theirs" ] || missing+=("$image")
    done
    [ ${#missing[@]} -eq 0 ] || scripts/private-engine.sh load "$engine" "${missing[@]}"
    scripts/private-engine.sh exec "$engine" env DMP_BENCH_INSIDE=1 COMPOSE="$trixie/bin/docker-compose" "$0"
    exit
fi

# From here on, inside the private Engine's namespace, DOCKER_HOST set.
runs=${RUNS:-10}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
compose=$COMPOSE
work=$(mktemp -d /tmp/dmp-bench.XXXXXX)
out=$(mktemp -d /tmp/dmp-bench-out.XXXXXX)
# TOOL DIR PROJECT: the tool on that directory's stack, as that project.
on() { echo "$1 --project-directory $work/$2 -f $work/$2/compose.yaml -p $3"; }
dmp_cmd=$(on "$dmp" dmp bench-dmp)
compose_cmd=$(on "$compose" compose bench-compose)
dmp_plain=$(on "$dmp" dmp-plain bench-dmp-plain)
compose_plain=$(on "$compose" compose-plain bench-plain)
cleanup() {
    for cmd in "$dmp_cmd down -q" "$compose_cmd down" "$dmp_plain down -q" "$compose_plain down"; do
        $cmd >/dev/null 2>&1 || true
    done
    rm -rf "$work" "$out"
}
trap cleanup EXIT

# One stack file for both tools, and the same stack with a plain
# `depends_on: [wsgi]`: Compose's best case, where its `up -d` does not wait
# for wsgi's first health check (3 s). Each tool's copy in a directory of its
# own, whose .env picks the host port: the commands are timed as they are,
# without an `env` in front (which alone costs ~0.8 ms a run here).
stack_dir() { # NAME HTTP_PORT FILE
    mkdir "$work/$1"
    cat >"$work/$1/application.py" <<'APP'
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
APP
    echo "HTTP_PORT=$2" >"$work/$1/.env"
    cp "$3" "$work/$1/compose.yaml"
}
sed 's/^    depends_on:$/    depends_on: [wsgi]/; /^      wsgi:$/d; /condition: service_healthy/d' compose/api.yml >"$work/plain.yaml"
grep -q 'depends_on: \[wsgi\]' "$work/plain.yaml" || { echo "bench.sh: could not make the plain depends_on file" >&2; exit 1; }
stack_dir dmp 18081 compose/api.yml
stack_dir compose 18082 compose/api.yml
stack_dir dmp-plain 18085 "$work/plain.yaml"
stack_dir compose-plain 18084 "$work/plain.yaml"
chmod -R a+rX "$work"
cd "$work"

# Compose's `up -d` returns before the app answers; poll as a user would.
wait_compose="until curl -sf -o /dev/null http://127.0.0.1:18082/_status; do sleep 0.02; done"
wait_plain="until curl -sf -o /dev/null http://127.0.0.1:18084/_status; do sleep 0.02; done"
down_both="$dmp_cmd down -q; $compose_cmd down >/dev/null 2>&1; $dmp_plain down -q; $compose_plain down >/dev/null 2>&1"
up_both="$dmp_cmd up -q >/dev/null; $compose_cmd up -d >/dev/null 2>&1; $wait_compose"

# Both tools' commands side by side in one hyperfine run; the markdown table
# goes to $out/$1.md.
side_by_side() {
    local table=$1
    shift
    hyperfine --style basic "$@" --export-markdown "$out/$table.md" | grep -E '^(Benchmark|  Time)'
}

echo "== cold up: from nothing to the first HTTP 200 through nginx"
side_by_side cold --runs "$runs" --warmup 1 --prepare "$down_both" \
    -n "dmp up" "$dmp_cmd up -q >/dev/null" \
    -n "docker compose up -d + wait for HTTP 200" "$compose_cmd up -d >/dev/null 2>&1; $wait_compose" \
    -n "dmp up, depends_on without condition" "$dmp_plain up -q >/dev/null" \
    -n "docker compose up -d + wait for HTTP 200, depends_on without condition" \
    "$compose_plain up -d >/dev/null 2>&1; $wait_plain"
eval "$dmp_plain down -q; $compose_plain down >/dev/null 2>&1"

eval "$up_both"
sleep 8 # let the Engine's health checks settle, as on a working day

echo "== up with nothing to do"
side_by_side noop -N --runs 30 --warmup 3 \
    -n "dmp up" "$dmp_cmd up -q" \
    -n "docker compose up -d" "$compose_cmd up -d"

echo "== ps"
side_by_side ps -N --runs 30 --warmup 3 \
    -n "dmp ps" "$dmp_cmd ps" \
    -n "docker compose ps" "$compose_cmd ps"

echo "== logs --tail 20"
side_by_side logs -N --runs 30 --warmup 3 \
    -n "dmp logs --tail 20" "$dmp_cmd logs --tail 20" \
    -n "docker compose logs --tail 20" "$compose_cmd logs --tail 20"

echo "== a command in the app container"
side_by_side exec -N --runs 30 --warmup 3 \
    -n "dmp sh -- true" "$dmp_cmd sh -- true" \
    -n "docker compose exec -T wsgi true" "$compose_cmd exec -T wsgi true"

echo "== down"
side_by_side down --runs "$runs" \
    --prepare "$dmp_cmd up -q >/dev/null" --prepare "$compose_cmd up -d >/dev/null 2>&1; $wait_compose" \
    -n "dmp down" "$dmp_cmd down -q" \
    -n "docker compose down" "$compose_cmd down >/dev/null 2>&1"

echo "== peak memory (KiB)"
peak() { /usr/bin/time -f %M bash -c "$1" 2>&1 >/dev/null | tail -n1; }
eval "$down_both"
dmp_rss=$(peak "$dmp_cmd up -q")
compose_rss=$(peak "$compose_cmd up -d")
eval "$wait_compose"
dmp_noop_rss=$(peak "$dmp_cmd up -q")
compose_noop_rss=$(peak "$compose_cmd up -d")
dmp_ps_rss=$(peak "$dmp_cmd ps")
compose_ps_rss=$(peak "$compose_cmd ps")
eval "$down_both"
echo "dmp: $dmp_rss cold, $dmp_noop_rss no-op, $dmp_ps_rss ps; compose: $compose_rss cold, $compose_noop_rss no-op, $compose_ps_rss ps"

echo "== Engine requests"
# On a stack that is up and settled (the peak memory runs took it down).
$dmp_cmd up -q >/dev/null
sleep 8 # as above: health checks settled, containers up for a second or more
noop_requests=$($dmp_cmd -v up -q 2>&1 >/dev/null | grep -c 'dmp::engine')
ps_requests=$($dmp_cmd -v ps 2>&1 >/dev/null | grep -c 'dmp::engine')
echo "no-op up: $noop_requests, ps: $ps_requests"

echo "== where a cold up spends its time (depends_on without condition)"
eval "$down_both"
$dmp_plain -v up -q 2>"$out/trace.txt" >/dev/null
eval "$down_both"
sed -E 's/^ *([0-9.]+)s DEBUG dmp::[a-z]+: /\1 s  /' "$out/trace.txt" | tee "$out/trace.md"

echo "== watch"
demo=$(mktemp -d /tmp/dmp-bench-demo.XXXXXX)
cp -r "$repo/examples/demo/." "$demo/"
sed 's/^AUTO_START_SERVER=.*/AUTO_START_SERVER=false/; s/^HTTP_PORT=.*/HTTP_PORT=18083/' "$demo/.env.example" >"$demo/.env"
chmod -R a+rwX "$demo"
(cd "$demo" && $dmp -p bench-watch up -q >/dev/null)
PROJECT=bench-watch python3 "$repo/scripts/bench_watch.py" "$dmp" "$demo" 18083 >"$out/watch.md"
cat "$out/watch.md"

echo "== the GOV.UK demo: save a Sass partial -> restyled CSS served by nginx"
: >"$out/govuk.jsonl"
for mode in warm exec sass-js-watch sass-watch sass-cli sassc; do
    PROJECT=bench-watch python3 "$repo/scripts/bench_govuk.py" "$dmp" "$demo" 18083 "$mode" "${SAVES:-30}" |
        tee -a "$out/govuk.jsonl"
done
python3 - "$out/govuk.jsonl" >"$out/govuk.md" <<'TABLE'
import json, sys
names = {
    "warm": "`dmp watch`, warm worker (`serve: dmp-sass-worker`, sass-embedded)",
    "exec": "`dmp watch`, the `sass` CLI (sass-embedded) per change",
    "sass-js-watch": "`sass --watch` (the `sass` JS package) inside buildstatic, no dmp: the run-dev way",
    "sass-watch": "`sass --watch` (sass-embedded, native Dart Sass) inside buildstatic, no dmp",
    "sass-cli": "`dmp watch`, the `sass` (JS) package's CLI per change: the demo before",
    "sassc": "`dmp watch`, the small sassc rule (its build shell; `legacy.css`)",
}
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print("| how the CSS is rebuilt | saves | p50 | p90 | p95 | max | dmp's build, p50 |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    build = f"{r['build_p50']} ms" if "build_p50" in r else "—"
    print(f"| {names[r['mode']]} | {r['saves']} | {r['p50']} ms | {r['p90']} ms | {r['p95']} ms | {r['max']} ms | {build} |")
TABLE
cat "$out/govuk.md"

echo "== the GOV.UK demo: up with nothing changed"
(cd "$demo" && hyperfine --style basic -N --runs 30 --warmup 3 -n "dmp up (the demo)" "$dmp -p bench-watch up -q" \
    --export-markdown "$out/demo-noop.md" | grep -E '^(Benchmark|  Time)')
(cd "$demo" && $dmp -p bench-watch down -q)
rm -rf "$demo"

cd "$repo"
history=$(sed -n '/^## History/,$p' docs/benchmarks.md)
mib() { echo "$(($1 / 1024)) MiB"; }
{
    cat <<DOC
# Benchmarks

\`scripts/bench.sh\` runs dmp and Compose v2 side by side with hyperfine on
the same stack file (\`compose/api.yml\`: uWSGI behind nginx, with
\`depends_on: condition: service_healthy\`), each as its own project, on the
same Engine, in one run. Release build of dmp.

Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release).
Engine: $(docker version --format 'Docker Engine {{.Server.Version}} (API {{.Server.APIVersion}})') from Debian trixie, a private
one in its own network namespace (\`scripts/private-engine.sh\`).
Compose: $($compose version) from Debian trixie. Run on $(date -u +%Y-%m-%d).
Load average (1, 5, 15 min) at the start: $load_before; at the end:
$(cut -d' ' -f1-3 /proc/loadavg). The machine's $(nproc) cores are shared with
whatever else runs: above ~1 the means spread, and Min is the steadier
figure.

## \`up\` from nothing to the first HTTP 200 through nginx

dmp's \`up\` waits by itself; Compose's \`up -d\` returns earlier, so its time
includes polling the URL with curl every 20 ms until it answers. Each tool
runs each of two files: the stack as it is, with \`condition:
service_healthy\` (Compose starts nginx only after the Engine's first health
check of wsgi, \`--interval\` 3 s; dmp asks wsgi's check itself), and the
same stack with a plain \`depends_on: [wsgi]\`, Compose's best case, where
nginx starts once wsgi runs. Like with like: compare the first two rows,
then the last two. dmp's \`up\` returns once every service is up (see below).

$(cat "$out/cold.md")

## \`up\` with nothing to do

Engine requests: $noop_requests for dmp's no-op \`up\` (ping, one
label-filtered container list, the two image inspects at once) plus one
HTTP GET of the health path through nginx; $ps_requests for \`ps\` (ping and
one list by Compose's project label, which dmp's containers carry too; the
list by dmp's own label only when a container the stack expects is missing
from it) plus the GET of the health path, made while the Engine lists.

$(cat "$out/noop.md")

## \`ps\`

$(cat "$out/ps.md")

## \`logs --tail 20\` (both services)

$(cat "$out/logs.md")

## A command in the app container

$(cat "$out/exec.md")

## \`down\` (from a running stack)

$(cat "$out/down.md")

## Peak memory (maximum resident set size)

| command | dmp | Compose v2 |
|---|---|---|
| \`up\` from nothing | $(mib "$dmp_rss") | $(mib "$compose_rss") |
| \`up\` with nothing to do | $(mib "$dmp_noop_rss") | $(mib "$compose_noop_rss") |
| \`ps\` | $(mib "$dmp_ps_rss") | $(mib "$compose_ps_rss") |

## Where a cold \`up\` spends its time

One \`dmp -v up\` from nothing, on the file with a plain \`depends_on:
[wsgi]\`: seconds since start, then each Engine request with its duration
and each decision. dmp creates the network while it creates both containers
(the Engine looks a network up only at start) and starts wsgi the moment
the network exists. Its critical path is then the Engine's: creating the
network (~80 ms), then starting the containers (containerd, runc, the
network sandbox, docker-proxy: 200-300 ms each on this machine). A
\`service_started\` dependent starts once its dependency has joined its
network ("joined" below: the Engine's network connect event, ~15 ms into
wsgi's start; from then on the name \`wsgi\` resolves), not when wsgi's
start request returns ~200 ms later, so the two starts run side by side;
then uWSGI boots (~50 ms) and the first GET through nginx answers. A
service with a health check is up when its check passes (dmp makes the
check's GET itself, from here to the container's address, and leaves the
exec of the check out while that address answers or refuses: the exec's
runc would take CPU from uWSGI's boot); the 200 ms settle window is for
services without one. Compose does the same Engine work one step after
the other (its events show the same network create and the same start
times per container, nginx's start after wsgi's returned), after its own
start-up (~100 ms). With \`condition: service_healthy\` Compose waits
for the Engine's first health check (3 s); dmp asks wsgi's check every 15
ms itself. Compose's \`up
-d\` with nothing to do takes about 500 ms more than its \`ps\`: it seems
to wait on its dependency check even when nothing changes (not traced
here).

\`\`\`
$(cat "$out/trace.md")
\`\`\`

$(cat "$out/watch.md")

## \`dmp watch\` on the GOV.UK demo

The demo app (govuk-frontend 6.6 compiled by Dart Sass into 140 KB of CSS,
from an \`application.scss\` that \`@use\`s it): a partial
(\`assets/scss/_notes.scss\`) saved ${SAVES:-30} times, 300 ms apart, each save
timed until nginx serves CSS with the change, polling every 2 ms on
127.0.0.1. dmp waits 3 ms after a lone finished save (30 ms of quiet
after other changes).

$(cat "$out/govuk.md")

dmp's build column is from sending the build to the worker's answer; the
rest of save → served (the file event, the 3 ms wait, the write and rename,
nginx) is a few milliseconds. The warm worker keeps the project's
sass-embedded compiler loaded and rebuilds only the entry points whose
\`loadedUrls\` hold the saved file, but each compile parses the stylesheets
again: the embedded protocol has no cache between compiles. Dart Sass's own
\`--watch\` keeps its parsed stylesheets, so it is a little faster; it
watches inside the container, though, where bind mounts do not carry file
events everywhere (Docker Desktop), and it writes the CSS in place, so
nginx can serve a half-written file, which the workers' write-and-rename
never does. The small sassc rule runs in its build shell (one exec per
watch, not per change).

## \`up\` of the GOV.UK demo with nothing changed

Every asset rule's content stamp matches (see
[watch.md](watch.md#up-and-unchanged-assets)), so none runs; the app
container idles (\`AUTO_START_SERVER=false\`).

$(cat "$out/demo-noop.md")

$history
DOC
} >docs/benchmarks.md
echo "wrote docs/benchmarks.md"
