#!/usr/bin/python3
"""fann_rprop.py -- runs the FANN RPROP peer (fann_rprop.c) with the same options as the other
peers: writes the split (standardized inputs, training-scale targets) for the C driver, builds the
driver with cc into bench/work/ when it is missing or older than its source, runs it for the budget
and prints its summary merged with the common fields. FANN trains on one thread.

    /usr/bin/python3 bench/peers/fann_rprop.py --dataset energy --budget 10 --trace t.csv
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(os.path.dirname(HERE), "work")
SRC = os.path.join(HERE, "fann_rprop.c")
BIN = os.path.join(WORK, "fann_rprop")


def build():
    os.makedirs(WORK, exist_ok=True)
    if not os.path.exists(BIN) or os.path.getmtime(BIN) < os.path.getmtime(SRC):
        subprocess.check_call(["cc", "-O2", "-std=c11", "-Wall", "-o", BIN, SRC, "-ldoublefann", "-lm"])
    return BIN


def main():
    ap = common.base_parser(__doc__)
    a = ap.parse_args()
    s, tmu, tsd, ttr_s = common.setup(a)
    cls = s.task == "classification"
    exe = build()
    path = os.path.join(WORK, "fann_%s_%d_%d.dat" % (s.name, a.split, os.getpid()))
    with open(path, "w") as f:
        f.write("%d %d %d %d %d\n" % (len(s.xtr), len(s.xte), s.n, s.m, int(cls)))
        f.write(" ".join("%.17g" % v for v in tmu) + "\n")
        f.write(" ".join("%.17g" % v for v in tsd) + "\n")
        np.savetxt(f, np.hstack([s.xtr, ttr_s]), fmt="%.17g")
        np.savetxt(f, np.hstack([s.xte, (s.tte - tmu) / tsd]), fmt="%.17g")
    trace = a.trace or os.path.join(WORK, "fann_trace_%d.csv" % os.getpid())
    try:
        out = subprocess.run([exe, path, str(a.hidden), str(a.budget), str(a.seed), trace],
                             check=True, capture_output=True, text=True,
                             timeout=a.budget * 3 + 120).stdout
    finally:
        os.unlink(path)
    summ = json.loads(out.strip().splitlines()[-1])
    rows = np.loadtxt(trace, delimiter=",", skiprows=1, ndmin=2)
    best = rows[np.argmin(rows[:, 2])]
    summ.update({"dataset": s.name, "split": a.split, "hidden": a.hidden, "seed": a.seed,
                 "activation": "tanh (FANN_SIGMOID_SYMMETRIC, steepness 0.5)",
                 "bypass_weights": False, "budget_s": a.budget,
                 "best_val_mse": float(best[2]), "best_val_at_s": float(best[0]),
                 "target_standardized": not cls})
    if not cls:
        summ.pop("final_train_err", None)
        summ.pop("final_val_err", None)
    js = json.dumps(summ)
    if a.summary:
        with open(a.summary, "w") as f:
            f.write(js + "\n")
    print(js)


if __name__ == "__main__":
    main()
