#!/usr/bin/env bash
# lm_iteration.sh -- seconds per iteration of oigd's Levenberg-Marquardt on the small UCI sets,
# with and without Bayesian regularization and single-precision J^T J, optionally against a
# second build in the same run.
#
# For each set (split 0, Nh from n_hidden.txt, sigmad 1, seed 1, one BLAS thread) and each variant
# (lm = --lm-update gain; lm-bayes adds --lm-regularization bayesian; lm-mixed adds
# --lm-precision mixed; lm-bayes-mixed both), `oigd train --iterations ITERS` runs RUNS times; a
# run's seconds per iteration = (seconds at the last iteration - seconds at iteration 1) /
# (ITERS - 1), from its metrics; it includes the iteration's rejected trials, so it depends on the
# run's path as well as on the sizes. With OIGD_BEFORE set, that build runs too, each of its runs
# right before the same run of OIGD, and the table gives both medians and before / after.
# Writes bench/results/lm_iteration.md (OUT to change the directory).
#
#   bash bench/lm_iteration.sh                              # 5 runs of 100 iterations (about 3 min)
#   OIGD_BEFORE=/path/to/old/oigd bash bench/lm_iteration.sh
#   bash bench/lm_iteration.sh --smoke                      # 1 run of 10 iterations, bench/work/smoke
# Environment: OIGD (default build/oigd), OIGD_BEFORE, SETS, RUNS, ITERS, OUT.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
OIGD=${OIGD:-$root/build/oigd}
OIGD_BEFORE=${OIGD_BEFORE:-}
SETS=${SETS:-yacht energy concrete bostonHousing}
RUNS=${RUNS:-5}
ITERS=${ITERS:-100}
OUT=${OUT:-$here/results}
if [ "${1:-}" = --smoke ]; then RUNS=1; ITERS=10; OUT=$here/work/smoke; fi
DATA=${OIGD_DATASETS:-$root/../shared/datasets}/uci
[ -x "$OIGD" ] || { echo "oigd binary not found at $OIGD" >&2; exit 1; }
[ -z "$OIGD_BEFORE" ] || [ -x "$OIGD_BEFORE" ] || { echo "no oigd at OIGD_BEFORE=$OIGD_BEFORE" >&2; exit 1; }
W=$here/work/lm_iteration
rm -rf "$W"; mkdir -p "$W" "$OUT"
export OPENBLAS_NUM_THREADS=1

run() {   # run BINARY SET VARIANT RUN -> prints seconds per iteration
    local bin=$1 set=$2 variant=$3 k=$4 d=$DATA/$2 extra=()
    case $variant in
    lm-bayes) extra=(--lm-regularization bayesian) ;;
    lm-mixed) extra=(--lm-precision mixed) ;;
    lm-bayes-mixed) extra=(--lm-regularization bayesian --lm-precision mixed) ;;
    esac
    local m=$W/$set.$variant.$k.csv
    "$bin" train --data "$d/data.txt" --format ws \
        --input-columns "$(tr -s ' \n' ',' < "$d/index_features.txt" | sed 's/^,//; s/,$//')" \
        --target-columns "$(tr -d ' \n' < "$d/index_target.txt")" --task regression \
        --train-index "$d/index_train_0.txt" --test-index "$d/index_test_0.txt" \
        --hidden "$(tr -d ' \n' < "$d/n_hidden.txt")" --algorithm lm --lm-update gain "${extra[@]}" \
        --iterations "$ITERS" --seed 1 --sigmad 1 --threads 1 --blas-threads 1 --metrics-out "$m" >/dev/null
    awk -F, -v n="$ITERS" 'NR > 1 && $1 == 1 { t1 = $7 } NR > 1 && $1 == n { tn = $7 }
        END { if (tn == "" || t1 == "") exit 1; printf "%.6g\n", (tn - t1) / (n - 1) }' "$m"
}

: > "$W/times.tsv"
for set in $SETS; do
    [ -f "$DATA/$set/data.txt" ] || { echo "no data for $set under $DATA" >&2; exit 1; }
    for variant in lm lm-bayes lm-mixed lm-bayes-mixed; do
        for k in $(seq 1 "$RUNS"); do
            before=""
            [ -z "$OIGD_BEFORE" ] || before=$(run "$OIGD_BEFORE" "$set" "$variant" "b$k")
            after=$(run "$OIGD" "$set" "$variant" "a$k")
            printf '%s\t%s\t%s\t%s\n' "$set" "$variant" "$before" "$after" >> "$W/times.tsv"
        done
        echo ">> $set $variant done" >&2
    done
done

/usr/bin/python3 - "$W/times.tsv" "$OUT/lm_iteration.md" "$OIGD" "$OIGD_BEFORE" "$RUNS" "$ITERS" "$root" <<'PY'
import os, statistics, sys
sys.path.insert(0, sys.argv[7] + "/bench/lib")
import machine
tsv, out, oigd, before, runs, iters, root = sys.argv[1:8]
rows = {}
for line in open(tsv):
    s, v, b, a = line.rstrip("\n").split("\t")
    r = rows.setdefault((s, v), ([], []))
    if b:
        r[0].append(float(b))
    r[1].append(float(a))
L = ["# Seconds per iteration of oigd's Levenberg-Marquardt", "", machine.describe(root), "## Setup", "",
     "- `oigd train --algorithm lm --lm-update gain`, split 0, Nh from `n_hidden.txt`, sigmad 1, seed 1, "
     "`--threads 1 --blas-threads 1`, %s iterations; seconds per iteration = (seconds at the last iteration - "
     "seconds at iteration 1) / (iterations - 1), from the run's metrics; medians of %s runs (range)." % (iters, runs),
     "- Variants: `lm-bayes` adds `--lm-regularization bayesian`, `lm-mixed` `--lm-precision mixed`, "
     "`lm-bayes-mixed` both.",
     "- An iteration's time includes its rejected trials (each another Cholesky factorization and forward "
     "pass) and, with `lm-bayes`, the evidence after an accepted step, so it depends on the run's path as well "
     "as on the sizes: the variants follow different paths from the same start.",
     "- %s: `%s`." % ("After" if before else "Binary", os.path.relpath(oigd, root))]
if before:
    L.append("- Before: `%s`; each of its runs right before the same run after." % os.path.relpath(before, root))
L += ["", "| set | variant | before ms | after ms | before / after |" if before else "| set | variant | ms |",
      "|---|---|---|---|---|" if before else "|---|---|---|"]
def ms(xs):
    return "%.2f (%.2f-%.2f)" % (1e3 * statistics.median(xs), 1e3 * min(xs), 1e3 * max(xs))
for (s, v), (b, a) in rows.items():
    if before:
        L.append("| %s | %s | %s | %s | %.2f |" % (s, v, ms(b), ms(a), statistics.median(b) / statistics.median(a)))
    else:
        L.append("| %s | %s | %s |" % (s, v, ms(a)))
open(out, "w").write("\n".join(L) + "\n")
print("wrote " + out, file=sys.stderr)
PY
