#!/usr/bin/env bash
# Benchmarks dmp against Debian's docker-compose (Compose v1) on the same
# two-service stack (compose/api.yml: uWSGI + nginx), in one run, with
# hyperfine, and writes the tables into docs/benchmarks.md.
#
#   scripts/bench.sh            # full run
#   RUNS=5 scripts/bench.sh     # fewer runs of the cold start
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

scripts/ensure-docker.sh
for tool in hyperfine docker-compose curl; do
    if ! command -v "$tool" >/dev/null; then
        [ "$(id -u)" -eq 0 ] || { echo "bench.sh: install $tool" >&2; exit 1; }
        apt-cache show "$tool" >/dev/null 2>&1 || apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$tool"
    fi
done
cargo build --release --locked -q
dmp=$repo/target/release/dmp
$dmp images build --quiet

runs=${RUNS:-10}
work=$(mktemp -d /tmp/dmp-bench.XXXXXX)
out=$(mktemp -d /tmp/dmp-bench-out.XXXXXX)
cleanup() {
    (cd "$work" && HTTP_PORT=18081 $dmp -p bench-dmp down -q >/dev/null 2>&1 || true)
    (cd "$work" && HTTP_PORT=18082 docker-compose -p bench-compose down >/dev/null 2>&1 || true)
    rm -rf "$work" "$out"
}
trap cleanup EXIT

# One stack file for both tools.
cp compose/api.yml "$work/compose.yaml"
cat >"$work/application.py" <<'APP'
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
APP
chmod -R a+rX "$work"
cd "$work"

dmp_cmd="HTTP_PORT=18081 $dmp -p bench-dmp"
compose_cmd="HTTP_PORT=18082 docker-compose -p bench-compose"
# Compose's `up -d` returns before the app answers; poll as a user would.
wait_compose="until curl -sf -o /dev/null http://127.0.0.1:18082/_status; do sleep 0.02; done"

echo "== cold up: from nothing to the first HTTP 200 through nginx"
hyperfine --runs "$runs" --warmup 1 \
    --prepare "$dmp_cmd down -q; $compose_cmd down >/dev/null 2>&1" \
    -n "dmp up" "$dmp_cmd up -q >/dev/null" \
    -n "docker-compose up -d + wait for HTTP 200" "$compose_cmd up -d >/dev/null 2>&1; $wait_compose" \
    --export-markdown "$out/cold.md"

# Both stacks up for the rest.
eval "$dmp_cmd up -q" >/dev/null
eval "$compose_cmd up -d" >/dev/null 2>&1
eval "$wait_compose"
sleep 8 # let the Engine's health checks settle, as on a working day

echo "== up with nothing to do"
hyperfine --runs 30 --warmup 3 -N \
    -n "dmp up" "env HTTP_PORT=18081 $dmp -p bench-dmp up -q" \
    -n "docker-compose up -d" "env HTTP_PORT=18082 docker-compose -p bench-compose up -d" \
    --export-markdown "$out/noop.md"

echo "== ps"
hyperfine --runs 30 --warmup 3 -N \
    -n "dmp ps" "env HTTP_PORT=18081 $dmp -p bench-dmp ps" \
    -n "docker-compose ps" "env HTTP_PORT=18082 docker-compose -p bench-compose ps" \
    --export-markdown "$out/ps.md"

echo "== peak memory of up (cold, KiB)"
peak() { /usr/bin/time -f %M bash -c "$1" 2>&1 >/dev/null | tail -n1; }
eval "$dmp_cmd down -q"; eval "$compose_cmd down" >/dev/null 2>&1
dmp_rss=$(peak "$dmp_cmd up -q")
compose_rss=$(peak "$compose_cmd up -d")
dmp_noop_rss=$(peak "$dmp_cmd up -q")
compose_noop_rss=$(peak "$compose_cmd up -d")
echo "dmp: $dmp_rss KiB cold, $dmp_noop_rss KiB no-op; docker-compose: $compose_rss KiB cold, $compose_noop_rss KiB no-op"

echo "== watch"
eval "$dmp_cmd down -q"; eval "$compose_cmd down" >/dev/null 2>&1
demo=$(mktemp -d /tmp/dmp-bench-demo.XXXXXX)
cp -r "$repo/examples/demo/." "$demo/"
sed 's/^AUTO_START_SERVER=.*/AUTO_START_SERVER=false/; s/^HTTP_PORT=.*/HTTP_PORT=18083/' "$demo/.env.example" >"$demo/.env"
chmod -R a+rwX "$demo"
(cd "$demo" && $dmp -p bench-watch up -q >/dev/null)
PROJECT=bench-watch python3 "$repo/scripts/bench_watch.py" "$dmp" "$demo" 18083 >"$out/watch.md"
(cd "$demo" && $dmp -p bench-watch down -q)
rm -rf "$demo"
cat "$out/watch.md"

cd "$repo"
{
    cat <<DOC
# Benchmarks

\`scripts/bench.sh\` runs dmp and Debian's docker-compose (Compose v1.29) side
by side with hyperfine on the same stack file (\`compose/api.yml\`: uWSGI
behind nginx, with \`depends_on: condition: service_healthy\`), each as its own
project, on the same Engine. Release build of dmp.

Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(docker version --format 'Docker Engine {{.Server.Version}}'),
$(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release). Run on $(date -u +%Y-%m-%d).

## \`up\` from nothing to the first HTTP 200 through nginx

dmp's \`up\` waits by itself; Compose's \`up -d\` returns earlier, so its time
includes polling the URL with curl every 20 ms until it answers.

$(cat "$out/cold.md")

## \`up\` with nothing to do

$(cat "$out/noop.md")

## \`ps\`

$(cat "$out/ps.md")

## Peak memory (maximum resident set size)

| command | dmp | docker-compose |
|---|---|---|
| \`up\` from nothing | $((dmp_rss / 1024)) MiB | $((compose_rss / 1024)) MiB |
| \`up\` with nothing to do | $((dmp_noop_rss / 1024)) MiB | $((compose_noop_rss / 1024)) MiB |

$(cat "$out/watch.md")
DOC
} >docs/benchmarks.md
echo "wrote docs/benchmarks.md"
