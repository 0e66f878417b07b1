"""related_report.py -- bench/results/related_compare.md and its PNG plots from the runs of
bench/related_compare.sh (oigd metrics CSVs and models, peer traces and summaries, prediction
CSVs, per-exit evaluations and projection reports in bench/work/related).

    related_report.py WORK DATA OUT PEER_BUDGET
"""
import csv, json, math, os, statistics, subprocess, sys

work, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
peer_budget = float(sys.argv[4]) if len(sys.argv) > 4 else 8.0
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine  # noqa: E402


def fnum(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def metrics(name):
    """oigd metrics CSV or a peer trace: list of dicts of floats ('seconds', 'val_mse', ...)."""
    p = f"{work}/{name}.csv"
    if not os.path.exists(p):
        return []
    return [{k: fnum(v) for k, v in r.items()} for r in csv.DictReader(open(p))]


def summary(name):
    p = f"{work}/{name}.json"
    try:
        return json.loads(open(p).readline())
    except Exception:
        return {}


def fmt(x, d=4):
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "n/a"
    return f"{x:.{d}g}"


def col(rows, k):
    return [r.get(k, math.nan) for r in rows]


def labels_of(ds):
    rows = list(csv.reader(open(f"{work}/{ds}_test.csv")))
    return [r[-1] for r in rows[1:] if r]


def predicted(path):
    rows = list(csv.reader(open(path)))
    return [r[-1] for r in rows[1:] if r]


def acc_f1(truth, pred):
    classes = sorted(set(truth))
    acc = sum(t == p for t, p in zip(truth, pred)) / len(truth)
    f1s = []
    for c in classes:
        tp = sum(t == c and p == c for t, p in zip(truth, pred))
        fp = sum(t != c and p == c for t, p in zip(truth, pred))
        fn = sum(t == c and p != c for t, p in zip(truth, pred))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return acc, sum(f1s) / len(f1s)


def test_err(path, ds):
    if not os.path.exists(path):
        return math.nan
    return 100 * (1 - acc_f1(labels_of(ds), predicted(path))[0])


def plot(png, title, xlabel, ylabel, series, logy=True, logx=False, hline=None):
    dat = []
    for i, (label, xs, ys) in enumerate(series):
        p = f"{work}/plot_{os.path.basename(png)}_{i}.dat"
        with open(p, "w") as f:
            for x, y in zip(xs, ys):
                if isinstance(y, float) and (math.isnan(y) or math.isinf(y)):
                    continue
                if (logy and y <= 0) or (logx and x <= 0):
                    continue
                f.write(f"{x} {y}\n")
        dat.append((label, p))
    cmds = ['set terminal pngcairo size 860,520', f'set output "{png}"', f'set title "{title}"',
            f'set xlabel "{xlabel}"', f'set ylabel "{ylabel}"', 'set key outside right top', 'set grid']
    if logy:
        cmds.append('set logscale y')
    if logx:
        cmds.append('set logscale x')
    parts = [f'"{p}" using 1:2 with lines lw 2 title "{l}"' for l, p in dat]
    if hline is not None:
        parts.append(f'{hline[1]} with lines dt 2 lw 1 lc rgb "black" title "{hline[0]}"')
    cmds.append("plot " + ", ".join(parts))
    subprocess.run(["gnuplot"], input="\n".join(cmds), text=True, check=False)


md = ["# Related methods compared (bench/related_compare.sh)", "",
      machine.describe() if hasattr(machine, "describe") else "", "",
      "One BLAS thread per run, seed 1 (three seeds in B), the same splits for every method: UCI split 0 "
      "with its test rows as the validation set; classification by `bench/lib/uci.py`'s seeded 80/20 "
      "split (the peers' `--dataset NAME` split 0). oigd's networks have sigmoid hidden units and bypass "
      "weights; the peers (bench/peers) have tanh hidden units and no bypass weights, as in "
      "`peers_compare.sh`. Training seconds exclude evaluation for every tool.", ""]

# ---- A ----
A_METHODS = [("slnb", "oigd slnb (default eta 0.03, batch 64)"), ("oig-hwo", "oigd OIG-HWO"), ("lm", "oigd LM"),
             ("adam", "PyTorch Adam, batch 64"), ("lbfgs", "PyTorch L-BFGS, full batch")]
md += ["## A. slnb vs OIG-HWO, LM, Adam and L-BFGS (UCI regression, Nh = 20)", "",
       f"Every method trains for {fmt(peer_budget)} s (oigd: `--max-seconds`; slnb with its default eta 0.03 "
       "and batch 64); Adam's learning rate is chosen from {1e-3, 3e-3, 1e-2, 3e-2} "
       "on a 20% holdout of the training rows (selection time not counted). Target = the best validation "
       "(test-row) MSE any peer of slnb (OIG-HWO, LM, Adam, L-BFGS) reached; time = training seconds at "
       "which a method's validation MSE first reaches the target (or twice the target). Test RMSE = the "
       "final model's (not the best of the run).", "",
       "| dataset | method | epochs/iters | final test RMSE | best test RMSE | target MSE | time to target (s) | time to 2x target (s) | train s |",
       "|---|---|---|---|---|---|---|---|---|"]
a_notes = []
for ds in ("concrete", "energy", "yacht"):
    runs = {}
    for a, _ in A_METHODS:
        name = f"reg_{ds}_{a}"
        runs[a] = metrics(name)
    peers = [min(col(runs[a], "val_mse")) for a in ("oig-hwo", "lm", "adam", "lbfgs") if runs[a]]
    target = min(peers) if peers else math.nan
    best_peer = min((a for a in ("oig-hwo", "lm", "adam", "lbfgs") if runs[a]),
                    key=lambda a: min(col(runs[a], "val_mse")), default=None)
    series = []
    for a, label in A_METHODS:
        rs = runs[a]
        if not rs:
            md.append(f"| {ds} | {a} | failed | | | | | | |")
            continue
        s = summary(f"reg_{ds}_{a}")
        iters = (int(rs[-1]["iteration"]) if "iteration" in rs[-1] else
                 s.get("epochs", s.get("iterations_max", "n/a")))
        hit = next((r["seconds"] for r in rs if r["val_mse"] <= target * (1 + 1e-12)), None)
        hit2 = next((r["seconds"] for r in rs if r["val_mse"] <= 2 * target), None)
        lab = a + (f" (lr {s['lr']:g})" if a == "adam" and "lr" in s else "")
        md.append(f"| {ds} | {lab} | {iters} | {fmt(math.sqrt(rs[-1]['val_mse']))} | "
                  f"{fmt(math.sqrt(min(col(rs, 'val_mse'))))} | {fmt(target)} | "
                  f"{fmt(hit) if hit is not None else 'not reached'} | {fmt(hit2) if hit2 is not None else 'not reached'} | "
                  f"{fmt(rs[-1]['seconds'], 3)} |")
        series.append((a, col(rs, "seconds"), col(rs, "val_mse")))
    a_notes.append(f"- {ds}: best peer {best_peer}; slnb final test RMSE "
                   f"{fmt(math.sqrt(runs['slnb'][-1]['val_mse'])) if runs['slnb'] else 'n/a'} vs "
                   + ", ".join(f"{a} {fmt(math.sqrt(runs[a][-1]['val_mse']))}" for a in ("oig-hwo", "lm", "adam", "lbfgs") if runs[a]))
    plot(f"{out}/related_slnb_{ds}.png", f"{ds}: validation (test-row) MSE vs training time", "training seconds",
         "MSE", series, logy=True, logx=True)
md += [""] + a_notes
md += ["", "Plots: " + ", ".join(f"`related_slnb_{d}.png`" for d in ("concrete", "energy", "yacht")), ""]

# ---- B ----
md += ["## B. osgd vs sgd on one width network (Nh = 32, K = 3 exits of 8/16/32 units, 100 epochs, batch 64)", "",
       "eta: a grid {3e-4, 1e-3, 3e-3, 1e-2} (momentum 0.9), each trained 100 epochs on 80% of the training "
       "rows and scored on the other 20% (never on the test rows); the eta with SGD's lowest final last-exit "
       "holdout error (classification; MSE for energy) is used for both methods. Then three seeds on the "
       "full training rows. Test error of every exit (mean over seeds, [min, max]) from the trained "
       "model evaluated in-process (bench/exit_timing.c), and the prediction time of one call on all test "
       "rows from that exit (fastest of five rounds, mean over seeds).", ""]
chosen = {}
if os.path.exists(f"{work}/eta_chosen.txt"):
    for line in open(f"{work}/eta_chosen.txt"):
        k, v = line.split()
        chosen[k] = v
ETAS = ["0.0003", "0.001", "0.003", "0.01"]
md += ["Holdout grid (final last-exit holdout error %, or MSE for energy; 'div' = diverged):", "",
       "| dataset | method | " + " | ".join(f"eta {e}" for e in ETAS) + " | chosen |",
       "|---|---|" + "---|" * len(ETAS) + "---|"]
for ds in ("breast_cancer", "digits", "energy"):
    for a in ("sgd", "osgd"):
        cells = []
        for e in ETAS:
            rs = metrics(f"grid_{ds}_{a}_{e}")
            if not rs:
                cells.append("div")
                continue
            v = rs[-1]["val_err"] if ds != "energy" else rs[-1]["val_mse"]
            cells.append("div" if not math.isfinite(v) or v > 1e6 else fmt(v))
        md.append(f"| {ds} | {a} | " + " | ".join(cells) + f" | {chosen.get(ds, 'n/a') if a == 'sgd' else '(same)'} |")
md += [""]
md += ["| dataset | method | eta | exit 1 | exit 2 | exit 3 | predict us/call (1/2/3) | multiplies/row (1/2/3) | test rows |",
       "|---|---|---|---|---|---|---|---|---|"]
claims = []
for ds in ("breast_cancer", "digits", "energy"):
    reg = ds == "energy"
    per = {}
    for a in ("osgd", "sgd"):
        errs = [[], [], []]
        times = [[], [], []]
        mult, rows_n = ["n/a"] * 3, "n/a"
        for seed in (1, 2, 3):
            p = f"{work}/any_{ds}_{a}_s{seed}_exits.csv"
            if not os.path.exists(p):
                continue
            for r in csv.DictReader(open(p)):
                k = int(r["exit"]) - 1
                if k > 2:
                    continue
                v = math.sqrt(float(r["mse"])) if reg else float(r["err_pct"])
                errs[k].append(v)
                times[k].append(1e6 * float(r["seconds_per_call"]))
                mult[k] = r["multiplies_per_row"]
                rows_n = r["rows"]
        per[a] = [statistics.mean(e) if e else math.nan for e in errs]
        cells = [f"{fmt(statistics.mean(e))} [{fmt(min(e))}, {fmt(max(e))}]" if e else "n/a" for e in errs]
        tcell = "/".join(fmt(statistics.mean(t), 3) if t else "n/a" for t in times)
        md.append(f"| {ds} ({'test RMSE' if reg else 'test error %'}) | {a} | {chosen.get(ds, 'n/a')} | "
                  + " | ".join(cells) + f" | {tcell} | {'/'.join(mult)} | {rows_n} |")
    o, s = per["osgd"], per["sgd"]
    if all(math.isfinite(v) for v in o + s):
        later = [o[k] <= s[k] for k in (1, 2)]
        early = o[0] <= s[0]
        claims.append(f"- {ds}: exit 2 {'improved or equal' if later[0] else 'worse'} with OSGD "
                      f"({fmt(o[1])} vs {fmt(s[1])}), exit 3 {'improved or equal' if later[1] else 'worse'} "
                      f"({fmt(o[2])} vs {fmt(s[2])}); exit 1 {'not hurt' if early else 'hurt'} "
                      f"({fmt(o[0])} vs {fmt(s[0])}). Claim {'holds' if all(later) and early else 'does not hold'} "
                      "here (means of three seeds).")
    series = []
    for a in ("osgd", "sgd"):
        rs = metrics(f"any_{ds}_{a}_s1")
        series.append((a + " last exit, seed 1", col(rs, "iteration"),
                       [math.sqrt(v) for v in col(rs, "val_mse")] if reg else col(rs, "val_err")))
    plot(f"{out}/related_osgd_{ds}.png", f"{ds}: last-exit test {'RMSE' if reg else 'error %'} vs epoch",
         "epoch", "test RMSE" if reg else "error %", series, logy=reg)
md += ["", "Paper's claim (OSGD improves the later exits without hurting the early ones), here:", ""] + claims
md += ["", "Plots: " + ", ".join(f"`related_osgd_{d}.png`" for d in ("breast_cancer", "digits", "energy")), ""]

# ---- C ----
md += ["## C. ngmnn vs OIG-HWO, LM and a softmax MLP trained by L-BFGS (classification, Nh = 32)", "",
       "ngmnn 50 closed-form sweeps, OIG-HWO 50 iterations, LM 30 iterations (30 s cap); the L-BFGS peer is "
       "scikit-learn's MLPClassifier(solver='lbfgs') - softmax outputs with log-loss (logistic for two "
       f"classes), alpha 1e-4, tanh - run until its own convergence test or {fmt(2 * peer_budget)} s. Accuracy "
       "and macro-F1 are those of the final model on the test rows (not the best of the run); the best-of-run "
       "column shows what best-epoch reporting would claim.", "",
       "| dataset | method | iterations | test accuracy % | macro-F1 | best-of-run accuracy % | train s |",
       "|---|---|---|---|---|---|---|"]
for ds in ("breast_cancer", "digits"):
    truth = labels_of(ds)
    series = []
    for a in ("ngmnn", "oig-hwo", "lm", "sk-lbfgs"):
        p = f"{work}/cls_{ds}_{a}_pred.csv"
        rs = metrics(f"cls_{ds}_{a}")
        if not os.path.exists(p) or not rs:
            md.append(f"| {ds} | {a} | failed | | | | |")
            continue
        acc, f1 = acc_f1(truth, predicted(p))
        best = 100 - min(col(rs, "val_err"))
        s = summary(f"cls_{ds}_{a}")
        iters = int(rs[-1]["iteration"]) if "iteration" in rs[-1] else s.get("epochs_or_iters", "n/a")
        secs = rs[-1]["seconds"] if "iteration" in rs[-1] else s.get("trained_s", math.nan)
        lab = a if a != "sk-lbfgs" else f"sklearn lbfgs ({s.get('stopped', '?')})"
        md.append(f"| {ds} | {lab} | {iters} | {fmt(100 * acc)} | {fmt(f1)} | {fmt(best)} | {fmt(secs, 3)} |")
        series.append((a, col(rs, "seconds"), col(rs, "val_err")))
    plot(f"{out}/related_ngmnn_{ds}.png", f"{ds}: test error vs training time", "training seconds", "error %",
         series, logy=False, logx=True)
md += ["", "Plots: `related_ngmnn_breast_cancer.png`, `related_ngmnn_digits.png`", ""]

# ---- D ----
md += ["## D. Unitary projection of the OIG-HWO classifiers of C (W: 32 x N)", "",
       "`oigd project`: W's weight columns replaced by their polar factor (closed form) or by the Lie method; "
       "the OWO re-solve of the output weights uses the training rows only. Errors on the training rows come "
       "from the projection's report; test errors from `oigd predict` on the test rows. Polar vs lie = "
       "Frobenius distance between the two projected W (the Lie method's distance to the polar oracle).", "",
       "| dataset | method | distance moved | polar vs lie | train err % before / projected / after OWO | test err % before / projected (no OWO) / after OWO |",
       "|---|---|---|---|---|---|"]
for ds in ("breast_cancer", "digits"):
    ws = {}
    for meth in ("polar", "lie"):
        p = f"{work}/proj_{ds}_{meth}.json"
        if os.path.exists(p):
            doc = json.load(open(p))
            ws[meth] = [row[:-1] for row in doc["weights"]["W"]]
    dist = math.nan
    if len(ws) == 2:
        dist = math.sqrt(sum((a - b) ** 2 for ra, rb in zip(ws["polar"], ws["lie"]) for a, b in zip(ra, rb)))
    before = test_err(f"{work}/cls_{ds}_oig-hwo_pred.csv", ds)
    raw = test_err(f"{work}/proj_{ds}_raw_pred.csv", ds)
    for meth in ("polar", "lie"):
        p = f"{work}/proj_{ds}_{meth}.json"
        if not os.path.exists(p):
            md.append(f"| {ds} | {meth} | failed | | | |")
            continue
        meta = json.load(open(p)).get("metadata", {})
        g = lambda k: fnum(meta.get(k))
        after = test_err(f"{work}/proj_{ds}_{meth}_pred.csv", ds)
        md.append(f"| {ds} | {meth} | {fmt(g('projection.moved'))} | {fmt(dist)} | "
                  f"{fmt(g('projection.err_before'))} / {fmt(g('projection.err_projected'))} / {fmt(g('projection.err_reowo'))} | "
                  f"{fmt(before)} / {fmt(raw)} / {fmt(after)} |")
md += ["", "Iterations to the unprojected model's final test error (OIG-HWO, 50 iterations each; the test "
       "error is tracked as the validation curve by every run alike): fine-tuning the projected model "
       "(`oigd train --init-model`, iteration 0 = the projected model after its OWO re-solve on the training "
       "rows) with W kept orthogonal (`--orthogonal-hidden polar`) or free, against training orthogonal from "
       "scratch (net control, `--orthogonal-hidden polar`).", "",
       "| dataset | unprojected test err % | run | err % at iteration 0 | final err % | min err % | iterations to reach it | train s |",
       "|---|---|---|---|---|---|---|---|"]
d_claims = []
for ds in ("breast_cancer", "digits"):
    base = metrics(f"cls_{ds}_oig-hwo")
    if not base:
        continue
    target = base[-1]["val_err"]
    series = [("unprojected OIG-HWO", col(base, "iteration"), col(base, "val_err"))]
    hits = {}
    for run, label in (("ft", "fine-tune, orthogonal"), ("ftfree", "fine-tune, free"), ("scratch", "orthogonal from scratch")):
        rs = metrics(f"orth_{ds}_{run}")
        if not rs:
            md.append(f"| {ds} | {fmt(target)} | {label} | failed | | | | |")
            continue
        hit = next((int(r["iteration"]) for r in rs if r["val_err"] <= target), None)
        hits[run] = hit
        md.append(f"| {ds} | {fmt(target)} | {label} | {fmt(rs[0]['val_err'])} | {fmt(rs[-1]['val_err'])} | "
                  f"{fmt(min(col(rs, 'val_err')))} | {hit if hit is not None else 'not reached'} | {fmt(rs[-1]['seconds'], 3)} |")
        series.append((label, col(rs, "iteration"), col(rs, "val_err")))
    plot(f"{out}/related_unitary_{ds}.png", f"{ds}: test error vs iteration", "iteration", "error %", series,
         logy=False, hline=("unprojected final", target))
    ft, sc = hits.get("ft"), hits.get("scratch")
    if ft is not None and (sc is None or ft < sc):
        verdict = "holds"
    elif ft is not None and sc is not None and ft == sc:
        verdict = "ties"
    else:
        verdict = "does not hold"
    d_claims.append(f"- {ds}: orthogonal fine-tuning reached the unprojected error at iteration "
                    f"{ft if ft is not None else 'never (50)'}, orthogonal from scratch at "
                    f"{sc if sc is not None else 'never (50)'}: the claim {verdict} here.")
md += ["", "Paper's claim (a fine-tuned projected model reaches the unprojected model's accuracy in fewer "
       "iterations than training orthogonal from scratch), here:", ""] + d_claims
md += ["", "Plots: `related_unitary_breast_cancer.png`, `related_unitary_digits.png`", ""]
open(f"{out}/related_compare.md", "w").write("\n".join(md) + "\n")
