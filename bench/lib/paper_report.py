"""paper_report.py -- turns paper_compare.sh's runs into bench/results/paper_compare.md and the
per-set gnuplot PNGs. Reads runs.tsv (set, scale, algorithm, Nh, NIT, exit code, predict exit code,
run dir) and each run's metrics CSV (iteration,train_mse,val_mse,train_err,val_err,multiplies,seconds).
Every run appears in the tables, failed or not; a claim with a missing number is "n/a", never "yes".

    /usr/bin/python3 bench/lib/paper_report.py --runs bench/work/paper/runs.tsv --out bench/results
"""
import argparse
import csv
import math
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine  # noqa: E402
import uci  # noqa: E402

ALGS = ["bp", "oig-bp", "hwo", "oig-hwo", "lm"]


def published_rmse():
    """The published test RMSE column of ../shared/datasets/README.md, by set name."""
    out = {}
    path = os.path.join(uci.datasets_root(), "README.md")
    try:
        for line in open(path):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 6 and cells[0] in uci.UCI_SETS:
                out[cells[0]] = cells[5]
    except OSError:
        pass
    return out


def read_metrics(path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    with open(path) as f:
        rows = list(csv.DictReader(f))
    good = []
    for r in rows:
        try:
            good.append({k: (float(v) if v not in ("", None) else math.nan) for k, v in r.items()})
        except ValueError:
            continue
    return good or None


def pred_rmse(run_dir, alg, set_name):
    """Test RMSE from `oigd predict` output over the whole data file (first numeric column)."""
    p = os.path.join(run_dir, alg + ".pred.csv")
    if not os.path.exists(p):
        return None
    try:
        s = uci.load_uci(set_name, 0)
        vals = []
        for line in open(p):
            c = line.strip().split(",")[0]
            try:
                vals.append(float(c))
            except ValueError:
                continue
        n_all = len(s.tr_idx) + len(s.te_idx)
        if len(vals) != n_all:
            return "rows %d != %d" % (len(vals), n_all)
        y = [vals[i] for i in s.te_idx]
        t = s.tte[:, 0]
        return math.sqrt(sum((a - b) ** 2 for a, b in zip(y, t)) / len(y))
    except Exception as e:
        return "error: %s" % e


def fmt(v, p=4):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, str):
        return v
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return "%.*e" % (p - 1, v)
    return "%.*g" % (p, v)


def gnuplot(out_png, title, curves, mcol):
    """curves: [(label, csv path)]; left panel train MSE vs iteration, right vs log10 multiplies."""
    if not curves:
        return False
    script = ["set terminal pngcairo size 1400,520 font ',10'" if _has_cairo() else
              "set terminal png size 1400,520",
              "set output '%s'" % out_png, "set datafile separator ','",
              "set multiplot layout 1,2 title '%s'" % title, "set logscale y", "set grid",
              "set key top right", "set xlabel 'iteration'", "set ylabel 'training MSE'"]
    plots = ["'%s' using 1:2 every ::1 with lines lw 2 title '%s'" % (p, lab) for lab, p in curves]
    script.append("plot " + ", ".join(plots))
    script += ["set xlabel 'log10(cumulative multiplies)'"]
    plots = ["'%s' using (log10($%d)):2 every ::1 with lines lw 2 title '%s'" % (p, mcol, lab)
             for lab, p in curves]
    script.append("plot " + ", ".join(plots))
    script.append("unset multiplot")
    r = subprocess.run(["gnuplot"], input="\n".join(script), text=True, capture_output=True)
    if r.returncode != 0:
        sys.stderr.write("gnuplot failed for %s: %s\n" % (out_png, r.stderr[-500:]))
    return r.returncode == 0


_cairo = None


def _has_cairo():
    global _cairo
    if _cairo is None:
        r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        _cairo = "pngcairo" in (r.stdout + r.stderr)
    return _cairo


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--iterations", type=int)
    ap.add_argument("--seed")
    ap.add_argument("--timeout")
    ap.add_argument("--oigd")
    a = ap.parse_args()
    pub = published_rmse()
    runs = {}
    for line in open(a.runs):
        f = line.rstrip("\n").split("\t")
        if len(f) < 8:
            continue
        st, sc, alg, nh, nit, rc, prc, d = f[:8]
        m = read_metrics(os.path.join(d, alg + ".csv"))
        tm = None
        try:
            e, kb = open(os.path.join(d, alg + ".time")).read().split()[-2:]
            tm = (float(e), int(kb))
        except Exception:
            pass
        err = ""
        try:
            err = open(os.path.join(d, alg + ".stderr")).read().strip().splitlines()[-1][:160]
        except Exception:
            pass
        last = m[-1] if m else None
        runs[(st, sc, alg)] = {
            "nh": int(nh), "nit": int(nit), "rc": int(rc), "prc": prc, "dir": d, "m": m, "last": last,
            "wall": tm[0] if tm else None, "rss_mb": tm[1] / 1024 if tm else None, "err": err,
            "pred_rmse": pred_rmse(d, alg, st) if int(rc) == 0 else None,
        }
    sets = []
    for (st, _, _) in runs:
        if st not in sets:
            sets.append(st)

    L = ["# Paper claims on the UCI sets (issue 2, \"Results on real data\")", "",
         machine.describe(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
         "## Setup", "",
         "- `oigd train` (%s), split 0 of each set, Nh from `n_hidden.txt` (see the Nh column), seed %s "
         "for every algorithm (same net-control initial input weights and initial OWO), the same "
         "budget of **%s iterations** for every algorithm, LM included. Safety timeout %s s per run "
         "(a run cut by it is marked, exit code 124)." % (a.oigd, a.seed, a.iterations, a.timeout),
         "- Inputs: `std` = standardized on the training rows (oigd's default); `raw` = "
         "`--no-standardize`. oigd's network has bypass (input-to-output) weights; sigmoid hidden units.",
         "- Training MSE = the metrics' final `train_mse` (squared error summed over outputs, averaged "
         "over training rows, original target scale). Test RMSE = sqrt of the final `val_mse` (the test "
         "rows of split 0); `predict RMSE` recomputes it from `oigd predict` output as a cross-check.",
         "- Multiplies = the engine's cumulative count (spec section 8) at the last iteration; seconds = "
         "the metrics' elapsed training time; wall/RSS = the whole process, from /usr/bin/time.",
         "- Claims: (1) final training MSE OIG-HWO <= HWO; (2) OIG-BP <= BP; (3) OIG-HWO <= 1.10 x LM's "
         "final training MSE; (4) LM's multiplies >= 10 x OIG-HWO's. Published RMSE: MC dropout, "
         "thousands of epochs, averaged over 20 splits (5 for protein) - a reference for accuracy only.",
         ""]
    claims_rows = []
    for sc in ["std", "raw"]:
        L += ["## Results, %s inputs" % sc, "",
              "| set | Nh | algorithm | exit | iterations | final train MSE | multiplies | seconds | "
              "wall s | peak RSS MB | test RMSE | predict RMSE | published RMSE |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for st in sets:
            for alg in ALGS:
                r = runs.get((st, sc, alg))
                if not r:
                    continue
                last = r["last"] or {}
                it = last.get("iteration")
                rc = r["rc"]
                exit_s = str(rc) + (" (timeout)" if rc == 124 else "")
                if rc != 0 and r["err"]:
                    exit_s += ": " + r["err"].replace("|", "/")
                vm = last.get("val_mse")
                L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    st, r["nh"], alg, exit_s, fmt(it, 6), fmt(last.get("train_mse")),
                    fmt(last.get("multiplies")), fmt(last.get("seconds")), fmt(r["wall"]),
                    fmt(r["rss_mb"], 3), fmt(math.sqrt(vm) if vm is not None and vm == vm else None),
                    fmt(r["pred_rmse"]), pub.get(st, "n/a")))
        L.append("")
        L += ["### Claims, %s inputs" % sc, "",
              "| set | OIG-HWO <= HWO | OIG-BP <= BP | OIG-HWO within 10% of LM | LM multiplies / OIG-HWO |",
              "|---|---|---|---|---|"]
        tally = [0, 0, 0, 0, 0]
        for st in sets:
            g = {alg: (runs.get((st, sc, alg)) or {}).get("last") or {} for alg in ALGS}
            e = {alg: g[alg].get("train_mse") for alg in ALGS}
            mu = {alg: g[alg].get("multiplies") for alg in ALGS}

            def cmp(x, y, factor=1.0):
                if x is None or y is None or x != x or y != y:
                    return None, "n/a"
                ok = x <= factor * y
                return ok, "%s (%s vs %s)" % ("yes" if ok else "**no**", fmt(x), fmt(y))
            c1, s1 = cmp(e["oig-hwo"], e["hwo"])
            c2, s2 = cmp(e["oig-bp"], e["bp"])
            c3, s3 = cmp(e["oig-hwo"], e["lm"], 1.10)
            if mu["lm"] and mu["oig-hwo"] and mu["oig-hwo"] > 0:
                ratio = mu["lm"] / mu["oig-hwo"]
                c4, s4 = ratio >= 10, "%s (%.1fx)" % ("yes" if ratio >= 10 else "**no**", ratio)
            else:
                c4, s4 = None, "n/a"
            for i, c in enumerate([c1, c2, c3, c4]):
                tally[i] += bool(c)
            tally[4] += 1
            claims_rows.append((sc, st, c1, c2, c3, c4))
            L.append("| %s | %s | %s | %s | %s |" % (st, s1, s2, s3, s4))
        L += ["", "Held on %d/%d, %d/%d, %d/%d and %d/%d sets (n/a counts as not held)." % (
            tally[0], tally[4], tally[1], tally[4], tally[2], tally[4], tally[3], tally[4]), ""]

    L += ["## Plots", "",
          "Training MSE against iteration (left) and against log10 cumulative multiplies (right), one "
          "PNG per set and input scaling:", ""]
    for st in sets:
        for sc in ["std", "raw"]:
            curves = []
            mcol = 6
            for alg in ALGS:
                r = runs.get((st, sc, alg))
                if r and r["m"]:
                    p = os.path.join(r["dir"], alg + ".csv")
                    hdr = open(p).readline().strip().split(",")
                    if "multiplies" in hdr:
                        mcol = hdr.index("multiplies") + 1
                    curves.append((alg, p))
            png = "paper_%s_%s.png" % (st, sc)
            if curves and gnuplot(os.path.join(a.out, png), "%s, %s inputs" % (st, sc), curves, mcol):
                L.append("- [%s](%s)" % (png, png))
            else:
                L.append("- %s %s: no plot (no metrics)" % (st, sc))
    L.append("")
    with open(os.path.join(a.out, "paper_compare.md"), "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
