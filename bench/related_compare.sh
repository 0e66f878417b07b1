#!/usr/bin/env bash
# related_compare.sh -- the related methods against oigd's own trainers and the external peers on
# the shared datasets, with the same splits and seeds for every method:
#   A. slnb vs OIG-HWO, LM, PyTorch Adam (mini-batch 64, lr by a holdout grid) and PyTorch L-BFGS
#      on UCI regression (split 0): test RMSE and time to the best peer's validation MSE;
#   B. osgd vs sgd on one width network (K = 3 exits): eta chosen by a grid on a validation split
#      of the training rows (on SGD's last exit, the same eta for both), then per-exit test error
#      and in-process prediction time per exit, three seeds, on breast_cancer, digits and energy;
#   C. ngmnn vs OIG-HWO, LM and a softmax MLP trained by L-BFGS (scikit-learn MLPClassifier,
#      solver lbfgs, log-loss): final test accuracy, macro-F1, training time;
#   D. unitary projection of the OIG-HWO classifiers (polar and lie, the OWO re-solve on the
#      training rows only), then iterations to the unprojected model's test error when fine-tuning
#      the projected model (`oigd train --init-model`, orthogonal and free) vs training orthogonal
#      from scratch.
# Writes bench/results/related_compare.md and PNG plots; scratch in bench/work/related/.
# About 4 minutes on 2 cores with one BLAS thread per run.
#
#   bash bench/related_compare.sh [--peer-budget SECONDS]   (default 8)
#   bash bench/related_compare.sh --smoke                     (1 s peer budgets, output in bench/work/smoke)
#   OIGD_BUILD=build-dir bash bench/related_compare.sh        (use an existing Release build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${OIGD_DATASETS:-$ROOT/../shared/datasets}
WORK=$ROOT/bench/work/related
OUT=$ROOT/bench/results
PY=/usr/bin/python3
PEER_BUDGET=8
while [ $# -gt 0 ]; do
  case $1 in
    --peer-budget) PEER_BUDGET=$2; shift 2 ;;
    --smoke) PEER_BUDGET=1; OUT=$ROOT/bench/work/smoke; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
rm -rf "$WORK"
mkdir -p "$WORK" "$OUT"
# OIGD_BUILD=DIR: use that (Release) build directory as it is; otherwise build one here
if [ -n "${OIGD_BUILD:-}" ]; then
  BUILD=$OIGD_BUILD
else
  BUILD=$ROOT/bench/work/build-related
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j2 --target oigd >/dev/null
fi
OIGD=$BUILD/oigd
# per-exit error and in-process prediction time, linked against the same build
cc -O2 -std=c11 -Wall -Wextra -o "$WORK/exit_timing" "$ROOT/bench/exit_timing.c" -I"$ROOT/engine" \
   -I"$ROOT/server" "$BUILD/liboigd_server.a" "$BUILD/liboigd_engine.a" \
   $(pkg-config --libs libcjson sqlite3 openblas lapacke) -lm -lpthread
T="timeout 120"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

# Splits. Classification: bench/lib/uci.py's seeded 80/20 split (the peers' --dataset split 0),
# as index files and CSVs of the test and training rows. For the eta grid of B: a seeded 80/20
# split of the training rows into fit/hold index files (the test rows are never used there).
$PY - "$DATA" "$WORK" "$ROOT/bench/lib" <<'PYEOF'
import sys, random, csv
data, work, lib = sys.argv[1:4]
sys.path.insert(0, lib)
import uci
def write_idx(path, idx):
    open(path, "w").write("\n".join(map(str, idx)) + "\n")
def subsplit(name, train):
    tr = list(train); random.Random(1).shuffle(tr)
    nh = round(0.2 * len(tr))
    write_idx(f"{work}/{name}_hold.txt", sorted(tr[:nh])); write_idx(f"{work}/{name}_fit.txt", sorted(tr[nh:]))
for name in ("breast_cancer", "digits"):
    rows = list(csv.reader(open(f"{data}/classification/{name}.csv")))
    hdr, body = rows[0], [r for r in rows[1:] if r]
    train, test = uci.class_split_indices(len(body), 0)
    write_idx(f"{work}/{name}_train.txt", train); write_idx(f"{work}/{name}_test.txt", test)
    for part, idx in (("test", test), ("train", train)):
        with open(f"{work}/{name}_{part}.csv", "w", newline="") as f:
            w = csv.writer(f); w.writerow(hdr); [w.writerow(body[i]) for i in idx]
    subsplit(name, train)
# energy (B's regression set): split 0's rows as CSVs of the model's inputs then its targets
d = f"{data}/uci/energy"
x = uci.read_ws(f"{d}/data.txt")
feat = [int(float(v)) for v in open(f"{d}/index_features.txt").read().split()]
targ = [int(float(v)) for v in open(f"{d}/index_target.txt").read().split()]
train = [int(float(v)) for v in open(f"{d}/index_train_0.txt").read().split()]
test = [int(float(v)) for v in open(f"{d}/index_test_0.txt").read().split()]
with open(f"{work}/energy_test.csv", "w") as f:
    f.write(",".join([f"x{j}" for j in feat] + [f"t{j}" for j in targ]) + "\n")
    for i in test:
        f.write(",".join("%.17g" % x[i, j] for j in feat + targ) + "\n")
subsplit("energy", train)
PYEOF

run() {  # name args...: train, keep metrics and the model
  local name=$1; shift
  $T "$OIGD" train "$@" --seed "${SEED:-1}" --blas-threads 1 --quiet --metrics-out "$WORK/$name.csv" \
      --model-out "$WORK/$name.json" || echo "run $name failed ($?)" >&2
}
peer() {  # name script args...: a Python peer with a trace, a summary and test predictions
  local name=$1 script=$2; shift 2
  timeout $((PEER_BUDGET * 4 + 120)) $PY "$ROOT/bench/peers/$script" "$@" --threads 1 --seed 1 \
      --trace "$WORK/$name.csv" --summary "$WORK/$name.json" --pred-out "$WORK/${name}_pred.csv" \
      > /dev/null || echo "peer $name failed ($?)" >&2
}

# ---- A: slnb vs OIG-HWO, LM, Adam, L-BFGS on UCI regression (split 0) ----
for ds in concrete energy yacht; do
  d=$DATA/uci/$ds
  tgt=$(tr -s ' \n' ',' < "$d/index_target.txt" | sed 's/,$//')
  common=(--data "$d/data.txt" --format ws --header no --target-columns "$tgt"
          --input-columns "$(tr -s ' \n' ',' < "$d/index_features.txt" | sed 's/,$//')"
          --train-index "$d/index_train_0.txt" --test-index "$d/index_test_0.txt" --hidden 20
          --max-seconds "$PEER_BUDGET")
  # every method gets the peers' wall budget; the iteration caps only bound the metrics files
  run "reg_${ds}_oig-hwo" "${common[@]}" --algorithm oig-hwo --iterations 20000
  run "reg_${ds}_lm" "${common[@]}" --algorithm lm --iterations 5000
  run "reg_${ds}_slnb" "${common[@]}" --algorithm slnb --iterations 200000
  peer "reg_${ds}_adam" torch_adam.py --dataset "$ds" --hidden 20 --batch 64 --budget "$PEER_BUDGET"
  peer "reg_${ds}_lbfgs" torch_lbfgs.py --dataset "$ds" --hidden 20 --budget "$PEER_BUDGET"
done

# ---- B: osgd vs sgd on one width network, 3 exits ----
ETAS="0.0003 0.001 0.003 0.01"
for ds in breast_cancer digits energy; do
  if [ "$ds" = energy ]; then
    d=$DATA/uci/energy
    src=(--data "$d/data.txt" --format ws --header no
         --target-columns "$(tr -s ' \n' ',' < "$d/index_target.txt" | sed 's/,$//')"
         --input-columns "$(tr -s ' \n' ',' < "$d/index_features.txt" | sed 's/,$//')")
    trainidx=$d/index_train_0.txt testidx=$d/index_test_0.txt
  else
    src=(--data "$DATA/classification/$ds.csv" --task classification)
    trainidx=$WORK/${ds}_train.txt testidx=$WORK/${ds}_test.txt
  fi
  net=(--hidden 32 --anytime width --exits 3 --iterations 100 --batch 64)
  for eta in $ETAS; do
    for alg in osgd sgd; do
      run "grid_${ds}_${alg}_$eta" "${src[@]}" "${net[@]}" --train-index "$WORK/${ds}_fit.txt" \
          --test-index "$WORK/${ds}_hold.txt" --algorithm $alg --eta "$eta"
    done
  done
  eta=$($PY - "$WORK" "$ds" "$ETAS" <<'PYEOF'
import csv, math, sys
work, ds, etas = sys.argv[1], sys.argv[2], sys.argv[3].split()
def score(eta):   # SGD's last-exit holdout error % (classification) or MSE, at the final epoch
    try:
        rows = list(csv.DictReader(open(f"{work}/grid_{ds}_sgd_{eta}.csv")))
        r = rows[-1]
        v2 = float(r["val_mse"])
        try:
            v = float(r["val_err"])
        except ValueError:
            v = math.nan
        if not math.isfinite(v):
            v = v2
        return (v, v2) if math.isfinite(v) and math.isfinite(v2) else (math.inf, math.inf)
    except Exception:
        return (math.inf, math.inf)
print(min(etas, key=score))
PYEOF
)
  echo "$ds $eta" >> "$WORK/eta_chosen.txt"
  for seed in 1 2 3; do
    for alg in osgd sgd; do
      SEED=$seed run "any_${ds}_${alg}_s$seed" "${src[@]}" "${net[@]}" --train-index "$trainidx" \
          --test-index "$testidx" --algorithm $alg --eta "$eta"
      "$WORK/exit_timing" "$WORK/any_${ds}_${alg}_s$seed.json" "$WORK/${ds}_test.csv" --min-seconds 0.3 \
          > "$WORK/any_${ds}_${alg}_s${seed}_exits.csv" || echo "exit timing $ds $alg failed" >&2
    done
  done
done

# ---- C: ngmnn vs OIG-HWO, LM and the L-BFGS softmax MLP on classification ----
for ds in breast_cancer digits; do
  common=(--data "$DATA/classification/$ds.csv" --task classification
          --train-index "$WORK/${ds}_train.txt" --test-index "$WORK/${ds}_test.txt" --hidden 32 --max-seconds 30)
  run "cls_${ds}_ngmnn" "${common[@]}" --algorithm ngmnn --iterations 50
  run "cls_${ds}_oig-hwo" "${common[@]}" --algorithm oig-hwo --iterations 50
  run "cls_${ds}_lm" "${common[@]}" --algorithm lm --iterations 30
  for m in ngmnn oig-hwo lm; do
    "$OIGD" predict --model "$WORK/cls_${ds}_$m.json" --data "$WORK/${ds}_test.csv" --blas-threads 1 \
        --out "$WORK/cls_${ds}_${m}_pred.csv" || echo "predict $ds $m failed" >&2
  done
  peer "cls_${ds}_sk-lbfgs" sklearn_mlp.py --dataset "$ds" --hidden 32 --variant lbfgs --budget $((PEER_BUDGET * 2))
done

# ---- D: unitary projection of the OIG-HWO classifiers; fine-tuning vs orthogonal from scratch ----
for ds in breast_cancer digits; do
  base=$WORK/cls_${ds}_oig-hwo.json
  "$OIGD" project --model "$base" --model-out "$WORK/proj_${ds}_raw.json" --no-reowo --quiet || true
  for meth in polar lie; do   # the OWO re-solve uses the training rows only
    "$OIGD" project --model "$base" --model-out "$WORK/proj_${ds}_$meth.json" --method $meth \
        --data "$WORK/${ds}_train.csv" > "$WORK/proj_${ds}_$meth.txt" || true
  done
  for v in raw polar lie; do
    "$OIGD" predict --model "$WORK/proj_${ds}_$v.json" --data "$WORK/${ds}_test.csv" --blas-threads 1 \
        --out "$WORK/proj_${ds}_${v}_pred.csv" || true
  done
  common=(--data "$DATA/classification/$ds.csv" --task classification
          --train-index "$WORK/${ds}_train.txt" --test-index "$WORK/${ds}_test.txt" --algorithm oig-hwo
          --iterations 50 --max-seconds 30)
  run "orth_${ds}_scratch" "${common[@]}" --hidden 32 --orthogonal-hidden polar
  run "orth_${ds}_ft" "${common[@]}" --init-model "$WORK/proj_${ds}_polar.json" --orthogonal-hidden polar
  run "orth_${ds}_ftfree" "${common[@]}" --init-model "$WORK/proj_${ds}_polar.json"
done

$PY "$ROOT/bench/lib/related_report.py" "$WORK" "$DATA" "$OUT" "$PEER_BUDGET"
echo "wrote $OUT/related_compare.md"
