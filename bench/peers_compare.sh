#!/usr/bin/env bash
# peers_compare.sh -- issue 4, measure 1: wall seconds for oigd (OIG-HWO, with and without bypass
# weights) and each peer (PyTorch Adam full/mini-batch and L-BFGS, scikit-learn lbfgs/adam,
# SciPy least_squares LM, FANN RPROP) to reach the best peer's test accuracy, median of 5 runs, the
# ratios peer/oigd and the test error at equal wall time, on every set in ../shared/datasets.
# Writes bench/results/time_to_accuracy.md, time_to_accuracy.json and tta_<set>.png.
#
#   bash bench/peers_compare.sh              # full run (roughly 2 h on 2 cores; machine must be idle)
#   bash bench/peers_compare.sh --smoke      # 2 runs, budgets x0.1, energy + breast_cancer -> bench/work/smoke
#   extra options go to bench/lib/peers_driver.py: --sets "energy yacht" --runs 5 --budget-scale 0.5
#       --tools "oigd-oig-hwo torch-adam-full" --oigd PATH
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# the whole run is bounded: every tool run has its own timeout inside the driver, and this cap stops the rest
exec timeout --kill-after=30 "${PEERS_MAX_SECONDS:-14400}" /usr/bin/python3 "$here/lib/peers_driver.py" "$@"
