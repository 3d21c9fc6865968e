#!/usr/bin/env python3
"""GOV.UK demo benchmark for scripts/bench.sh: on a running demo stack (the
project named by $PROJECT), saves a Sass partial N times, 300 ms apart, and
measures save -> restyled CSS served by nginx on 127.0.0.1, for one way of
rebuilding:

  warm      dmp watch with the stack file as it is (styles: dmp-sass-worker)
  exec      dmp watch with the styles rule's `serve` removed: its command
            (the sass-embedded CLI) runs once per change, in the rule's
            build shell
  sass-cli  as `exec`, with the command of the old demo: the `sass` (JS)
            package's CLI, started per change (needs that package)
  sass-watch  no dmp: `sass --watch` (sass-embedded's CLI, the native Dart
            Sass) running inside buildstatic
  sass-js-watch  no dmp: the `sass` (JS) package's `sass --watch` running
            inside buildstatic: the run-dev way, the issue's yardstick
            (installs that package without saving it, if missing)
  sassc     dmp watch with the stack file as it is, saving the small sassc
            rule's partial (assets/legacy/_layout.scss -> legacy.css)

Prints one JSON line: {"mode", "saves", "p50", "p90", "p95", "max"} (ms),
with "build_p50" for the dmp modes: dmp's own timing of the build (the
rule's trigger sent -> the worker's answer), so p50 - build_p50 is the
rest: the settle or quiet window, the file event, nginx."""
import json, os, re, statistics, subprocess, sys, threading, time, urllib.request

dmp, app_dir, port, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
saves = int(sys.argv[5]) if len(sys.argv) > 5 else 30
project = os.environ["PROJECT"]
partial = os.path.join(app_dir, "assets/legacy/_layout.scss" if mode == "sassc" else "assets/scss/_notes.scss")
css = "legacy.css" if mode == "sassc" else "application.css"
url = f"http://127.0.0.1:{port}/static/css/{css}"
stack_file = os.path.join(app_dir, "dmp.yml")
original_stack = open(stack_file).read()
original_partial = open(partial).read()
container = f"{project}-buildstatic-1"
SASS_WATCH = ("node node_modules/sass-embedded/dist/bin/sass.js --watch --style=compressed --no-source-map --load-path=node_modules "
              "assets/scss/application.scss:static/css/application.css")


def docker_exec(script, detach=False):
    args = ["docker", "exec"] + (["-d"] if detach else []) + [container, "sh", "-c", script]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def kill_in_container(pattern):
    docker_exec(f"""for p in /proc/[0-9]*; do [ "${{p#/proc/}}" = $$ ] && continue; """
                f"""case "$(tr '\\0' ' ' <$p/cmdline 2>/dev/null)" in {pattern}) kill ${{p#/proc/}};; esac; done""")


watch = None
built = []  # dmp's build durations: the rule's trigger -> the worker's answer
try:
    if mode in ("sass-cli", "sass-js-watch") and not os.path.isdir(os.path.join(app_dir, "node_modules/sass")):
        # Installing it takes over node_modules/.bin/sass: given back to
        # sass-embedded, which the demo's commands mean.
        docker_exec("npm install --no-save --no-audit --no-fund sass@1.108.2 >/dev/null 2>&1 && "
                    "ln -sf ../sass-embedded/dist/bin/sass.js node_modules/.bin/sass")
    if mode in ("exec", "sass-cli"):
        stack = re.sub(r"\n      serve: dmp-sass-worker[^\n]*", "", original_stack)
        if mode == "sass-cli":
            stack = stack.replace("command: sass ", "command: node node_modules/sass/sass.js ", 1)
        open(stack_file, "w").write(stack)
    if mode in ("sass-watch", "sass-js-watch"):
        # node_modules/.bin/sass is sass-embedded's; the JS package's CLI is
        # its sass.js.
        command = SASS_WATCH if mode == "sass-watch" else SASS_WATCH.replace("sass-embedded/dist/bin/sass.js", "sass/sass.js", 1)
        docker_exec(command + " >/tmp/sass-watch.log 2>&1", detach=True)
        time.sleep(5)
    else:
        watch = subprocess.Popen([dmp, "-p", project, "watch", "--json", "--no-initial-build"], cwd=app_dir,
                                 stdout=subprocess.PIPE, text=True)
        ready = {}
        while ready.get("event") != "ready":
            ready = json.loads(watch.stdout.readline())
        def builds():
            for line in watch.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == "build":
                    built.append(event["duration_ms"])
        threading.Thread(target=builds, daemon=True).start()
        time.sleep(2)  # the workers load their compilers

    def fetch():
        # Tools that write in place (sass --watch) can be caught mid-write.
        try:
            return urllib.request.urlopen(url).read().decode()
        except Exception:
            return ""

    served = []
    nonce = time.time_ns()
    for i in range(saves + 1):
        marker = f".bench-{nonce}-{i}{{"
        with open(partial, "w") as f:
            f.write(original_partial + f"\n.bench-{nonce}-{i} {{ order: {i}; }}\n")
        t0 = time.monotonic()
        while marker not in fetch():
            if time.monotonic() - t0 > 30:
                sys.exit(f"{mode}: save {i} was not served within 30 s")
            time.sleep(0.002)
        if i > 0:  # the first save warms what there is to warm
            served.append((time.monotonic() - t0) * 1000)
        time.sleep(0.3)
finally:
    open(partial, "w").write(original_partial)
    open(stack_file, "w").write(original_stack)
    if watch:
        watch.terminate()
        watch.wait()
    if mode in ("sass-watch", "sass-js-watch"):
        kill_in_container("*sass*--watch*")


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


result = {"mode": mode, "saves": len(served), "p50": round(pct(served, 50)), "p90": round(pct(served, 90)),
          "p95": round(pct(served, 95)), "max": round(max(served))}
if built:  # the first save's build is left out, as its time is
    result["build_p50"] = round(pct(built[1:] or built, 50))
print(json.dumps(result))
