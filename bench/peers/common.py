"""common.py -- what every Python peer trainer shares: options, a pausable training clock, the
trace writer and the final summary.

The clock counts training work only. Trace points (train and test MSE on the original target
scale) are taken at geometrically spaced training times with the clock paused, so evaluation never
counts as training time; the whole run still stops within about budget + evaluation time.
Peer networks: one hidden layer (tanh by default), linear outputs, no bypass (input-to-output)
weights, inputs standardized on the training rows; targets standardized on the training rows for
training (regression) and mapped back for every reported error.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import uci  # noqa: E402


class BudgetExceeded(Exception):
    """Raised from inside an optimizer's callback when the training budget is spent."""


def base_parser(desc):
    ap = argparse.ArgumentParser(description=desc)
    uci.add_data_args(ap)
    ap.add_argument("--hidden", type=int, help="hidden units (default: the set's n_hidden.txt)")
    ap.add_argument("--budget", type=float, default=10.0, help="training wall seconds")
    ap.add_argument("--threads", type=int, default=2, help="BLAS / intra-op threads")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--activation", default="tanh", choices=["tanh", "sigmoid"])
    ap.add_argument("--trace", help="trace CSV to write (seconds,train_mse,val_mse[,train_err,val_err])")
    ap.add_argument("--summary", help="JSON summary to write (also printed on stdout)")
    ap.add_argument("--first-trace", type=float, default=0.01, help="first trace time (s)")
    ap.add_argument("--trace-factor", type=float, default=1.08, help="geometric spacing of trace times")
    ap.add_argument("--pred-out", help="CSV of the final model's test-row predictions (classification: "
                    "the predicted label; regression: the outputs on the original scale)")
    return ap


def set_blas_threads(n):
    """Must run before numpy is first used for heavy work; env vars are read at library load, so
    the bench scripts also export them. threadpoolctl (if present) adjusts a running process."""
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(v, str(n))
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(int(os.environ["OPENBLAS_NUM_THREADS"]), user_api="blas")
    except Exception:
        pass


class Clock:
    """Accumulates training time between start() and stop()."""

    def __init__(self):
        self.total = 0.0
        self.t0 = None

    def start(self):
        self.t0 = time.perf_counter()

    def stop(self):
        if self.t0 is not None:
            self.total += time.perf_counter() - self.t0
            self.t0 = None

    def now(self):
        return self.total + (time.perf_counter() - self.t0 if self.t0 is not None else 0.0)


def _tanh_or_sig(a, act):
    return np.tanh(a) if act == "tanh" else 1.0 / (1.0 + np.exp(-a))


def forward(params, x, act):
    """y = act(x W1 + b1) W2 + b2 for params (W1 N x Nh, b1 Nh, W2 Nh x M, b2 M), in numpy."""
    w1, b1, w2, b2 = params
    return _tanh_or_sig(x @ w1 + b1, act) @ w2 + b2


class Tracer:
    """Takes trace points with the clock paused. predict(x) must return outputs on the training
    (possibly standardized-target) scale; tmu/tsd map them back to the original scale."""

    def __init__(self, split, clock, args, tmu, tsd):
        self.s, self.clock, self.a = split, clock, args
        self.tmu, self.tsd = tmu, tsd
        self.rows = []
        self.next_t = args.first_trace
        self.budget = args.budget
        self.cls = split.task == "classification"
        # rows go to the file as they are taken, so a run killed by an outer timeout keeps its trace
        self.f = open(args.trace, "w") if args.trace else None
        if self.f:
            self.f.write("seconds,train_mse,val_mse" + (",train_err,val_err" if self.cls else "") + "\n")
            self.f.flush()

    def _add(self, row):
        self.rows.append(row)
        if self.f:
            self.f.write(",".join("%.7g" % v for v in row) + "\n")
            self.f.flush()

    def orig(self, y):
        return y * self.tsd + self.tmu

    def evaluate(self, predict):
        ytr = self.orig(predict(self.s.xtr))
        yte = self.orig(predict(self.s.xte))
        row = [uci.mse(ytr, self.s.ttr), uci.mse(yte, self.s.tte)]
        if self.cls:
            row += [uci.err_pct(ytr, self.s.ctr), uci.err_pct(yte, self.s.cte)]
        return row, yte

    def due(self):
        return self.clock.now() >= self.next_t

    def over(self):
        return self.clock.now() >= self.budget

    def point(self, predict, force=False):
        """Record a point if one is due (or forced). Returns True when the budget is spent."""
        t = self.clock.now()
        if force or t >= self.next_t:
            self.clock.stop()
            row, _ = self.evaluate(predict)
            self._add([t] + row)
            while self.next_t <= t:
                self.next_t *= self.a.trace_factor
            self.clock.start()
        return t >= self.budget

    def finish(self, predict, tool, extra=None):
        self.clock.stop()
        t = self.clock.now()
        row, yte = self.evaluate(predict)
        if not self.rows or self.rows[-1][0] < t:
            self._add([t] + row)
        if self.f:
            self.f.close()
        if getattr(self.a, "pred_out", None):
            with open(self.a.pred_out, "w") as f:
                if self.cls:
                    f.write("class\n")
                    for c in np.argmax(yte, axis=1):
                        f.write("%s\n" % self.s.labels[int(c)])
                else:
                    f.write(",".join("y%d" % i for i in range(yte.shape[1])) + "\n")
                    for yrow in yte:
                        f.write(",".join("%.10g" % v for v in yrow) + "\n")
        best = min(self.rows, key=lambda r: r[2])
        summ = {
            "tool": tool, "dataset": self.s.name, "split": getattr(self.a, "split", 0),
            "hidden": self.a.hidden, "seed": self.a.seed, "activation": self.a.activation,
            "bypass_weights": False, "budget_s": self.budget, "trained_s": round(t, 4),
            "threads": self.a.threads,
            "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "final_train_mse": row[0], "final_val_mse": row[1],
            "test_rmse": float(np.sqrt(row[1])),
            "best_val_mse": best[2], "best_val_at_s": round(best[0], 4),
        }
        if self.cls:
            summ.update(final_train_err=row[2], final_val_err=row[3])
        if extra:
            summ.update(extra)
        js = json.dumps(summ)
        if self.a.summary:
            with open(self.a.summary, "w") as f:
                f.write(js + "\n")
        print(js)
        return summ


def setup(args):
    """Load the split, fill in the hidden width and return (split, tmu, tsd, ttr_scaled)."""
    s = uci.load_from_args(args)
    if args.hidden is None:
        args.hidden = s.hidden or 50
    tmu, tsd = s.target_stats()
    return s, tmu, tsd, (s.ttr - tmu) / tsd


def init_params(rng, n, nh, m, act):
    """Glorot-uniform input weights, zero biases, small output weights (the frameworks' usual init)."""
    lim1 = np.sqrt(6.0 / (n + nh)) * (4.0 if act == "sigmoid" else 1.0)
    lim2 = np.sqrt(6.0 / (nh + m))
    return [rng.uniform(-lim1, lim1, (n, nh)), np.zeros(nh),
            rng.uniform(-lim2, lim2, (nh, m)), np.zeros(m)]
