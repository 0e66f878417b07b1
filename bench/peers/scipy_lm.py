#!/usr/bin/python3
"""scipy_lm.py -- SciPy peer: scipy.optimize.least_squares(method='lm') (MINPACK's
Levenberg-Marquardt, lmder) over all weights of a 1-hidden-layer net (tanh by default, linear
outputs, no bypass weights), with an analytic Jacobian, for a wall-clock budget; writes a trace of
train/test MSE on the original target scale.

max_nfev is raised so that the budget (or MINPACK's own ftol/xtol/gtol = 1e-8 tests) ends the run.
Residuals and Jacobian are evaluated by the wrapper, which keeps the lowest-error point evaluated so
far (LM only accepts decreasing steps, so that is its current iterate), takes trace points with the
clock paused, and stops the solver when the budget is spent. Initial weights: Glorot-uniform from
--seed. The Jacobian is (Ntr*M) x Nw doubles: protein at Nh=100 needs ~370 MB.

    /usr/bin/python3 bench/peers/scipy_lm.py --dataset energy --budget 10 --trace t.csv
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import numpy as np  # noqa: E402


class Net:
    """Packs (W1 N x Nh, b1 Nh, W2 Nh x M, b2 M) into one vector, in that order."""

    def __init__(self, n, nh, m, act):
        self.n, self.nh, self.m, self.act = n, nh, m, act
        self.sizes = [n * nh, nh, nh * m, m]
        self.nw = sum(self.sizes)

    def unpack(self, w):
        n, nh, m = self.n, self.nh, self.m
        i = 0
        w1 = w[i:i + n * nh].reshape(n, nh); i += n * nh
        b1 = w[i:i + nh]; i += nh
        w2 = w[i:i + nh * m].reshape(nh, m); i += nh * m
        b2 = w[i:i + m]
        return w1, b1, w2, b2

    def pack(self, params):
        return np.concatenate([p.ravel() for p in params])

    def hidden(self, w, x):
        w1, b1, _, _ = self.unpack(w)
        a = x @ w1 + b1
        if self.act == "tanh":
            h = np.tanh(a)
            return h, 1.0 - h * h
        h = 1.0 / (1.0 + np.exp(-a))
        return h, h * (1.0 - h)

    def residuals(self, w, x, t):
        _, _, w2, b2 = self.unpack(w)
        h, _ = self.hidden(w, x)
        return (h @ w2 + b2 - t).ravel()          # row p*M + i

    def jacobian(self, w, x):
        """d r(p,i) / d w, shape (Nv*M) x Nw."""
        n, nh, m = self.n, self.nh, self.m
        nv = x.shape[0]
        _, _, w2, _ = self.unpack(w)
        h, dh = self.hidden(w, x)
        j = np.zeros((nv, m, self.nw))
        o1 = n * nh
        o2 = o1 + nh
        o3 = o2 + nh * m
        for i in range(m):
            g = dh * w2[:, i]                          # Nv x Nh: d y_i / d a_k
            j[:, i, :o1] = (x[:, :, None] * g[:, None, :]).reshape(nv, n * nh)
            j[:, i, o1:o2] = g
            j[:, i, o2 + i:o3:m] = h                   # W2[k, i] sits at o2 + k*M + i
            j[:, i, o3 + i] = 1.0
        return j.reshape(nv * m, self.nw)


def main():
    ap = common.base_parser(__doc__)
    a = ap.parse_args()
    common.set_blas_threads(a.threads)
    import scipy
    from scipy.optimize import least_squares
    s, tmu, tsd, ttr_s = common.setup(a)
    net = Net(s.n, a.hidden, s.m, a.activation)
    rng = np.random.RandomState(a.seed)
    w0 = net.pack(common.init_params(rng, s.n, a.hidden, s.m, a.activation))
    clock = common.Clock()
    tracer = common.Tracer(s, clock, a, tmu, tsd)
    st = {"best": np.inf, "w": w0.copy(), "nfev": 0, "njev": 0}

    def predict(xx):
        return common.forward(net.unpack(st["w"]), xx, a.activation)

    def fun(w):
        r = net.residuals(w, s.xtr, ttr_s)
        st["nfev"] += 1
        e = float(r @ r)
        if e < st["best"]:
            st["best"], st["w"] = e, w.copy()
        if tracer.due() or tracer.over():
            if tracer.point(predict):
                raise common.BudgetExceeded()
        return r

    def jac(w):
        st["njev"] += 1
        jj = net.jacobian(w, s.xtr)
        if tracer.over():
            raise common.BudgetExceeded()
        return jj

    stopped = "budget"
    status = None
    clock.start()
    try:
        res = least_squares(fun, w0, jac=jac, method="lm", max_nfev=10**9)
        status = int(res.status)
        stopped = "minpack status %d: %s" % (res.status, res.message)
    except common.BudgetExceeded:
        pass
    clock.stop()
    tracer.finish(predict, "scipy-lm", {
        "function_evals": st["nfev"], "jacobian_evals": st["njev"], "stopped": stopped,
        "minpack_status": status, "nw": net.nw, "scipy_version": scipy.__version__,
        "target_standardized": s.task == "regression"})


if __name__ == "__main__":
    main()
