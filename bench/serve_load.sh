#!/usr/bin/env bash
# serve_load.sh -- issue 4, measure 4: the daemon under load while one job trains.
#
# Starts `oigd serve` on 127.0.0.1 (a free port, a temporary database in bench/work/serve), uploads a
# synthetic data set (bench/gen_synth.c), trains a small job to get a model, then starts a long
# OIG-HWO job and, while it runs, drives with wrk (64 connections, all on loopback):
#   GET  /v1/jobs/{id}
#   POST /v1/models/{id}/predict  with 1 row, then with 100 rows
# reporting req/s, p50/p99/max latency and errors (socket errors + non-2xx), and the job's
# iterations during the load. Each endpoint runs RUNS times for each wrk thread count in
# WRK_THREADS; the table gives medians and the p99's range. Cancels the job and stops the daemon
# (SIGTERM, then SIGKILL after 10 s) on every exit path. Writes bench/results/serve_load.md.
# Note: wrk shares the 2 cores with the daemon; with -t2 its two threads compete with the two
# HTTP threads and the training thread, with -t1 it takes at most one core.
#
#   bash bench/serve_load.sh              # 10 s per wrk run, 3 runs, wrk -t2 and -t1 (about 4 min)
#   bash bench/serve_load.sh --smoke      # 2 s per run, 1 run, output in bench/work/smoke
# Environment: OIGD (default build/oigd), DURATION (s per wrk run), RUNS (3), WRK_THREADS ("2 1"),
# CONNS (64), PORT (default: a free one), TRAIN_NICE (the daemon's --train-nice, default 10 as the
# daemon's own default), TRAIN_SCHED (the daemon's --train-sched, default batch as the daemon's own
# default), HTTP_THREADS (the daemon's --http-threads; default: the daemon's own, the cores the worker leaves),
# OUT (report directory).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
OIGD=${OIGD:-$root/build/oigd}
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
WRK_THREADS=${WRK_THREADS:-2 1}
CONNS=${CONNS:-64}
OUT=${OUT:-$here/results}
TRAIN_NICE=${TRAIN_NICE:-10}
TRAIN_SCHED=${TRAIN_SCHED:-batch}
HTTP_THREADS=${HTTP_THREADS:-}
NV=100000 N=20
if [ "${1:-}" = --smoke ]; then DURATION=2; RUNS=1; OUT=$here/work/smoke; NV=5000; fi
[ -x "$OIGD" ] || { echo "oigd binary not found at $OIGD" >&2; exit 1; }
. "$here/lib/daemon.sh"
W=$here/work/serve
rm -rf "$W"; mkdir -p "$W" "$OUT"
cc -O2 -std=c11 -o "$here/work/gen_synth" "$here/gen_synth.c" -lm
"$here/work/gen_synth" --rows "$NV" --inputs "$N" --outputs 1 --seed 1 --format csv --out "$W/synth.csv"

JOB=""
cleanup() {
    set +e
    if [ -n "$JOB" ] && [ -n "$DAEMON_PID" ]; then
        curl -s -m 5 -X POST "$BASE/v1/jobs/$JOB/cancel" > /dev/null
    fi
    daemon_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

daemon_start "$W/serve.log" --db "$W/oigd.db" --workers 1 --blas-threads 1 \
    --train-nice "$TRAIN_NICE" --train-sched "$TRAIN_SCHED" ${HTTP_THREADS:+--http-threads "$HTTP_THREADS"}

api() {   # METHOD PATH [BODY-FILE CONTENT-TYPE] -> body on stdout
    if [ $# -ge 4 ]; then
        curl -s -m 60 -X "$1" -H "Content-Type: $4" --data-binary "@$3" "$BASE$2"
    else
        curl -s -m 30 -X "$1" "$BASE$2"
    fi
}
wait_job() {   # ID TIMEOUT_S -> final status
    local st=""
    for _ in $(seq 1 $(($2 * 5))); do
        st=$(api GET "/v1/jobs/$1" | jq -r .status)
        case "$st" in succeeded|failed|cancelled) break ;; esac
        sleep 0.2
    done
    echo "$st"
}

DS=$(api POST "/v1/datasets?name=synth&format=csv&outputs=1&task=regression" "$W/synth.csv" text/csv | tee "$W/dataset.json" | jq -r .id)
[ -n "$DS" ] && [ "$DS" != null ] || { echo "dataset upload failed: $(cat "$W/dataset.json")" >&2; exit 1; }
printf '{"dataset_id":"%s","algorithm":"oig-hwo","hidden_units":20,"max_iterations":5,"seed":1,"validation_fraction":0.1}' "$DS" > "$W/job_small.json"
J1=$(api POST /v1/jobs "$W/job_small.json" application/json | jq -r .id)
st=$(wait_job "$J1" 300)
MODEL=$(api GET "/v1/jobs/$J1" | tee "$W/job_small_final.json" | jq -r .model_id)
[ "$st" = succeeded ] && [ -n "$MODEL" ] && [ "$MODEL" != null ] || { echo "small job ended '$st' without a model" >&2; exit 1; }

TOTAL=$((3 * RUNS * $(echo $WRK_THREADS | wc -w) * (DURATION + 2) + 60))
printf '{"dataset_id":"%s","algorithm":"oig-hwo","hidden_units":50,"max_iterations":1000000,"seed":2,"validation_fraction":0.1,"max_seconds":%d}' "$DS" "$TOTAL" > "$W/job_long.json"
JOB=$(api POST /v1/jobs "$W/job_long.json" application/json | jq -r .id)
for _ in $(seq 1 150); do
    [ "$(api GET "/v1/jobs/$JOB" | jq -r .status)" = running ] && break; sleep 0.2
done

# request bodies: 1 row and 100 rows of N inputs
/usr/bin/python3 - "$W" "$N" <<'PY'
import json, random, sys
w, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
for k in (1, 100):
    rows = [[round(rnd.uniform(-1.7, 1.7), 6) for _ in range(n)] for _ in range(k)]
    open("%s/predict_%d.json" % (w, k), "w").write(json.dumps({"inputs": rows}))
PY
DONE_LUA='
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("{\"requests\":%d,\"duration_us\":%d,\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d,\"p50_us\":%d,\"p99_us\":%d,\"max_us\":%d}\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end'
printf '%s\n' "$DONE_LUA" > "$W/get.lua"
for k in 1 100; do
    { printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
      printf 'local f = io.open("%s/predict_%d.json"); wrk.body = f:read("*a"); f:close()\n' "$W" "$k"
      printf '%s\n' "$DONE_LUA"; } > "$W/predict_$k.lua"
done
api POST "/v1/models/$MODEL/predict" "$W/predict_1.json" application/json > "$W/predict_check.json"

: > "$W/wrk.tsv"
run_wrk() {   # NAME URL LUA THREADS RUN
    local it0 it1
    it0=$(api GET "/v1/jobs/$JOB" | jq -r '.iteration // 0')
    timeout $((DURATION + 30)) wrk -t"$4" -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency \
        -s "$3" "$2" > "$W/wrk_$1_t$4_$5.txt" 2>&1 || true
    it1=$(api GET "/v1/jobs/$JOB" | jq -r '.iteration // 0')
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$4" "$(grep '^{' "$W/wrk_$1_t$4_$5.txt" | tail -1)" "$it0" "$it1" >> "$W/wrk.tsv"
    echo ">> $1 -t$4 run $5: $(grep '^{' "$W/wrk_$1_t$4_$5.txt" | tail -1)" >&2
}
for t in $WRK_THREADS; do
    for r in $(seq 1 "$RUNS"); do
        run_wrk get_job "$BASE/v1/jobs/$JOB" "$W/get.lua" "$t" "$r"
        run_wrk predict_1 "$BASE/v1/models/$MODEL/predict" "$W/predict_1.lua" "$t" "$r"
        run_wrk predict_100 "$BASE/v1/models/$MODEL/predict" "$W/predict_100.lua" "$t" "$r"
    done
done
JOB_STATE=$(api GET "/v1/jobs/$JOB")

/usr/bin/python3 - "$W" "$OUT" "$CONNS" "$DURATION" "$NV" "$N" "$JOB_STATE" "$TRAIN_NICE" "$RUNS" "$TRAIN_SCHED" "$HTTP_THREADS" <<'PY'
import json, os, statistics, sys
W, OUT, conns, dur, nv, n, job, nice, runs, sched, http = sys.argv[1:]
start_line = next((l.strip() for l in open(os.path.join(W, "serve.log")) if "HTTP thread" in l), "(no start line)")
sys.path.insert(0, os.path.join(W, "..", "..", "lib"))
import machine
L = ["# Serving under load (issue 4, measure 4)", "", machine.describe(os.path.join(W, "..", "..", "..")),
     "## Setup", "",
     "`oigd serve --workers 1 --blas-threads 1 --train-nice %s --train-sched %s%s` on 127.0.0.1 (it logs `%s`); "
     "wrk -c%s -d%ss --timeout 5s "
     "on the same 2 cores, with 2 load threads (-t2) and with 1 (-t1). While each wrk run goes, one OIG-HWO "
     "job (Nh=50) trains on a synthetic set of %s rows x %s inputs. Each row is the median of %s runs "
     "(the p99 column also gives the runs' range). Errors = wrk socket errors "
     "(connect/read/write/timeout) + non-2xx responses, summed over the runs."
     % (nice, sched, " --http-threads " + http if http else "", start_line, conns, dur, nv, n, runs),
     "", "| endpoint | wrk threads | req/s | p50 ms | p99 ms (range) | max ms | errors | requests | job iterations per run |",
     "|---|---|---|---|---|---|---|---|---|"]
rows, order = {}, []
for line in open(os.path.join(W, "wrk.tsv")):
    name, t, js, it0, it1 = (line.rstrip("\n").split("\t") + ["", "", "", ""])[:5]
    key = (name, t)
    if key not in rows:
        rows[key] = []
        order.append(key)
    try:
        d = json.loads(js)
    except ValueError:
        d = None
    try:
        dit = int(float(it1)) - int(float(it0))
    except ValueError:
        dit = None
    rows[key].append((d, dit))
for key in order:
    name, t = key
    ok = [d for d, _ in rows[key] if d and d["duration_us"]]
    if len(ok) < len(rows[key]):
        L.append("| %s | %s | %d of %d runs produced no wrk summary (bench/work/serve/wrk_%s_t%s_*.txt) | | | | | | |"
                 % (name, t, len(rows[key]) - len(ok), len(rows[key]), name, t))
    if not ok:
        continue
    med = statistics.median
    rps = med([d["requests"] / (d["duration_us"] / 1e6) for d in ok])
    p99 = [d["p99_us"] / 1e3 for d in ok]
    errs = sum(d["connect"] + d["read"] + d["write"] + d["timeout"] + d["status"] for d in ok)
    its = [str(i) for _, i in rows[key] if i is not None]
    L.append("| %s | %s | %.0f | %.2f | %.2f (%.2f-%.2f) | %.1f | %d | %d | %s |" % (
        name, t, rps, med([d["p50_us"] / 1e3 for d in ok]), med(p99), min(p99), max(p99),
        max(d["max_us"] for d in ok) / 1e3, errs, sum(d["requests"] for d in ok), ", ".join(its) or "n/a"))
L += ["", "Goal (issue 4): single-row predict >= 20k req/s, p99 < 5 ms at 64 connections while a job trains, 0 errors.",
      "", "Long job at the end of the load: `%s`" % job.replace("`", "'")[:600], ""]
open(os.path.join(OUT, "serve_load.md"), "w").write("\n".join(L))
PY
echo "wrote $OUT/serve_load.md" >&2
