#!/usr/bin/env bash
# paper_compare.sh -- the paper's claims on real data (issue 2, "Results on real data").
#
# For each of the seven UCI sets in ../shared/datasets/uci (split 0, Nh from n_hidden.txt), runs
# `oigd train` for bp, oig-bp, hwo, oig-hwo and lm with the same seed (so the same initial weights:
# net control + OWO from one RNG stream) and the same iteration budget, once on standardized inputs
# and once on raw inputs (--no-standardize), and writes bench/results/paper_compare.md (final
# training MSE, multiplies, seconds, test RMSE next to the published RMSE, the claims checked per
# set) and bench/results/paper_<set>_<std|raw>.png (training MSE vs iteration and vs log10
# multiplies). Every run is reported, including failures and runs cut by the safety timeout.
#
#   bash bench/paper_compare.sh                      # full: NIT=200 iterations for every algorithm
#   bash bench/paper_compare.sh --smoke              # 3 iterations, small sets, output in bench/work/
#   options: --iterations NIT --sets "energy yacht" --seed S --oigd PATH --out DIR
#            --timeout S (per run safety cap, default 1800) --protein-hidden NH
# Environment: OIGD (binary, default build/oigd), BLAS_THREADS (default 2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
PY=/usr/bin/python3
OIGD=${OIGD:-$root/build/oigd}
NIT=200
SEED=1
SETS="bostonHousing concrete energy naval-propulsion-plant power-plant protein-tertiary-structure yacht"
OUT=$here/results
TIMEOUT=1800
PROTEIN_NH=""
SMOKE=0
BLAS_THREADS=${BLAS_THREADS:-2}
while (($#)); do
    case "$1" in
        --iterations) NIT=$2; shift 2 ;;
        --sets) SETS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --oigd) OIGD=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --protein-hidden) PROTEIN_NH=$2; shift 2 ;;
        --smoke) SMOKE=1; NIT=3; SETS="yacht energy"; OUT=$here/work/smoke; TIMEOUT=120; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

[ -x "$OIGD" ] || { echo "oigd binary not found at $OIGD (build it or set OIGD=)" >&2; exit 1; }
UCI=$($PY -c "import sys; sys.path.insert(0,'$here/lib'); import uci; print(uci.datasets_root())")/uci
RUN=$here/work/paper
mkdir -p "$RUN" "$OUT"
: > "$RUN/runs.tsv"

for set in $SETS; do
    d=$UCI/$set
    nh=$(tr -d ' \n\r' < "$d/n_hidden.txt")
    if [ "$set" = protein-tertiary-structure ] && [ -n "$PROTEIN_NH" ]; then nh=$PROTEIN_NH; fi
    feats=$(tr -s ' \t\r\n' ',' < "$d/index_features.txt" | sed 's/^,//; s/,$//')
    targ=$(tr -d ' \t\r\n' < "$d/index_target.txt")
    for scale in std raw; do
        extra=()
        [ "$scale" = raw ] && extra=(--no-standardize)
        for alg in bp oig-bp hwo oig-hwo lm; do
            dir=$RUN/$set/$scale
            mkdir -p "$dir"
            echo ">> $set $scale $alg (Nh=$nh, $NIT iterations)" >&2
            set +e
            /usr/bin/time -f "%e %M" -o "$dir/$alg.time" \
                timeout --kill-after=10 "$TIMEOUT" \
                "$OIGD" train --data "$d/data.txt" --format ws \
                    --input-columns "$feats" --target-columns "$targ" --task regression \
                    --algorithm "$alg" --hidden "$nh" --iterations "$NIT" --seed "$SEED" \
                    --train-index "$d/index_train_0.txt" --test-index "$d/index_test_0.txt" \
                    --blas-threads "$BLAS_THREADS" "${extra[@]}" \
                    --model-out "$dir/$alg.model.json" --metrics-out "$dir/$alg.csv" \
                    > "$dir/$alg.stdout" 2> "$dir/$alg.stderr"
            rc=$?
            set -e
            # Test predictions through `oigd predict` (cross-check of the metrics' test MSE).
            prc=skipped
            if [ $rc = 0 ] && [ -s "$dir/$alg.model.json" ]; then
                set +e
                timeout 300 "$OIGD" predict --model "$dir/$alg.model.json" --data "$d/data.txt" \
                    --out "$dir/$alg.pred.csv" > /dev/null 2> "$dir/$alg.pred.stderr"
                prc=$?
                set -e
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$set" "$scale" "$alg" "$nh" "$NIT" "$rc" \
                "$prc" "$dir" >> "$RUN/runs.tsv"
        done
    done
done

$PY "$here/lib/paper_report.py" --runs "$RUN/runs.tsv" --out "$OUT" --iterations "$NIT" \
    --seed "$SEED" --timeout "$TIMEOUT" --oigd "$OIGD"
echo "wrote $OUT/paper_compare.md" >&2
