#!/usr/bin/python3
"""torch_adam.py -- PyTorch Adam peer: a 1-hidden-layer net (tanh, linear outputs, no bypass
weights) trained full-batch or mini-batch with MSE loss for a wall-clock budget, writing a trace
of train/test MSE on the original target scale.

The learning rate comes from --lr, or from --lr-grid: each grid value trains for --select-budget
seconds on 80% of the training rows and is scored on the other 20% (never on the test rows); the
best one then trains on all training rows. Selection time is reported, not counted in the trace.
Threads: torch.set_num_threads(--threads); OPENBLAS_NUM_THREADS is taken from the environment.

    /usr/bin/python3 bench/peers/torch_adam.py --dataset energy --batch full \
        --lr-grid 1e-3,3e-3,1e-2,3e-2 --budget 10 --trace t.csv --summary s.json
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import numpy as np  # noqa: E402


def build(torch, n, nh, m, act, seed, dtype):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(n, nh),
                              torch.nn.Tanh() if act == "tanh" else torch.nn.Sigmoid(),
                              torch.nn.Linear(nh, m))
    return net.to(dtype)


def train(torch, net, x, t, lr, batch, clock, tracer, budget, seed):
    """Adam until budget seconds of training; tracer (may be None) records points."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    lossf = torch.nn.MSELoss()
    nv = x.shape[0]
    full = batch is None or batch >= nv
    g = torch.Generator().manual_seed(seed)
    epochs = 0
    steps = 0

    def predict(xx):
        with torch.no_grad():
            return net(torch.from_numpy(xx).to(x.dtype)).double().numpy()

    clock.start()
    while clock.now() < budget:
        if full:
            opt.zero_grad()
            loss = lossf(net(x), t)
            loss.backward()
            opt.step()
            steps += 1
        else:
            perm = torch.randperm(nv, generator=g)
            for i in range(0, nv, batch):
                idx = perm[i:i + batch]
                opt.zero_grad()
                loss = lossf(net(x[idx]), t[idx])
                loss.backward()
                opt.step()
                steps += 1
                if tracer is not None and tracer.due():
                    tracer.point(predict)
                if clock.now() >= budget:
                    break
        epochs += 1
        if tracer is not None and tracer.due():
            tracer.point(predict)
    clock.stop()
    return predict, epochs, steps


def main():
    ap = common.base_parser(__doc__)
    ap.add_argument("--batch", default="full", help="'full' or a mini-batch size")
    ap.add_argument("--lr", type=float)
    ap.add_argument("--lr-grid", default="1e-3,3e-3,1e-2,3e-2")
    ap.add_argument("--select-budget", type=float, help="seconds per grid value (default budget/4)")
    ap.add_argument("--select-only", action="store_true", help="print the chosen lr and exit")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    a = ap.parse_args()
    common.set_blas_threads(1)
    import torch
    torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    s, tmu, tsd, ttr_s = common.setup(a)
    batch = None if a.batch == "full" else int(a.batch)
    tool = "torch-adam-" + ("full" if batch is None else "mb%d" % batch)

    grid_info = None
    lr = a.lr
    if lr is None:
        sel_budget = a.select_budget or max(0.5, a.budget / 4)
        rng = np.random.RandomState(a.seed)
        perm = rng.permutation(len(s.xtr))
        nh_ = int(round(0.2 * len(perm)))
        ho, fit = perm[:nh_], perm[nh_:]
        xf = torch.from_numpy(s.xtr[fit]).to(dtype)
        tf = torch.from_numpy(ttr_s[fit]).to(dtype)
        xh = s.xtr[ho]
        th = s.ttr[ho]
        scores = {}
        t0 = time.perf_counter()
        for lr_ in [float(v) for v in a.lr_grid.split(",")]:
            net = build(torch, s.n, a.hidden, s.m, a.activation, a.seed, dtype)
            clk = common.Clock()
            predict, _, _ = train(torch, net, xf, tf, lr_, batch, clk, None, sel_budget, a.seed)
            y = predict(xh) * tsd + tmu
            v = common.uci.mse(y, th)
            scores[lr_] = v if np.isfinite(v) else float("inf")
        lr = min(scores, key=scores.get)
        grid_info = {"lr_grid_holdout_mse": {str(k): v for k, v in scores.items()},
                     "lr_select_seconds": round(time.perf_counter() - t0, 3),
                     "lr_select_budget_each": sel_budget}
        if a.select_only:
            import json
            print(json.dumps({"tool": tool, "dataset": s.name, "lr": lr, **grid_info}))
            return

    x = torch.from_numpy(s.xtr).to(dtype)
    t = torch.from_numpy(ttr_s).to(dtype)
    net = build(torch, s.n, a.hidden, s.m, a.activation, a.seed, dtype)
    clock = common.Clock()
    tracer = common.Tracer(s, clock, a, tmu, tsd)
    predict, epochs, steps = train(torch, net, x, t, lr, batch, clock, tracer, a.budget, a.seed)
    extra = {"lr": lr, "epochs": epochs, "steps": steps, "dtype": a.dtype,
             "torch_threads": a.threads, "torch_version": torch.__version__,
             "target_standardized": s.task == "regression"}
    if grid_info:
        extra.update(grid_info)
    tracer.finish(predict, tool, extra)


if __name__ == "__main__":
    main()
