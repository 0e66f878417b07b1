#!/usr/bin/python3
"""torch_lbfgs.py -- PyTorch L-BFGS peer: full-batch L-BFGS (strong-Wolfe line search) on a
1-hidden-layer net (tanh, linear outputs, no bypass weights) with MSE loss, for a wall-clock
budget, writing a trace of train/test MSE on the original target scale.

The optimizer keeps its curvature history across step() calls; each call runs --inner iterations,
and the budget and trace are checked between calls. float64 by default (float32 stalls L-BFGS on
rounding long before the budget). Stops early when the loss no longer changes.

    /usr/bin/python3 bench/peers/torch_lbfgs.py --dataset energy --budget 10 --trace t.csv
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    ap = common.base_parser(__doc__)
    ap.add_argument("--inner", type=int, default=5, help="L-BFGS iterations per step() call")
    ap.add_argument("--history", type=int, default=50)
    ap.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    a = ap.parse_args()
    common.set_blas_threads(1)
    import torch
    torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    s, tmu, tsd, ttr_s = common.setup(a)
    torch.manual_seed(a.seed)
    net = torch.nn.Sequential(torch.nn.Linear(s.n, a.hidden),
                              torch.nn.Tanh() if a.activation == "tanh" else torch.nn.Sigmoid(),
                              torch.nn.Linear(a.hidden, s.m)).to(dtype)
    x = torch.from_numpy(s.xtr).to(dtype)
    t = torch.from_numpy(ttr_s).to(dtype)
    opt = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=a.inner, history_size=a.history,
                            tolerance_grad=0.0, tolerance_change=0.0,
                            line_search_fn="strong_wolfe")
    lossf = torch.nn.MSELoss()
    nfev = [0]

    def closure():
        opt.zero_grad()
        loss = lossf(net(x), t)
        loss.backward()
        nfev[0] += 1
        return loss

    def predict(xx):
        with torch.no_grad():
            return net(torch.from_numpy(xx).to(dtype)).double().numpy()

    clock = common.Clock()
    tracer = common.Tracer(s, clock, a, tmu, tsd)
    calls = 0
    prev = None
    stalled = 0
    clock.start()
    while clock.now() < a.budget:
        loss = float(opt.step(closure))
        calls += 1
        if tracer.due():
            tracer.point(predict)
        stalled = stalled + 1 if prev is not None and loss == prev else 0
        if stalled >= 3 or loss != loss:
            break
        prev = loss
    clock.stop()
    tracer.finish(predict, "torch-lbfgs", {
        "iterations_max": calls * a.inner, "function_evals": nfev[0], "dtype": a.dtype,
        "stopped": "stalled" if stalled >= 3 else "budget", "torch_threads": a.threads,
        "torch_version": torch.__version__, "target_standardized": s.task == "regression"})


if __name__ == "__main__":
    main()
