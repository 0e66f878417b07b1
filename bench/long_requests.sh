#!/usr/bin/env bash
# long_requests.sh -- how long a health check waits while the daemon serves a long request.
#
# Starts `oigd serve --http-threads 1` (the default on 2 cores with one worker) on a free loopback
# port with a temporary database in bench/work/long, uploads a synthetic CSV (bench/gen_synth.c,
# NV rows x 20 inputs, about 60 MB at the default 300,000 rows) and trains a 5-iteration model on
# it. Then, for each long request -- the upload again, POST /v1/models/{id}/evaluate and
# /project on the dataset, GET /v1/datasets/{id}/data -- it sends GET /healthz every 10 ms while
# the request runs and records each probe's latency. RUNS runs per request; the table gives the
# request's median seconds and, over all probes of its runs, the median and the largest probe
# latency. Writes bench/results/long_requests.md (OUT to change the directory).
#
#   bash bench/long_requests.sh            # 300,000 rows, 3 runs (about 1 min)
#   bash bench/long_requests.sh --smoke    # 20,000 rows, 1 run, output in bench/work/smoke
# Environment: OIGD (default build/oigd), NV, RUNS, OUT.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
OIGD=${OIGD:-$root/build/oigd}
NV=${NV:-300000}
RUNS=${RUNS:-3}
OUT=${OUT:-$here/results}
if [ "${1:-}" = --smoke ]; then NV=20000; RUNS=1; OUT=$here/work/smoke; fi
[ -x "$OIGD" ] || { echo "oigd binary not found at $OIGD" >&2; exit 1; }
. "$here/lib/daemon.sh"
W=$here/work/long
rm -rf "$W"; mkdir -p "$W" "$OUT"
cc -O2 -std=c11 -o "$here/work/gen_synth" "$here/gen_synth.c" -lm
"$here/work/gen_synth" --rows "$NV" --inputs 20 --outputs 1 --seed 1 --format csv --out "$W/synth.csv"

trap 'set +e; daemon_stop' EXIT
trap 'exit 130' INT TERM
daemon_start "$W/serve.log" --db "$W/oigd.db" --workers 1 --blas-threads 1 --http-threads 1 \
    --max-body 1000000000 --max-rows 10000000

DS=$(curl -s -X POST -H 'Content-Type: text/csv' --data-binary "@$W/synth.csv" "$BASE/v1/datasets?name=synth" | jq -r .id)
[ -n "$DS" ] && [ "$DS" != null ] || { echo "dataset upload failed" >&2; exit 1; }
printf '{"dataset_id":"%s","algorithm":"oig-hwo","hidden_units":20,"max_iterations":5,"seed":1}' "$DS" > "$W/job.json"
JOB=$(curl -s -X POST -H 'Content-Type: application/json' --data-binary "@$W/job.json" "$BASE/v1/jobs" | jq -r .id)
MODEL=null
for _ in $(seq 1 1500); do
    MODEL=$(curl -s "$BASE/v1/jobs/$JOB" | jq -r .model_id)
    [ "$MODEL" != null ] && break
    sleep 0.2
done
[ "$MODEL" != null ] || { echo "the job made no model" >&2; exit 1; }
printf '{"dataset_id":"%s"}' "$DS" > "$W/on_dataset.json"
/usr/bin/python3 "$here/lib/machine.py" > "$W/machine.md"

/usr/bin/python3 - "$BASE" "$W" "$DS" "$MODEL" "$RUNS" "$NV" "$OUT/long_requests.md" "$OIGD" <<'PY'
import json, os, statistics, subprocess, sys, threading, time, urllib.request
base, w, ds, model, runs, nv, out, oigd = sys.argv[1:9]
runs = int(runs)
requests = [
    ("upload (POST /v1/datasets, %s rows of CSV)" % nv,
     ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: text/csv",
      "--data-binary", "@%s/synth.csv" % w, base + "/v1/datasets?name=again"], "201"),
    ("evaluate (POST /v1/models/{id}/evaluate)",
     ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: application/json",
      "--data-binary", "@%s/on_dataset.json" % w, base + "/v1/models/%s/evaluate" % model], "200"),
    ("project (POST /v1/models/{id}/project)",
     ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: application/json",
      "--data-binary", "@%s/on_dataset.json" % w, base + "/v1/models/%s/project" % model], "201"),
    ("export (GET /v1/datasets/{id}/data)",
     ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", base + "/v1/datasets/%s/data" % ds], "200"),
]

def probe_during(cmd):
    lat, stop = [], threading.Event()
    def run():
        while not stop.is_set():
            t = time.perf_counter()
            urllib.request.urlopen(base + "/healthz", timeout=60).read()
            lat.append(time.perf_counter() - t)
            time.sleep(0.01)
    th = threading.Thread(target=run)
    th.start()
    t = time.perf_counter()
    code = subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    took = time.perf_counter() - t
    stop.set()
    th.join()
    return code, took, lat

rows = []
for name, cmd, want in requests:
    took, lat = [], []
    for _ in range(runs):
        code, t, l = probe_during(cmd)
        if code != want:
            sys.exit("%s answered %s, not %s" % (name, code, want))
        took.append(t)
        lat += l
    rows.append((name, statistics.median(took), len(lat), 1e3 * statistics.median(lat), 1e3 * max(lat)))

with open(out, "w") as f:
    f.write("# Health checks during long requests\n\n")
    f.write(open(w + "/machine.md").read())
    f.write("## Setup\n\n`bash bench/long_requests.sh` with OIGD=%s: `oigd serve --http-threads 1 --workers 1`, "
            "nothing training, a synthetic CSV of %s rows x 20 inputs + 1 target (bench/gen_synth.c) and a "
            "5-iteration OIG-HWO model (Nh 20) on it. GET /healthz every 10 ms while each request runs, "
            "%d run%s each.\n\n" % (oigd, nv, runs, "" if runs == 1 else "s"))
    f.write("| request | its seconds (median) | probes | probe latency median (ms) | probe latency max (ms) |\n")
    f.write("|---|---|---|---|---|\n")
    for name, t, n, med, mx in rows:
        f.write("| %s | %.2f | %d | %.1f | %.1f |\n" % (name, t, n, med, mx))
    f.write("\nThe changes behind these figures, with the numbers before and after: "
            "[serve_optimizations.md](serve_optimizations.md).\n")
for name, t, n, med, mx in rows:
    print("%-48s %6.2f s  probes %4d  median %6.1f ms  max %7.1f ms" % (name, t, n, med, mx))
print("wrote", out)
PY
