#!/usr/bin/env bash
# run-all.sh -- runs every benchmark and writes bench/results/*.md (+ PNGs): machine.md, then
# paper_compare (issue 2 claims on the UCI sets), time_to_accuracy (peers), growth, gflops and
# serve_load (issue 4 measures 1-4), upload_memory (peak RSS of a large upload and of a job's
# start), long_requests (health checks while long requests run), lm_iteration (LM's seconds per
# iteration) and related_compare (the related methods). Each step runs under its own time cap and
# a failing step is recorded in bench/results/index.md without stopping the others. Needs an
# idle machine (hours).
#
#   bash bench/run-all.sh                  # everything, full budgets
#   bash bench/run-all.sh --smoke          # every script on tiny budgets, output in bench/work/smoke
#   bash bench/run-all.sh --only "growth gflops"
# Builds build/oigd with CMake (Release) when it is missing; peers must be installed
# (bash bench/install-peers.sh).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
export OIGD=${OIGD:-$root/build/oigd}
SMOKE=() OUT=$here/results
STEPS="paper peers growth gflops serve upload long lm related"
while (($#)); do
    case "$1" in
        --smoke) SMOKE=(--smoke); OUT=$here/work/smoke; shift ;;
        --only) STEPS=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
for step in $STEPS; do
    case " paper peers growth gflops serve upload long lm related " in
        *" $step "*) ;;
        *) echo "unknown step '$step' (steps: paper peers growth gflops serve upload long lm related)" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"
if [ ! -x "$OIGD" ]; then
    cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null &&
        cmake --build "$root/build" -j1 --target oigd > /dev/null || echo "oigd build failed" >&2
fi
{ echo "# Benchmark machine"; echo; /usr/bin/python3 "$here/lib/machine.py"
  echo "## OpenBLAS configuration"; echo; echo '```'
  update-alternatives --display libblas.so.3-x86_64-linux-gnu 2>&1 | sed 's/^/    /'
  echo '```'; } > "$OUT/machine.md"

declare -A CAP=([paper]=10800 [peers]=14400 [growth]=3600 [gflops]=1800 [serve]=900 [upload]=600 [long]=600
                [lm]=900 [related]=3600)
declare -A CMD=([paper]=paper_compare.sh [peers]=peers_compare.sh [growth]=growth.sh
                [gflops]=gflops.sh [serve]=serve_load.sh [upload]=upload_memory.sh
                [long]=long_requests.sh [lm]=lm_iteration.sh [related]=related_compare.sh)
declare -A MD=([paper]=paper_compare.md [peers]=time_to_accuracy.md [growth]=growth.md
               [gflops]=gflops.md [serve]=serve_load.md [upload]=upload_memory.md
               [long]=long_requests.md [lm]=lm_iteration.md [related]=related_compare.md)
{ echo "# Benchmark results"; echo; echo "Run $(date -u +%Y-%m-%dT%H:%MZ); machine: [machine.md](machine.md)"; echo
  echo "| step | script | exit | seconds | report |"; echo "|---|---|---|---|---|"; } > "$OUT/index.md.tmp"
for step in $STEPS; do
    t0=$(date +%s)
    echo "== $step" >&2
    timeout --kill-after=60 "${CAP[$step]}" bash "$here/${CMD[$step]}" "${SMOKE[@]}" \
        > "$OUT/$step.log" 2>&1
    rc=$?
    echo "| $step | bench/${CMD[$step]} | $rc$([ $rc = 124 ] && echo ' (time cap)') | $(( $(date +%s) - t0 )) | [${MD[$step]}](${MD[$step]}) |" >> "$OUT/index.md.tmp"
done
mv "$OUT/index.md.tmp" "$OUT/index.md"
echo "wrote $OUT/index.md" >&2
