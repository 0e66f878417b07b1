#!/usr/bin/env bash
# related_compare.sh -- the related methods against oigd's own trainers on the shared datasets:
# slnb vs OIG-HWO and LM (regression), osgd vs sgd on one K-exit network (every exit), ngmnn vs
# OIG-HWO and LM (classification), and the unitary projection (polar vs lie, re-OWO, training
# orthogonal from scratch). Same splits and seeds for every method. Writes
# bench/results/related_compare.md and PNG plots; scratch in bench/work/related/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${OIGD_DATASETS:-$ROOT/../shared/datasets}
WORK=$ROOT/bench/work/related
OUT=$ROOT/bench/results
PY=/usr/bin/python3
mkdir -p "$WORK" "$OUT"
BUILD=$ROOT/bench/work/build-related
if [ ! -x "$BUILD/oigd" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target oigd >/dev/null
fi
OIGD=$BUILD/oigd
T="timeout 120"
export OPENBLAS_NUM_THREADS=1

# classification splits: 70/30 by a seeded shuffle, written once as index files and test CSVs
$PY - "$DATA" "$WORK" <<'PYEOF'
import sys, random, csv
data, work = sys.argv[1], sys.argv[2]
for name in ("breast_cancer", "digits"):
    rows = list(csv.reader(open(f"{data}/classification/{name}.csv")))
    hdr, body = rows[0], rows[1:]
    idx = list(range(len(body))); random.Random(1).shuffle(idx)
    ntest = round(0.3 * len(body)); test, train = sorted(idx[:ntest]), sorted(idx[ntest:])
    open(f"{work}/{name}_train.txt", "w").write("\n".join(map(str, train)) + "\n")
    open(f"{work}/{name}_test.txt", "w").write("\n".join(map(str, test)) + "\n")
    with open(f"{work}/{name}_test.csv", "w", newline="") as f:
        w = csv.writer(f); w.writerow(hdr); [w.writerow(body[i]) for i in test]
PYEOF

run() {  # name args...: train, keep metrics and the model, record wall seconds
  local name=$1; shift
  local t0=$(date +%s.%N)
  $T "$OIGD" train "$@" --seed 1 --blas-threads 1 --quiet --metrics-out "$WORK/$name.csv" \
      --model-out "$WORK/$name.json" || echo "run $name failed ($?)" >&2
  local t1=$(date +%s.%N)
  echo "$name $(echo "$t1 - $t0" | bc)" >> "$WORK/wall.txt"
}
: > "$WORK/wall.txt"

# ---- A: slnb vs OIG-HWO and LM on UCI regression (split 0) ----
for ds in concrete energy yacht; do
  d=$DATA/uci/$ds
  tgt=$(cat "$d/index_target.txt")
  common=(--data "$d/data.txt" --format ws --header no --target-columns "$tgt"
          --train-index "$d/index_train_0.txt" --test-index "$d/index_test_0.txt" --hidden 20 --max-seconds 20)
  run "reg_${ds}_oig-hwo" "${common[@]}" --algorithm oig-hwo --iterations 100
  run "reg_${ds}_lm" "${common[@]}" --algorithm lm --iterations 50
  run "reg_${ds}_slnb" "${common[@]}" --algorithm slnb --iterations 300
done

# ---- B: osgd vs sgd on one width network, 3 exits ----
for ds in breast_cancer digits; do
  common=(--data "$DATA/classification/$ds.csv" --task classification
          --train-index "$WORK/${ds}_train.txt" --test-index "$WORK/${ds}_test.txt"
          --hidden 32 --anytime width --exits 3 --iterations 60 --eta 0.01 --batch 64)
  run "any_${ds}_osgd" "${common[@]}" --algorithm osgd
  run "any_${ds}_sgd" "${common[@]}" --algorithm sgd
  for alg in osgd sgd; do
    for k in 1 2 3; do
      t0=$(date +%s.%N)
      for r in 1 2 3 4 5; do "$OIGD" predict --model "$WORK/any_${ds}_${alg}.json" --data "$WORK/${ds}_test.csv" \
          --exit $k --blas-threads 1 --out "$WORK/any_${ds}_${alg}_exit$k.csv"; done
      t1=$(date +%s.%N)
      echo "any_${ds}_${alg}_exit$k $(echo "($t1 - $t0)/5" | bc -l)" >> "$WORK/wall.txt"
    done
  done
done

# ---- C: ngmnn vs OIG-HWO and LM on classification ----
for ds in breast_cancer digits; do
  common=(--data "$DATA/classification/$ds.csv" --task classification
          --train-index "$WORK/${ds}_train.txt" --test-index "$WORK/${ds}_test.txt" --hidden 32 --max-seconds 30)
  run "cls_${ds}_ngmnn" "${common[@]}" --algorithm ngmnn --iterations 50
  run "cls_${ds}_oig-hwo" "${common[@]}" --algorithm oig-hwo --iterations 50
  run "cls_${ds}_lm" "${common[@]}" --algorithm lm --iterations 30
  for m in ngmnn oig-hwo lm; do
    "$OIGD" predict --model "$WORK/cls_${ds}_$m.json" --data "$WORK/${ds}_test.csv" --blas-threads 1 \
        --out "$WORK/cls_${ds}_${m}_pred.csv"
  done
done

# ---- D: unitary projection of the OIG-HWO classifiers; orthogonal training from scratch ----
for ds in breast_cancer digits; do
  for meth in polar lie; do
    "$OIGD" project --model "$WORK/cls_${ds}_oig-hwo.json" --model-out "$WORK/proj_${ds}_$meth.json" \
        --method $meth --data "$WORK/${ds}_test.csv" > "$WORK/proj_${ds}_$meth.txt" || true
  done
  run "orth_${ds}_oig-hwo" --data "$DATA/classification/$ds.csv" --task classification \
      --train-index "$WORK/${ds}_train.txt" --test-index "$WORK/${ds}_test.txt" --hidden 32 \
      --algorithm oig-hwo --iterations 50 --orthogonal-hidden polar --max-seconds 30
done

$PY "$ROOT/bench/lib/related_report.py" "$WORK" "$DATA" "$OUT"
echo "wrote $OUT/related_compare.md"
