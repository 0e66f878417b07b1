"""equal_time_summary.py -- the "at equal training time" summary of peers_driver.py, for reports
written before the driver printed it: reads each report's per-set equal-time tables (test RMSE,
or test error % for classification) and prints, per set and time T, oigd's best entry against the
best peer.

    /usr/bin/python3 bench/lib/equal_time_summary.py bench/results/time_to_accuracy.md [MORE.md ...]
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers_driver import equal_time_summary  # noqa: E402


def read_report(path):
    """[(set, classification, [T...], {tool: [value or None per T]})] from one report."""
    sets = []
    text = open(path).read()
    for section in re.split(r"\n## ", text)[1:]:
        name = section.split("\n", 1)[0].strip()
        m = re.search(r"\nTest (RMSE|error %)[^\n]*at equal training time[^\n]*\n\n(\|[^\n]*\n\|[^\n]*\n(?:\|[^\n]*\n)*)",
                      section)
        if not m:
            continue
        lines = m.group(2).strip().split("\n")
        Ts = [float(h.strip()[2:-1]) for h in lines[0].strip("|").split("|")[1:]]
        vals = {}
        for line in lines[2:]:
            cells = [c.strip() for c in line.strip("|").split("|")]
            vals[cells[0]] = [None if c == "n/a" else float(c) for c in cells[1:]]
        sets.append((name, m.group(1) == "error %", Ts, vals))
    return sets


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        print("### %s" % os.path.relpath(path))
        print()
        print("\n".join(equal_time_summary(read_report(path))))
        print()


if __name__ == "__main__":
    main()
