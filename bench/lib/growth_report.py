"""growth_report.py -- growth.sh's table -> bench/results/growth.md and log-log PNGs with fitted
slopes (least squares on log10 values), peak RSS against the dataset's float64 bytes.

    /usr/bin/python3 bench/lib/growth_report.py RESULTS.tsv OUTDIR ITERS BLAS_THREADS
"""
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine  # noqa: E402


def slope(xs, ys):
    pts = [(math.log10(x), math.log10(y)) for x, y in zip(xs, ys) if x > 0 and y and y > 0 and y == y]
    if len(pts) < 2:
        return None, None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None, None
    b = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx
    return b, my - b * mx


def plot(png, title, xlabel, ylabel, xs, ys, fit):
    data = "\n".join("%g %g" % (x, y) for x, y in zip(xs, ys) if y and y == y and y > 0)
    if not data:
        return False
    sc = ["set terminal pngcairo size 800,560 font ',10'", "set output '%s'" % png,
          "set logscale xy", "set grid", "set title \"%s\"" % title, "set xlabel '%s'" % xlabel,
          "set ylabel '%s'" % ylabel, "$d << EOD", data, "EOD"]
    if fit[0] is not None:
        sc.append("plot $d using 1:2 with linespoints pt 7 title 'measured', "
                  "10**(%g)*x**(%g) with lines dt 2 title 'fit: slope %.3f'" % (fit[1], fit[0], fit[0]))
    else:
        sc.append("plot $d using 1:2 with linespoints pt 7 title 'measured'")
    return subprocess.run(["gnuplot"], input="\n".join(sc), text=True, capture_output=True).returncode == 0


def main():
    res, out, iters, threads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    reps = sys.argv[5] if len(sys.argv) > 5 else "1"
    rows = []
    with open(res) as f:
        hdr = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(hdr, line.rstrip("\n").split("\t")))
            for k in ("nv", "n", "nh", "m", "rc", "iters", "rss_kb", "data_bytes", "file_bytes"):
                try:
                    r[k] = int(r[k])
                except (ValueError, KeyError):
                    r[k] = None
            try:
                r["spi"] = float(r["sec_per_iter"])
            except ValueError:
                r["spi"] = float("nan")
            rows.append(r)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    L = ["# Growth of OIG-HWO's cost (issue 4, measure 2)", "", machine.describe(root), "## Setup", "",
         "- `oigd train --algorithm oig-hwo`, %s iterations, threads `%s`, synthetic data from "
         "bench/gen_synth.c (seed 1, 10%% of rows as test). Seconds per iteration = (seconds at the last "
         "iteration - seconds at iteration 1) / (iterations - 1): loading, standardization and the "
         "initial OWO are excluded. Each point runs %s times: the tables give the median seconds per "
         "iteration and the largest peak RSS." % (iters, threads, reps),
         "- Peak RSS: /usr/bin/time -v of the whole process. Dataset bytes = Nv (N+M) 8, the float64 "
         "payload; the text file is larger (column `file MB`), and it is read into memory before parsing.",
         "- Goals (issue 4): slope in Nv 1.0 +/- 0.1 up to 1e6 rows; peak RSS <= 1.5 x dataset bytes.", ""]
    for sweep, var, label in (("nv", "nv", "Nv (rows)"), ("n", "n", "N (inputs)"), ("nh", "nh", "Nh (hidden units)")):
        rs = [r for r in rows if r["sweep"] == sweep]
        if not rs:
            continue
        xs = [r[var] for r in rs]
        ys = [r["spi"] if r["rc"] == 0 else float("nan") for r in rs]
        fit = slope(xs, ys)
        L += ["## Sweep over %s" % label, "",
              "| Nv | N | Nh | M | exit | iterations | s/iteration | peak RSS MB | dataset MB | RSS / dataset | file MB |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            rss = r["rss_kb"] / 1024 if r["rss_kb"] else None
            dmb = r["data_bytes"] / 2 ** 20
            L.append("| %d | %d | %d | %d | %s | %s | %s | %s | %.1f | %s | %.1f |" % (
                r["nv"], r["n"], r["nh"], r["m"], r["rc"], r["iters"],
                "%.4g" % r["spi"] if r["spi"] == r["spi"] else "n/a",
                "%.1f" % rss if rss else "n/a", dmb, "%.2f" % (rss / dmb) if rss else "n/a",
                r["file_bytes"] / 2 ** 20 if r["file_bytes"] else 0))
        L.append("")
        L.append("Fitted log-log slope of s/iteration vs %s: **%s** (all points)" % (
            label, "%.3f" % fit[0] if fit[0] is not None else "n/a"))
        if sweep == "nv":
            big = [(x, y) for x, y in zip(xs, ys) if x >= 10000]
            fb = slope([p[0] for p in big], [p[1] for p in big])
            L[-1] += "; %s for Nv >= 1e4." % ("%.3f" % fb[0] if fb[0] is not None else "n/a")
            rss = [(r["data_bytes"], r["rss_kb"] * 1024) for r in rs if r["rss_kb"]]
            if rss:
                fr = slope([p[0] for p in rss], [p[1] for p in rss])
                png = os.path.join(out, "growth_rss.png")
                if plot(png, "peak RSS vs dataset bytes (Nv sweep)", "dataset bytes", "peak RSS bytes",
                        [p[0] for p in rss], [p[1] for p in rss], fr):
                    L += ["", "![growth_rss.png](growth_rss.png)"]
        png = os.path.join(out, "growth_%s.png" % sweep)
        if plot(png, "OIG-HWO seconds per iteration vs %s" % label, label, "seconds per iteration",
                xs, ys, fit):
            L += ["", "![growth_%s.png](growth_%s.png)" % (sweep, sweep)]
        L.append("")
    with open(os.path.join(out, "growth.md"), "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
