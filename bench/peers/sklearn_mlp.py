#!/usr/bin/python3
"""sklearn_mlp.py -- scikit-learn peer: MLPRegressor (regression) or MLPClassifier (classification)
with one hidden layer (tanh by default, linear outputs, no bypass weights), for a wall-clock
budget, writing a trace of train/test MSE (and error %) on the original target scale.

Variants (--variant):
  lbfgs          solver='lbfgs', max_iter/max_fun raised and tol=0 so it runs until the budget
                 (the defaults stop it at 200 iterations);
  adam-default   solver='adam' with scikit-learn's defaults (max_iter=200, tol=1e-4,
                 n_iter_no_change=10, batch_size=min(200, n), learning_rate_init=1e-3): it usually
                 stops on its tolerance long before it converges, and that is what is reported;
  adam-patient   solver='adam', n_iter_no_change and max_iter raised to 10**6 so only the budget
                 stops it.
alpha (L2) stays at its default 1e-4 in every variant. The trace hooks the estimator's own loop:
L-BFGS through its loss/gradient function (trace points use the best point evaluated so far, which
is the accepted iterate of a monotone line search), Adam at the end of each epoch. The budget stops
training from inside those hooks. MLPClassifier trains on log-loss; its trace MSE is that of
2p-1 against the +1/-1 coded targets, next to the error % that is its real measure.

    /usr/bin/python3 bench/peers/sklearn_mlp.py --dataset energy --variant lbfgs --budget 10 --trace t.csv
"""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import numpy as np  # noqa: E402


def make_estimator(base, clock, hook_state):
    """A subclass of base whose inner loops report to hook_state['tracer'] and honour the budget."""

    class Traced(base):
        def _loss_grad_lbfgs(self, packed, X, y, *rest):
            tr = hook_state["tracer"]
            loss, grad = super()._loss_grad_lbfgs(packed, X, y, *rest)
            hook_state["nfev"] += 1
            if loss < hook_state["best_loss"]:
                hook_state["best_loss"] = loss
                hook_state["best_x"] = packed.copy()
            if tr.due() or tr.over():
                cur = packed.copy()
                self._unpack(hook_state["best_x"])
                over = tr.point(hook_state["predict"])
                self._unpack(cur)
                if over:
                    raise common.BudgetExceeded()
            return loss, grad

        def _update_no_improvement_count(self, early_stopping, X_val, y_val):
            super()._update_no_improvement_count(early_stopping, X_val, y_val)
            tr = hook_state["tracer"]
            if tr.due() or tr.over():
                if tr.point(hook_state["predict"]):
                    raise common.BudgetExceeded()

    return Traced


def main():
    ap = common.base_parser(__doc__)
    ap.add_argument("--variant", default="lbfgs", choices=["lbfgs", "adam-default", "adam-patient"])
    a = ap.parse_args()
    common.set_blas_threads(a.threads)
    import sklearn
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    s, tmu, tsd, ttr_s = common.setup(a)
    cls = s.task == "classification"
    act = "tanh" if a.activation == "tanh" else "logistic"
    kw = dict(hidden_layer_sizes=(a.hidden,), activation=act, random_state=a.seed)
    if a.variant == "lbfgs":
        kw.update(solver="lbfgs", max_iter=10**9, max_fun=10**9, tol=0.0)
    elif a.variant == "adam-default":
        kw.update(solver="adam")
    else:
        kw.update(solver="adam", max_iter=10**6, n_iter_no_change=10**6)
    clock = common.Clock()
    hook = {"nfev": 0, "best_loss": np.inf, "best_x": None}
    est = make_estimator(MLPClassifier if cls else MLPRegressor, clock, hook)(**kw)

    if cls:
        def predict(xx):
            return 2.0 * est.predict_proba(xx) - 1.0
        yfit = s.ctr
    else:
        def predict(xx):
            return est.predict(xx).reshape(len(xx), -1)
        yfit = ttr_s if s.m > 1 else ttr_s.ravel()
    tracer = common.Tracer(s, clock, a, tmu, tsd)
    hook.update(tracer=tracer, predict=predict)
    stopped = "converged/own stopping rule"
    clock.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est.fit(s.xtr, yfit)
        except common.BudgetExceeded:
            stopped = "budget"
            if a.variant == "lbfgs" and hook["best_x"] is not None:
                est._unpack(hook["best_x"])
    clock.stop()
    tracer.finish(predict, "sklearn-" + a.variant, {
        "variant": a.variant, "stopped": stopped, "epochs_or_iters": int(getattr(est, "n_iter_", 0) or 0),
        "function_evals": hook["nfev"], "alpha": est.alpha, "sklearn_version": sklearn.__version__,
        "loss": "log-loss" if cls else "squared error",
        "target_standardized": not cls})


if __name__ == "__main__":
    main()
