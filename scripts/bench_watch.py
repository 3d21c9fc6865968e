#!/usr/bin/env python3
"""Watch benchmark for scripts/bench.sh: on a running demo stack, saves the
SCSS entry file N times and measures save -> compiled CSS on disk and save ->
new CSS served by nginx; the watcher's start-up on a tree with 20,000 extra
files; and the idle watcher's memory and CPU. Prints a Markdown section."""
import json, os, statistics, subprocess, sys, threading, time, urllib.request

dmp, app_dir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
saves = int(os.environ.get("SAVES", "50"))
entry = os.path.join(app_dir, "assets/scss/application.scss")
css = os.path.join(app_dir, "static/css/application.css")
url = f"http://127.0.0.1:{port}/static/css/application.css"

# A node_modules-sized tree the watcher must cope with.
for package in range(1000):
    directory = os.path.join(app_dir, "node_modules", f"package-{package}", "lib")
    os.makedirs(directory, exist_ok=True)
    for module in range(20):
        with open(os.path.join(directory, f"module-{module}.js"), "w") as f:
            f.write("module.exports = 1;\n")

started = time.monotonic()
project = ["-p", os.environ["PROJECT"]] if os.environ.get("PROJECT") else []
watch = subprocess.Popen([dmp, *project, "watch", "--json", "--no-initial-build"], cwd=app_dir,
                         stdout=subprocess.PIPE, text=True)
ready = {}
while ready.get("event") != "ready":
    ready = json.loads(watch.stdout.readline())
ready_ms = (time.monotonic() - started) * 1000
threading.Thread(target=lambda: [None for _ in watch.stdout], daemon=True).start()

original = open(entry).read()
disk, served = [], []
for i in range(saves):
    marker = f'.bench{{content:"{i}-{time.time_ns()}"}}'
    with open(entry, "w") as f:
        f.write(original + "\n" + marker + "\n")
    t0 = time.monotonic()
    while marker not in open(css).read():
        if time.monotonic() - t0 > 10:
            sys.exit(f"save {i}: the CSS did not change within 10 s")
        time.sleep(0.002)
    disk.append((time.monotonic() - t0) * 1000)
    while marker not in urllib.request.urlopen(url).read().decode():
        time.sleep(0.002)
    served.append((time.monotonic() - t0) * 1000)
    time.sleep(0.3)
with open(entry, "w") as f:
    f.write(original)

time.sleep(3)
def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
before = cpu_ticks(watch.pid)
time.sleep(10)
idle_cpu = (cpu_ticks(watch.pid) - before) / os.sysconf("SC_CLK_TCK") / 10 * 100
rss_kib = next(int(line.split()[1]) for line in open(f"/proc/{watch.pid}/status") if line.startswith("VmRSS"))
watch.terminate()

def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

print(f"""## `dmp watch`

The demo app (`examples/demo`) with 20,000 extra files in `node_modules`
(1,000 directories); the SCSS entry file saved {saves} times, 300 ms apart.
Release build, inotify.

| measure | p50 | p95 | max |
|---|---|---|---|
| save → compiled CSS changed on disk | {pct(disk, 50):.0f} ms | {pct(disk, 95):.0f} ms | {max(disk):.0f} ms |
| save → new CSS served by nginx | {pct(served, 50):.0f} ms | {pct(served, 95):.0f} ms | {max(served):.0f} ms |

| measure | value |
|---|---|
| start to watching (20,000-file tree) | {ready_ms:.0f} ms |
| idle memory (RSS) | {rss_kib / 1024:.1f} MiB |
| idle CPU (10 s average) | {idle_cpu:.2f} % |
""")
