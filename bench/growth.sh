#!/usr/bin/env bash
# growth.sh -- issue 4, measure 2: how oigd's OIG-HWO cost grows with the data and the net.
#
# Seconds per iteration (from the metrics' `seconds`, first iteration excluded, so start-up, loading
# and the initial OWO are not counted) on synthetic data from bench/gen_synth.c:
#   - Nv = 1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6 rows at N=20, Nh=30, M=2;
#   - N = 10, 20, 50, 100, 200 at Nv=1e5, Nh=30, M=2;
#   - Nh = 10, 20, 50, 100, 200 at Nv=1e5, N=20, M=2;
# with fitted log-log slopes (all points, and Nv >= 1e4 for the Nv sweep), and peak RSS
# (/usr/bin/time -v) against the dataset's bytes (Nv*(N+M)*8, the float64 payload) and file size.
# Writes bench/results/growth.md and growth_nv.png, growth_n.png, growth_nh.png, growth_rss.png.
#
#   bash bench/growth.sh                 # full (minutes; idle machine)
#   bash bench/growth.sh --smoke         # tiny sizes, output in bench/work/smoke
# Environment: OIGD (default build/oigd), ITERS (default 6), TIMEOUT per run (900), REPS (runs per
# point, default 3: the report gives the median seconds per iteration and the largest peak RSS),
# THREADS (oigd's thread options, default "--threads 2": two training threads of one BLAS thread
# each, what `oigd train` picks by itself from 1,024 training rows up; "--blas-threads 2" gives
# both cores to BLAS instead, 2.4x slower per iteration at 3e5 rows on this machine, and erratic
# from run to run).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
OIGD=${OIGD:-$root/build/oigd}
ITERS=${ITERS:-6}
THREADS=${THREADS:---threads 2}
TIMEOUT=${TIMEOUT:-900}
REPS=${REPS:-3}
OUT=$here/results
NVS="1000 3000 10000 30000 100000 300000 1000000"
NS="10 20 50 100 200"
NHS="10 20 50 100 200"
BASE_NV=100000
if [ "${1:-}" = --smoke ]; then
    OUT=$here/work/smoke; NVS="600 1000 2000"; NS="5 10"; NHS="5 10"; BASE_NV=1000; ITERS=3; REPS=1
fi
[ -x "$OIGD" ] || { echo "oigd binary not found at $OIGD" >&2; exit 1; }
W=$here/work/growth
mkdir -p "$W" "$OUT"
cc -O2 -std=c11 -o "$here/work/gen_synth" "$here/gen_synth.c" -lm
RES=$W/results.tsv
printf 'sweep\tnv\tn\tnh\tm\trc\titers\tsec_per_iter\trss_kb\tdata_bytes\tfile_bytes\twall\n' > "$RES"

run_one() {   # sweep nv n nh m
    local sweep=$1 nv=$2 n=$3 nh=$4 m=$5
    local f=$W/synth_${nv}_${n}_${m}.txt
    if [ ! -s "$f" ]; then
        "$here/work/gen_synth" --rows "$nv" --inputs "$n" --outputs "$m" --seed 1 --format ws \
            --out "$f" --index-prefix "${f%.txt}"
    fi
    local inputs targets
    inputs=$(seq -s, 0 $((n - 1)))
    targets=$(seq -s, "$n" $((n + m - 1)))
    local tag=${sweep}_${nv}_${n}_${nh}_${m}
    local rc=0 rss="" wall="" spis="" its=0 r
    for r in $(seq 1 "$REPS"); do
        set +e
        /usr/bin/time -v -o "$W/$tag.$r.time" timeout --kill-after=10 "$TIMEOUT" \
            "$OIGD" train --data "$f" --format ws --input-columns "$inputs" --target-columns "$targets" \
            --task regression --algorithm oig-hwo --hidden "$nh" --iterations "$ITERS" --seed 1 \
            --train-index "${f%.txt}_train.txt" --test-index "${f%.txt}_test.txt" \
            $THREADS --metrics-out "$W/$tag.$r.csv" > /dev/null 2> "$W/$tag.$r.stderr"
        local rc_r=$?
        set -e
        [ "$rc_r" -ne 0 ] && rc=$rc_r
        local rss_r spi_r
        rss_r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/$tag.$r.time" 2>/dev/null || echo "")
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$W/$tag.$r.time" 2>/dev/null || echo "")
        [ -n "$rss_r" ] && { [ -z "$rss" ] || [ "$rss_r" -gt "$rss" ]; } && rss=$rss_r
        read -r its spi_r < <(/usr/bin/python3 - "$W/$tag.$r.csv" <<'PY'
import csv, sys
try:
    rows = list(csv.DictReader(open(sys.argv[1])))
    rows = [r for r in rows if float(r["iteration"]) >= 1]
    if len(rows) >= 2:
        print(len(rows), (float(rows[-1]["seconds"]) - float(rows[0]["seconds"])) /
              (float(rows[-1]["iteration"]) - float(rows[0]["iteration"])))
    else:
        print(len(rows), "nan")
except Exception:
    print(0, "nan")
PY
)
        spis="$spis $spi_r"
    done
    local spi
    spi=$(/usr/bin/python3 -c 'import statistics, sys; print(statistics.median(float(v) for v in sys.argv[1:]))' $spis)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sweep" "$nv" "$n" "$nh" "$m" "$rc" \
        "$its" "$spi" "${rss:-}" $((nv * (n + m) * 8)) "$(stat -c %s "$f")" "${wall:-}" >> "$RES"
    echo ">> $tag rc=$rc s/iter=$spi (runs:$spis) rss_kb=$rss" >&2
}

for nv in $NVS; do run_one nv "$nv" 20 30 2; done
for n in $NS; do run_one n "$BASE_NV" "$n" 30 2; done
for nh in $NHS; do run_one nh "$BASE_NV" 20 "$nh" 2; done
# the large synthetic files are scratch: keep only the small ones
find "$W" -name 'synth_*' -size +50M -delete

/usr/bin/python3 "$here/lib/growth_report.py" "$RES" "$OUT" "$ITERS" "$THREADS" "$REPS"
echo "wrote $OUT/growth.md" >&2
