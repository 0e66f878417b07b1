#!/usr/bin/env bash
# upload_memory.sh -- the daemon's peak memory for one large dataset: its upload, then the start
# of a job on it.
#
# Makes a synthetic CSV (bench/gen_synth.c, ROWS x 10 inputs + 1 target, about 57 MB at the
# default 550,000 rows), starts `oigd serve` on a temporary database in bench/work/upload, and
# reads the process's peak RSS (VmHWM) when idle, after `POST /v1/datasets` of the file, and, in a
# second daemon on the same database, after a 1-iteration job on it (loading the dataset is the
# job's largest allocation). Each figure is the median of RUNS daemons. Writes
# bench/results/upload_memory.md (the machine and the table) and prints the table; OIGD=/path/to/oigd
# measures another build, so that two builds can be compared in one sitting.
#
#   bash bench/upload_memory.sh            # 550,000 rows, 3 runs (about 30 s)
#   bash bench/upload_memory.sh --smoke    # 20,000 rows, 1 run, output in bench/work/smoke
# Environment: OIGD (default build/oigd), ROWS, RUNS, OUT (report directory).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
OIGD=${OIGD:-$root/build/oigd}
ROWS=${ROWS:-550000}
RUNS=${RUNS:-3}
OUT=${OUT:-$here/results}
if [ "${1:-}" = --smoke ]; then ROWS=20000; RUNS=1; OUT=$here/work/smoke; fi
[ -x "$OIGD" ] || { echo "oigd binary not found at $OIGD" >&2; exit 1; }
W=$here/work/upload
mkdir -p "$W" "$OUT"
cc -O2 -std=c11 -o "$here/work/gen_synth" "$here/gen_synth.c" -lm
csv=$W/synth_$ROWS.csv
[ -s "$csv" ] || "$here/work/gen_synth" --rows "$ROWS" --inputs 10 --outputs 1 --seed 1 --format csv --out "$csv"
. "$here/lib/daemon.sh"
trap 'daemon_stop' EXIT
start() { daemon_start "$W/serve.log" --db "$W/oigd.db" --workers 1 --blas-threads 1; }
stop() { daemon_stop; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$DAEMON_PID/status"; }
field() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

idle=() upload=() job=()
for _ in $(seq 1 "$RUNS"); do
    rm -f "$W"/oigd.db*
    start
    idle+=("$(hwm)")
    ds=$(curl -sf -H 'Content-Type: text/csv' --data-binary @"$csv" "$BASE/v1/datasets?name=synth" | field id)
    upload+=("$(hwm)")
    stop
    start
    id=$(curl -sf -H 'Content-Type: application/json' \
        -d "{\"dataset_id\":\"$ds\",\"hidden_units\":2,\"max_iterations\":1}" "$BASE/v1/jobs" | field id)
    for _ in $(seq 1 600); do
        status=$(curl -sf "$BASE/v1/jobs/$id" | field status)
        case $status in succeeded|failed|cancelled) break ;; esac
        sleep 0.1
    done
    [ "$status" = succeeded ] || { echo "the job ended $status" >&2; exit 1; }
    job+=("$(hwm)")
    stop
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
bytes=$(stat -c %s "$csv")
table=$(
    echo "| rows | CSV MiB | payload MiB (doubles) | idle peak RSS MiB | after the upload | after a job's start | runs |"
    echo "|---|---|---|---|---|---|---|"
    echo "| $ROWS | $(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}') | $(awk -v r="$ROWS" 'BEGIN {printf "%.1f", r * 11 * 8 / 1048576}') | $(mb "$(median "${idle[@]}")") | $(mb "$(median "${upload[@]}")") | $(mb "$(median "${job[@]}")") | $RUNS |"
)
{
    echo "# Peak memory of one large upload and of a job's start"
    echo
    /usr/bin/python3 "$here/lib/machine.py"
    echo "## Setup"
    echo
    echo "\`bash bench/upload_memory.sh\` with OIGD=$OIGD: a synthetic CSV of $ROWS rows x 10 inputs + 1 target"
    echo "(bench/gen_synth.c), uploaded to \`oigd serve --workers 1 --blas-threads 1\` on a new database;"
    echo "peak RSS (VmHWM) of the daemon idle and after the upload, then of a second daemon on the"
    echo "same database after a 1-iteration job on the dataset. Medians of $RUNS runs."
    echo
    echo "$table"
    echo
    echo "The changes behind these figures, with the numbers before and after: [memory.md](memory.md)."
} > "$OUT/upload_memory.md"
echo "$table"
