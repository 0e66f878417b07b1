"""peers_driver.py -- issue 4, measure 1: time to accuracy of oigd against the peer trainers.

For each set (the seven UCI sets, split 0, and the two classification CSVs with a seeded 80/20
split), every tool trains the same split with the same hidden width for a per-set wall budget,
R times (seeds 1..R), each writing a trace `seconds,train_mse,val_mse[,train_err,val_err]` whose
val columns are the test rows. Before the timed runs, each tool's thread configuration is probed
(short run per candidate, the one that gets further wins), and PyTorch Adam's learning rate and
oigd's net-control deviation sigmad are picked from small grids on a holdout of the training rows;
the choices are reported.

Target per set = the lowest, over peers, of each peer's lower median (over runs) best validation MSE
within its budget (classification: validation error %). Time to target = first trace time at or
below it; a tool's time is the median over runs ("not reached" counts as infinite). Ratios are
peer time / oigd time. Test error at equal wall time = the median over runs of the last trace point
at or before T, for T = budget/10, budget/3 and budget.

    /usr/bin/python3 bench/lib/peers_driver.py --out bench/results [--sets ...] [--runs 5]
        [--budget-scale 1] [--tools ...] [--oigd build/oigd] [--smoke]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, HERE)
import machine  # noqa: E402
import uci  # noqa: E402
import numpy as np  # noqa: E402

PY = "/usr/bin/python3"
PEERS = os.path.join(BENCH, "peers")
BUDGET = {"yacht": 5, "bostonHousing": 5, "energy": 5, "concrete": 5, "breast_cancer": 5,
          "digits": 10, "power-plant": 20, "naval-propulsion-plant": 20,
          "protein-tertiary-structure": 40}
OIGD_TOOLS = ["oigd-oig-hwo", "oigd-oig-hwo-nobypass", "oigd-lm", "oigd-lm-geodesic", "oigd-lm-bayes",
              "oigd-lm-mixed"]
PEER_TOOLS = ["torch-adam-full", "torch-adam-mb128", "torch-lbfgs", "sklearn-lbfgs",
              "sklearn-adam-default", "sklearn-adam-patient", "scipy-lm", "fann-rprop"]

TORCH_CFG = [("torch2-blas1", {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "2"}, 2),
             ("torch1-blas2", {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "1"}, 1),
             ("torch2-blas2", {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}, 2)]
BLAS_CFG = [("blas1", {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}, 1),
            ("blas2", {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}, 2)]
# oigd also trains on two threads of one BLAS thread each (--threads 2)
OIGD_CFG = BLAS_CFG + [("threads2", {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}, 2)]


def thread_configs(tool):
    if tool.startswith("torch"):
        return TORCH_CFG
    if tool == "fann-rprop":
        return [("1 thread", {"OPENBLAS_NUM_THREADS": "1"}, 1)]
    if tool.startswith("oigd"):
        return OIGD_CFG
    return BLAS_CFG


class Ctx:
    def __init__(self, a, split):
        self.a = a
        self.s = split
        self.name = split.name
        self.nh = split.hidden
        self.work = os.path.join(a.work, self.name)
        os.makedirs(self.work, exist_ok=True)


def tool_cmd(ctx, tool, seed, budget, cfg, trace, summary, tuned=None, index=None):
    """The command of one run. tuned: the value picked on the holdout (torch Adam's learning rate,
    oigd's sigmad), None for the default; index: (train, test) index files instead of the split's."""
    f = ctx.s.files
    label, threads = cfg[0], cfg[2]
    if tool.startswith("oigd"):
        if label.startswith("threads"):
            thread_args = ["--threads", str(threads), "--blas-threads", "1"]
        else:
            thread_args = ["--blas-threads", str(threads)]
        cmd = [ctx.a.oigd, "train", "--data", f["data"], "--format", f["format"],
               "--input-columns", f["input_columns"], "--target-columns", f["target_columns"],
               "--task", f["task"], "--algorithm", "lm" if tool.startswith("oigd-lm") else "oig-hwo",
               "--hidden", str(ctx.nh),
               "--iterations", "1000000", "--seed", str(seed),
               "--train-index", index[0] if index else f["train_index"],
               "--test-index", index[1] if index else f["test_index"], "--max-seconds", "%g" % budget,
               "--metrics-out", trace + ".metrics.csv"] + thread_args
        if tool.endswith("nobypass"):
            cmd.append("--no-bypass")
        if tool.startswith("oigd-lm"):
            cmd += ["--lm-update", "gain"]
        if tool == "oigd-lm-geodesic":
            cmd += ["--lm-acceleration", "geodesic"]
        if tool == "oigd-lm-bayes":
            cmd += ["--lm-regularization", "bayesian"]
        if tool == "oigd-lm-mixed":
            cmd += ["--lm-precision", "mixed"]
        if tuned is not None:
            cmd += ["--sigmad", "%g" % tuned]
        return cmd
    common = ["--dataset", ctx.name, "--split", "0", "--hidden", str(ctx.nh), "--budget",
              "%g" % budget, "--threads", str(threads), "--seed", str(seed), "--trace", trace,
              "--summary", summary, "--trace-factor", "1.05"]
    if tool.startswith("torch-adam"):
        batch = "full" if tool.endswith("full") else "128"
        return [PY, os.path.join(PEERS, "torch_adam.py"), "--batch", batch,
                "--lr", str(tuned if tuned is not None else 1e-2)] + common
    if tool == "torch-lbfgs":
        return [PY, os.path.join(PEERS, "torch_lbfgs.py")] + common
    if tool.startswith("sklearn-"):
        return [PY, os.path.join(PEERS, "sklearn_mlp.py"), "--variant", tool[len("sklearn-"):]] + common
    if tool == "scipy-lm":
        return [PY, os.path.join(PEERS, "scipy_lm.py")] + common
    if tool == "fann-rprop":
        return [PY, os.path.join(PEERS, "fann_rprop.py")] + common
    raise ValueError(tool)


def read_trace(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        hdr = f.readline().strip().split(",")
        for line in f:
            v = line.strip().split(",")
            if len(v) != len(hdr):
                continue
            try:
                rows.append({k: float(x) if x != "" else math.nan for k, x in zip(hdr, v)})
            except ValueError:
                pass
    return rows


def oigd_trace(metrics, trace, cls):
    """metrics CSV -> the common trace format (seconds,train_mse,val_mse[,train_err,val_err])."""
    m = read_trace(metrics)
    with open(trace, "w") as f:
        f.write("seconds,train_mse,val_mse" + (",train_err,val_err" if cls else "") + "\n")
        for r in m:
            vals = [r.get("seconds"), r.get("train_mse"), r.get("val_mse")]
            if cls:
                vals += [r.get("train_err"), r.get("val_err")]
            f.write(",".join("%.7g" % v for v in vals) + "\n")
    return m


def run_tool(ctx, tool, seed, budget, cfg, tag, tuned=None, index=None):
    """One run; returns a record with the trace rows, wall time, exit code and summary."""
    label, env_add, threads = cfg
    trace = os.path.join(ctx.work, "%s_%s.trace.csv" % (tool, tag))
    summary = os.path.join(ctx.work, "%s_%s.summary.json" % (tool, tag))
    for p in (trace, summary, trace + ".metrics.csv"):
        if os.path.exists(p):
            os.unlink(p)
    env = dict(os.environ)
    env.update(env_add)
    cmd = tool_cmd(ctx, tool, seed, budget, cfg, trace, summary, tuned, index)
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3 * budget + 120)
        rc, err = r.returncode, r.stderr.strip().splitlines()[-1:] if r.stderr.strip() else []
    except subprocess.TimeoutExpired:
        rc, err = 124, ["timeout"]
    wall = time.perf_counter() - t0
    cls = ctx.s.task == "classification"
    summ = {}
    if tool.startswith("oigd"):
        oigd_trace(trace + ".metrics.csv", trace, cls)
    elif os.path.exists(summary):
        try:
            summ = json.load(open(summary))
        except ValueError:
            pass
    # nobody is credited beyond its budget (MINPACK, for one, can overrun it inside an iteration)
    all_rows = read_trace(trace)
    rows = [r for r in all_rows if r.get("seconds", math.inf) <= 1.05 * budget]
    ran_to = all_rows[-1].get("seconds", 0.0) if all_rows else 0.0
    # a run cut by the outer timeout keeps the trace it flushed; it counts, and is flagged
    cut = rc == 124 and bool(rows)
    if cut:
        rc, err = 0, ["cut by the outer timeout; trace up to the budget kept"]
    return {"tool": tool, "seed": seed, "cfg": label, "rc": rc, "err": err[0][:200] if err else "",
            "wall": wall, "rows": rows, "ran_to": ran_to, "summary": summ, "trace": trace, "tuned": tuned,
            "cut": cut}


def seconds_per_iteration(rows):
    """Median seconds between consecutive trace rows (oigd writes one row per iteration), or None
    for a trace of one row."""
    steps = [b["seconds"] - a["seconds"] for a, b in zip(rows, rows[1:])]
    return statistics.median(steps) if steps else None


def score_probe(rec, budget):
    """Lower is better: finished-early runs by time, others by their last train MSE within the
    budget. A run finished early when its trace ends early, not when its last row within the
    budget does: an LM iteration of a second or more leaves its last row well before a 2 s budget
    (protein's probes once picked the configuration that had made the least progress).
    oigd's candidates run the same iterations (only the round-off differs), so they are compared
    by median seconds per iteration: with iterations of a second, two candidates that both end
    after two iterations tie on train MSE even when one iterates twice as fast."""
    if rec["rc"] != 0 or not rec["rows"]:
        return (2, math.inf)
    last = rec["rows"][-1]
    if rec["ran_to"] < 0.9 * budget:
        return (0, last["seconds"])
    if rec["tool"].startswith("oigd"):
        spi = seconds_per_iteration(rec["rows"])
        if spi is not None:
            return (1, spi)
    v = last["train_mse"]
    return (1, v if v == v else math.inf)


def pick_threads(ctx, tool, probe_budget, log):
    cands = thread_configs(tool)
    if len(cands) == 1:
        return cands[0], []
    res = []
    for cfg in cands:
        rec = run_tool(ctx, tool, 1, probe_budget, cfg, "probe_" + cfg[0].replace(" ", ""),
                       tuned=1e-2 if tool.startswith("torch-adam") else None)
        res.append((score_probe(rec, probe_budget), cfg, rec))
        log("   probe %-22s %-13s rc=%d last=%s" % (tool, cfg[0], rec["rc"],
            rec["rows"][-1] if rec["rows"] else None))
    res.sort(key=lambda x: x[0])
    table = [(cfg[0], sc, rec["rc"]) for sc, cfg, rec in res]
    return res[0][1], table


def select_lr(ctx, tool, cfg, budget, log):
    label, env_add, threads = cfg
    env = dict(os.environ)
    env.update(env_add)
    batch = "full" if tool.endswith("full") else "128"
    cmd = [PY, os.path.join(PEERS, "torch_adam.py"), "--dataset", ctx.name, "--hidden", str(ctx.nh),
           "--batch", batch, "--threads", str(threads), "--seed", "1", "--select-only",
           "--lr-grid", ctx.a.lr_grid, "--select-budget", "%g" % budget]
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=8 * budget * len(ctx.a.lr_grid.split(",")) + 120)
        d = json.loads(r.stdout.strip().splitlines()[-1])
        log("   lr %s -> %g (%s)" % (tool, d["lr"], d["lr_grid_holdout_mse"]))
        return d["lr"], d
    except Exception as e:
        log("   lr selection failed for %s: %s; using 1e-2" % (tool, e))
        return 1e-2, {"error": str(e)}


def holdout_index_files(ctx):
    """The split's training rows parted as torch_adam.py parts them for its learning-rate grid (a
    seed-1 permutation, its first 20% held out), written as (fit, holdout) index files."""
    if getattr(ctx, "holdout", None):
        return ctx.holdout
    f = ctx.s.files
    rows = [int(v) for v in open(f["train_index"]).read().split()]
    perm = np.random.RandomState(1).permutation(len(rows))
    nho = int(round(0.2 * len(perm)))
    paths = (os.path.join(ctx.work, "fit_index.txt"), os.path.join(ctx.work, "holdout_index.txt"))
    for path, part in zip(paths, (perm[nho:], perm[:nho])):
        with open(path, "w") as out:
            out.write("".join("%d\n" % rows[i] for i in part))
    ctx.holdout = paths
    return paths


def select_sigmad(ctx, tool, cfg, budget, log):
    """oigd's net-control deviation, picked as torch Adam's learning rate is: each grid value
    trains seed 1 for the selection budget on the fit rows and is scored by the holdout MSE at
    its end (never the test rows)."""
    index = holdout_index_files(ctx)
    scores = {}
    for v in [float(x) for x in ctx.a.sigmad_grid.split(",")]:
        rec = run_tool(ctx, tool, 1, budget, cfg, "sigmad%g" % v, tuned=v, index=index)
        last = rec["rows"][-1].get("val_mse") if rec["rc"] == 0 and rec["rows"] else None
        scores[v] = last if last is not None and last == last else math.inf
    best = min(scores, key=scores.get)
    log("   sigmad %s -> %g (%s)" % (tool, best, scores))
    return best, {"sigmad_grid_holdout_mse": {"%g" % k: v for k, v in scores.items()}}


def first_time(rows, key, target):
    for r in rows:
        v = r.get(key)
        if v is not None and v == v and v <= target * (1 + 1e-12):
            return r["seconds"]
    return math.inf


def at_time(rows, key, T):
    best = None
    for r in rows:
        if r["seconds"] <= T:
            best = r.get(key)
    return best


def median(xs):
    xs = [x for x in xs if x is not None and x == x]
    return statistics.median(xs) if xs else None


def fmt(v, p=4):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if v == math.inf:
        return "not reached"
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return "%.*e" % (p - 1, v)
    return "%.*g" % (p, v)


def equal_time_summary(sets):
    """Markdown lines: per set and per time T, oigd's best entry against the best peer at equal
    training time. sets: [(name, classification, [T, ...], {tool: [median test value at each T,
    None when no trace point yet]})], values as the equal-time tables print them (test RMSE, or
    test error %). Lower is better; the ratio is the best peer's value over oigd's."""
    L = ["| set | T s | oigd's best entry | best peer | peer / oigd | lower |", "|---|---|---|---|---|---|"]
    leads = total = 0
    for name, cls, Ts, vals in sets:
        for i, T in enumerate(Ts):
            o = {t: v[i] for t, v in vals.items() if t.startswith("oigd") and v[i] is not None}
            p = {t: v[i] for t, v in vals.items() if not t.startswith("oigd") and v[i] is not None}
            if not o or not p:
                continue
            bo, bp = min(o, key=o.get), min(p, key=p.get)
            ratio = p[bp] / o[bo] if o[bo] > 0 else None
            lower = "oigd" if o[bo] < p[bp] else "peer" if p[bp] < o[bo] else "tie"
            leads += lower == "oigd"
            total += 1
            L.append("| %s | %.3g | %s %s | %s %s | %s | %s |" % (
                name, T, bo, fmt(o[bo]) + ("%" if cls else ""), bp, fmt(p[bp]) + ("%" if cls else ""),
                "%.2f" % ratio if ratio else "n/a", lower))
    L += ["", "oigd is lower at %d of %d (set, T) points." % (leads, total)]
    return L


def plot(ctx, recs, key, target, png):
    curves = []
    for tool, rr in recs.items():
        ok = [r for r in rr if r["seed"] == ctx.a.first_seed and r["rows"]]
        if ok:
            curves.append((tool, ok[0]["trace"]))
    if not curves:
        return False
    col = 5 if key == "val_err" else 3
    sc = ["set terminal pngcairo size 1000,650 font ',10'", "set output '%s'" % png,
          "set datafile separator ','", "set logscale x", "set grid", "set key outside right",
          "set xlabel 'training wall seconds (seed %d)'" % ctx.a.first_seed,
          "set ylabel '%s'" % ("test error %" if key == "val_err" else "test MSE (log)"),
          "set title '%s: %s vs time; dashed = target %s'" % (ctx.name, key, fmt(target))]
    if key != "val_err":
        sc.append("set logscale y")
    pl = ["'%s' using 1:%d every ::1 with lines lw 2 title '%s'" % (p, col, t) for t, p in curves]
    pl.append("%g with lines dt 2 lc rgb 'black' title 'target'" % target)
    sc.append("plot " + ", ".join(pl))
    r = subprocess.run(["gnuplot"], input="\n".join(sc), text=True, capture_output=True)
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(BENCH, "results"))
    ap.add_argument("--work", default=os.path.join(BENCH, "work", "peers"))
    ap.add_argument("--sets", default=" ".join(uci.UCI_SETS + uci.CLASS_SETS))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=1,
                    help="the timed runs use seeds first-seed .. first-seed+runs-1 (probes and grids: seed 1)")
    ap.add_argument("--budget-scale", type=float, default=1.0)
    ap.add_argument("--tools", default=" ".join(OIGD_TOOLS + PEER_TOOLS))
    ap.add_argument("--oigd", default=os.environ.get("OIGD", os.path.join(ROOT, "build", "oigd")))
    ap.add_argument("--lr-grid", default="1e-3,3e-3,1e-2,3e-2,1e-1")
    ap.add_argument("--sigmad-grid", default="1,2,4,8", help="oigd's net-control deviations to pick from")
    ap.add_argument("--smoke", action="store_true", help="2 runs, 0.5 s budgets, energy+breast_cancer")
    a = ap.parse_args()
    if a.smoke:
        a.runs, a.budget_scale = 2, 0.1
        if a.sets == ap.get_default("sets"):
            a.sets = "energy breast_cancer"
        a.out = os.path.join(BENCH, "work", "smoke")
        a.work = os.path.join(BENCH, "work", "smoke_peers")
    os.makedirs(a.out, exist_ok=True)
    tools = a.tools.split()
    have_oigd = os.access(a.oigd, os.X_OK)
    if not have_oigd:
        tools = [t for t in tools if not t.startswith("oigd")]
    logf = open(os.path.join(a.out, "time_to_accuracy.log"), "w")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)
        logf.write(msg + "\n")

    L = ["# Time to accuracy: oigd against the peers (issue 4, measure 1)", "",
         machine.describe(ROOT), "## Setup", "",
         "- Same split (UCI split 0; classification: seeded 80/20 split, index files in "
         "bench/work/splits), same hidden width (UCI `n_hidden.txt`; digits 50, breast_cancer 20), "
         "one hidden layer, linear outputs, inputs standardized on the training rows, the same 2 cores.",
         "- **Peer networks have no bypass (input-to-output) weights and use tanh; oigd's network has "
         "bypass weights and sigmoid units.** `oigd-oig-hwo-nobypass` is oigd with `--no-bypass`; "
         "`oigd-lm` is oigd's Levenberg-Marquardt with lambda following the gain ratio "
         "(`--lm-update gain`); `oigd-lm-geodesic` adds geodesic acceleration to each step "
         "(`--lm-acceleration geodesic`); `oigd-lm-bayes` adds Bayesian regularization to `oigd-lm` "
         "(`--lm-regularization bayesian`, one weight decay per layer re-estimated every step); "
         "`oigd-lm-mixed` takes `oigd-lm`'s J^T J in single precision (`--lm-precision mixed`). The "
         "ratio column divides by oigd's best time on the set (the fastest of its entries).",
         "- Regression peers train on standardized targets and report MSE on the original scale; "
         "classification: +1/-1 coded targets and MSE, except scikit-learn's MLPClassifier (log-loss). "
         "Classification accuracy is measured by test error %.",
         "- Budgets (training wall seconds, x%g): %s. %d runs per tool (seeds %d..%d)." % (
             a.budget_scale, ", ".join("%s %g" % (k, v * a.budget_scale) for k, v in BUDGET.items()),
             a.runs, a.first_seed, a.first_seed + a.runs - 1),
         "- Seconds are training time: peers pause their clock while they take trace points; oigd's are "
         "its metrics' `seconds`. Process wall time (start-up, data loading) is shown separately.",
         "- sklearn-adam-default = scikit-learn's defaults (stops on tol=1e-4 / n_iter_no_change=10); "
         "sklearn-adam-patient = n_iter_no_change and max_iter raised to 1e6; sklearn-lbfgs = max_iter "
         "raised, tol 0. torch Adam's learning rate is picked from {%s}, and for every oigd entry the "
         "net-control deviation sigmad (`--sigmad`: each hidden net function starts with this standard "
         "deviation over the training rows; default 1) from {%s}, on the same 20%% holdout of the training rows: "
         "each value trains seed 1 for a quarter of the budget on the other 80%% and is scored by the "
         "holdout MSE at its end. Selection time is not counted." % (a.lr_grid, a.sigmad_grid),
         "- Thread configuration per tool and set: probed (short run per candidate; torch: "
         "intra-op x OpenBLAS threads 2x1, 1x2, 2x2; numpy peers: 1 or 2 BLAS threads; oigd: 1 or 2 BLAS threads, or "
         "two training threads of one BLAS thread each), best kept. "
         "A probe that runs to its end is scored by its train MSE there, oigd's by its median seconds per "
         "iteration (its candidates run the same iterations).",
         ""]
    if not have_oigd:
        L += ["**oigd binary not found at %s: only the peers ran; no ratios.**" % a.oigd, ""]
    digest = {}
    equal_time = []
    for name in a.sets.split():
        s = uci.load(name, 0)
        ctx = Ctx(a, s)
        cls = s.task == "classification"
        key = "val_err" if cls else "val_mse"
        budget = BUDGET.get(name, 10) * a.budget_scale
        probe_b = max(0.2, min(2.0, budget / 4))
        log(">> %s (budget %g s, Nh %d)" % (name, budget, ctx.nh))
        chosen, probes, tuned = {}, {}, {}
        for tool in tools:
            chosen[tool], probes[tool] = pick_threads(ctx, tool, probe_b, log)
            if tool.startswith("torch-adam"):
                tuned[tool] = select_lr(ctx, tool, chosen[tool], max(0.1, budget / 4), log)
            elif tool.startswith("oigd") and a.sigmad_grid:
                tuned[tool] = select_sigmad(ctx, tool, chosen[tool], max(0.1, budget / 4), log)
        recs = {t: [] for t in tools}
        for seed in range(a.first_seed, a.first_seed + a.runs):
            for tool in tools:
                rec = run_tool(ctx, tool, seed, budget, chosen[tool], "seed%d" % seed,
                               tuned.get(tool, (None,))[0])
                recs[tool].append(rec)
                log("   %-22s seed %d rc=%d wall %.2fs final=%s" % (
                    tool, seed, rec["rc"], rec["wall"], rec["rows"][-1] if rec["rows"] else None))
        # target: lowest over peers of the median best validation value
        best_med = {}
        for tool in tools:
            bests = [min((r[key] for r in rec["rows"] if r.get(key) == r.get(key)), default=None)
                     for rec in recs[tool] if rec["rc"] == 0]
            bests = [b for b in bests if b is not None and b == b]
            # the lower median, so that with an even run count at least half the runs reach it
            best_med[tool] = statistics.median_low(bests) if bests else None
        peer_b = {t: v for t, v in best_med.items() if not t.startswith("oigd") and v is not None}
        target = min(peer_b.values()) if peer_b else None
        best_peer = min(peer_b, key=peer_b.get) if peer_b else None
        tt = {}
        for tool in tools:
            times = [first_time(rec["rows"], key, target) if rec["rc"] == 0 and target is not None
                     else math.inf for rec in recs[tool]]
            # lower median, like the target, so an even run count cannot average a time with "never"
            tt[tool] = statistics.median_low(times) if times else math.inf
        # oigd's figure: its best algorithm on this set (OIG-HWO with or without bypass, or LM)
        oig_times = [tt[t] for t in tools if t.startswith("oigd") and t in tt]
        oig = min(oig_times) if oig_times else None
        L += ["## %s" % name, "",
              "N=%d, M=%d, Nh=%d, train %d / test %d rows, budget %g s. Target (%s) = %s, the median "
              "best of **%s**." % (s.n, s.m, ctx.nh, len(s.xtr), len(s.xte), budget,
                                  "test error %" if cls else "test MSE", fmt(target), best_peer), "",
              "| tool | threads | lr / sigmad | runs ok | median best %s | median time to target s | "
              "ratio tool/oigd | median process wall s | notes |" % key, "|---|---|---|---|---|---|---|---|---|"]
        for tool in tools:
            ok = [r for r in recs[tool] if r["rc"] == 0]
            ratio = (tt[tool] / oig if oig and oig not in (0, math.inf) and tt[tool] != math.inf
                     else None)
            notes = []
            bad = [r for r in recs[tool] if r["rc"] != 0]
            if bad:
                notes.append("failed %d: rc %d %s" % (len(bad), bad[0]["rc"], bad[0]["err"].replace("|", "/")))
            ncut = sum(1 for r in recs[tool] if r.get("cut"))
            if ncut:
                notes.append("%d run(s) cut by the outer timeout (trace to the budget kept)" % ncut)
            stopped = {r["summary"].get("stopped") for r in ok if r["summary"].get("stopped")}
            if stopped:
                notes.append("stopped: " + "; ".join(sorted(str(x) for x in stopped)))
            L.append("| %s | %s | %s | %d/%d | %s | %s | %s | %s | %s |" % (
                tool, chosen[tool][0], fmt(tuned[tool][0]) if tool in tuned else "", len(ok),
                len(recs[tool]), fmt(best_med[tool]), fmt(tt[tool]),
                ("%.2f" % ratio) if ratio else ("n/a" if not oig or oig == math.inf else "inf"),
                fmt(median([r["wall"] for r in recs[tool]])), "; ".join(notes)))
        Ts = [budget / 10, budget / 3, budget]
        L += ["", "Test %s at equal training time (median over runs; n/a = no trace point yet):" % (
            "error %" if cls else "RMSE (original scale)"), "",
              "| tool | " + " | ".join("T=%gs" % T for T in Ts) + " |", "|---|" + "---|" * len(Ts)]
        at_T = {}
        for tool in tools:
            vals = []
            for T in Ts:
                v = median([at_time(r["rows"], key, T) for r in recs[tool] if r["rc"] == 0])
                vals.append(v if cls or v is None else math.sqrt(v))
            at_T[tool] = vals
            L.append("| %s | %s |" % (tool, " | ".join(fmt(v) for v in vals)))
        equal_time.append((name, cls, Ts, at_T))
        png = "tta_%s.png" % name
        if plot(ctx, recs, key, target if target is not None else 1.0, os.path.join(a.out, png)):
            L += ["", "![%s](%s)" % (png, png)]
        L += ["", "Thread probes (score: (0, s) = finished early in s; (1, MSE) = train MSE at probe end, "
              "for oigd (1, s) = median seconds per iteration): " +
              "; ".join("%s: %s" % (t, ", ".join("%s %s" % (c, (sc[0], fmt(sc[1]))) for c, sc, _ in p))
                        for t, p in probes.items() if p), ""]
        grids = [(t, v[1]) for t, v in tuned.items()]
        if grids:
            L += ["Grids on the holdout (holdout MSE per learning rate, torch Adam; per sigmad, oigd): " +
                  "; ".join("%s: %s" % (t, json.dumps(g.get("lr_grid_holdout_mse",
                                                            g.get("sigmad_grid_holdout_mse", g))))
                            for t, g in grids), ""]
        digest[name] = {"target": target, "best_peer": best_peer, "time_to_target": tt,
                        "median_best": best_med, "budget": budget,
                        "threads": {t: c[0] for t, c in chosen.items()},
                        "tuned": {t: v[0] for t, v in tuned.items()}}
        summary = ["## At equal training time: oigd's best entry against the best peer", "",
                   "Read off the equal-time tables above (test RMSE, classification: test error %; "
                   "medians over runs).", ""] + equal_time_summary(equal_time) + [""]
        with open(os.path.join(a.out, "time_to_accuracy.md"), "w") as f:
            f.write("\n".join(L + summary) + "\n")
    with open(os.path.join(a.out, "time_to_accuracy.json"), "w") as f:
        json.dump(digest, f, indent=1, default=lambda x: None)
    log("wrote %s" % os.path.join(a.out, "time_to_accuracy.md"))


if __name__ == "__main__":
    main()
