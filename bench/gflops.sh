#!/usr/bin/env bash
# gflops.sh -- issue 4, measure 3 (and issue 2's "Speed"): achieved GFLOP/s of one OIG-HWO iteration
# at Nv=1e5, N=100, Nh=100, M=10 (synthetic, bench/gen_synth.c) against this machine's dgemm rate
# measured in the same run (bench/dgemm_rate.c on OpenBLAS: 1000^3, and the engine-like shapes
# 1e5x100x100 and a 1e5x111 dsyrk), before and after the training runs, on 1 and 2 threads. The
# iteration runs once per configuration of RUNS (default "blas1 blas2 threads2": one BLAS thread,
# the daemon's default per job; two BLAS threads; two training threads of one BLAS thread each,
# `--threads 2`, the daemon's --train-threads 2) and is compared with dgemm on as many threads.
# GFLOP/s of the iteration = 2 x (multiplies per iteration, from the metrics' cumulative
# `multiplies`, spec section 8; one multiply ~ one multiply-add) / seconds per iteration.
# Writes bench/results/gflops.md, keeping its hand-written "## Optimizations" section.
#
#   bash bench/gflops.sh            # full (about two minutes on an idle machine)
#   bash bench/gflops.sh --smoke    # Nv=2000, N=10, Nh=10, M=2, output in bench/work/smoke
# Environment: OIGD (default build/oigd), ITERS (default 6), RUNS (default "blas1 blas2 threads2").
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
OIGD=${OIGD:-$root/build/oigd}
ITERS=${ITERS:-6}
RUNS=${RUNS:-blas1 blas2 threads2}
NV=100000 N=100 NH=100 M=10 OUT=$here/results MINS=1
if [ "${1:-}" = --smoke ]; then NV=2000 N=10 NH=10 M=2 OUT=$here/work/smoke ITERS=3 MINS=0.1; fi
[ -x "$OIGD" ] || { echo "oigd binary not found at $OIGD" >&2; exit 1; }
W=$here/work/gflops
mkdir -p "$W" "$OUT"
cc -O2 -std=c11 -o "$here/work/gen_synth" "$here/gen_synth.c" -lm
cc -O2 -std=c11 -o "$here/work/dgemm_rate" "$here/dgemm_rate.c" \
    -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas
f=$W/synth_${NV}_${N}_${M}.txt
[ -s "$f" ] || "$here/work/gen_synth" --rows "$NV" --inputs "$N" --outputs "$M" --seed 1 \
    --format ws --out "$f" --index-prefix "${f%.txt}"

shapes=(gemm 1000x1000x1000 gemm "${NV}x${NH}x$((N + 1))" gemm "$((N + 1))x${NH}x${NV}"
        syrk "${NV}x$((N + 1 + NH))")
dg() { OPENBLAS_NUM_THREADS=$1 timeout 300 "$here/work/dgemm_rate" --min-seconds "$MINS" "${shapes[@]}"; }
dg 1 > "$W/dgemm_before_1.jsonl"
dg 2 > "$W/dgemm_before_2.jsonl"
rc=0
set +e
for run in $RUNS; do
    case $run in
        blas[0-9]*) threads=(--blas-threads "${run#blas}") ;;
        threads[0-9]*) threads=(--threads "${run#threads}" --blas-threads 1) ;;
        *) echo "unknown run $run (blasN or threadsN)" >&2; exit 2 ;;
    esac
    timeout --kill-after=10 1200 "$OIGD" train --data "$f" --format ws \
        --input-columns "$(seq -s, 0 $((N - 1)))" --target-columns "$(seq -s, "$N" $((N + M - 1)))" \
        --task regression --algorithm oig-hwo --hidden "$NH" --iterations "$ITERS" --seed 1 \
        --train-index "${f%.txt}_train.txt" --test-index "${f%.txt}_test.txt" \
        "${threads[@]}" --metrics-out "$W/oighwo_$run.csv" > /dev/null 2> "$W/oighwo_$run.stderr" || rc=$?
done
set -e
dg 2 > "$W/dgemm_after_2.jsonl"

/usr/bin/python3 - "$W" "$OUT" "$rc" "$NV" "$N" "$NH" "$M" "$RUNS" "$ITERS" <<'PY'
import csv, json, os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "..", "lib"))
W, OUT, rc, nv, n, nh, m, thr, iters = sys.argv[1:]
sys.path.insert(0, os.path.join(W, "..", "..", "lib"))
import machine
L = ["# GFLOP/s of one OIG-HWO iteration against dgemm (issue 4, measure 3)", "",
     machine.describe(os.path.join(W, "..", "..", "..")), "## Setup", "",
     "Nv=%s (90%% train rows), N=%s, Nh=%s, M=%s, synthetic data, %s iterations, runs: %s "
     "(blasK: K BLAS threads; threadsK: `--threads K`, K training threads of one BLAS thread each). "
     "GFLOP/s = 2 x multiplies per iteration / seconds per iteration (iteration 1 excluded); the "
     "fraction is against the best dgemm 1000^3 rate on as many threads in this run."
     % (nv, n, nh, m, iters, ", ".join(thr.split())), ""]
L += ["## dgemm / dsyrk rate measured in this run", "",
      "| when | threads | kernel | shape | GFLOP/s |", "|---|---|---|---|---|"]
rates = {}
for tag in ("before_1", "before_2", "after_2"):
    p = os.path.join(W, "dgemm_%s.jsonl" % tag)
    for line in open(p) if os.path.exists(p) else []:
        d = json.loads(line)
        shape = "%dx%dx%d" % (d["m"], d["n"], d["k"]) if d["kernel"] == "dgemm" else "%dx%d" % (d["rows"], d["cols"])
        L.append("| %s | %s | %s | %s | %.1f |" % (tag.split("_")[0], d["threads"], d["kernel"], shape, d["gflops"]))
        rates.setdefault((d["threads"], d["kernel"], shape), []).append(d["gflops"])
L.append("")
L += ["## OIG-HWO iteration", "",
      "| run | threads | exit | s/iteration | multiplies/iteration | GFLOP/s | dgemm 1000^3 on as many threads | fraction |",
      "|---|---|---|---|---|---|---|---|"]
notes = []
for run in thr.split():
    t = re.sub(r"^\D+", "", run)   # blas2 -> 2, threads2 -> 2
    spi = mpi = None
    try:
        rows = [r for r in csv.DictReader(open(os.path.join(W, "oighwo_%s.csv" % run))) if float(r["iteration"]) >= 1]
        a, b = rows[0], rows[-1]
        di = float(b["iteration"]) - float(a["iteration"])
        spi = (float(b["seconds"]) - float(a["seconds"])) / di
        mpi = (float(b["multiplies"]) - float(a["multiplies"])) / di
    except Exception as e:
        notes.append("Could not read the OIG-HWO metrics of run %s (exit code %s): %s" % (run, rc, e))
    if spi and mpi:
        gf = 2 * mpi / spi / 1e9
        ref = rates.get((t, "dgemm", "1000x1000x1000"), [])
        ref = max(ref) if ref else None
        L.append("| %s | %s | %s | %.4g | %.4g | %.1f | %s | %s |" % (run, t, rc, spi, mpi, gf, "%.1f" % ref if ref else "n/a",
                                                           "%.0f%%" % (100 * gf / ref) if ref else "n/a"))
L += [""] + notes + ["Goal (issue 4): >= 60% of the measured dgemm rate."]
# the hand-written "## Optimizations" section (what changed, before/after) survives a re-run
report = os.path.join(OUT, "gflops.md")
kept = ""
if os.path.exists(report):
    old = open(report).read()
    if "\n## Optimizations" in old:
        kept = old[old.index("\n## Optimizations"):]
with open(report, "w") as f:
    f.write("\n".join(L) + "\n" + kept)
PY
echo "wrote $OUT/gflops.md" >&2
