"""uci.py -- benchmark data loaders shared by the peer trainers and the bench scripts.

Loads a UCI regression set from ../shared/datasets/uci/NAME (columns chosen by
index_features.txt / index_target.txt, rows by index_train_K.txt / index_test_K.txt), a
classification CSV from ../shared/datasets/classification/ (seeded 80/20 split, written as index
files so oigd uses exactly the same rows), or any whitespace/CSV file with explicit columns and
index files (the synthetic sets). Inputs are standardized on the training rows only; a constant
column (naval's input 8) keeps scale 1 so it is centred, never divided by zero.

Run as a script to print a set's shape or write a split's index files:
    /usr/bin/python3 bench/lib/uci.py info energy
    /usr/bin/python3 bench/lib/uci.py classsplit digits OUTDIR
"""
import os
import sys

import numpy as np

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(BENCH_DIR)

UCI_SETS = ["bostonHousing", "concrete", "energy", "naval-propulsion-plant", "power-plant",
            "protein-tertiary-structure", "yacht"]
CLASS_SETS = ["digits", "breast_cancer"]
CLASS_HIDDEN = {"digits": 50, "breast_cancer": 20}   # no n_hidden.txt for these: chosen here


def datasets_root():
    """The shared data folder: $OIGD_DATASETS, else ../shared/datasets from the repository root,
    else the first ancestor of this file that has shared/datasets (robust to worktrees)."""
    env = os.environ.get("OIGD_DATASETS")
    if env and os.path.isdir(env):
        return os.path.abspath(env)
    cand = os.path.join(REPO_ROOT, "..", "shared", "datasets")
    if os.path.isdir(cand):
        return os.path.abspath(cand)
    d = REPO_ROOT
    while True:
        c = os.path.join(d, "shared", "datasets")
        if os.path.isdir(c):
            return c
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    raise FileNotFoundError("shared/datasets not found; set OIGD_DATASETS")


def uci_dir(name):
    return os.path.join(datasets_root(), "uci", name)


def _read_ints(path):
    with open(path) as f:
        return np.array([int(float(v)) for v in f.read().split()], dtype=np.int64)


def read_ws(path):
    """Whitespace-separated numeric table: tabs, trailing blanks and blank lines allowed."""
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts:
                rows.append([float(v) for v in parts])
    width = {len(r) for r in rows}
    if len(width) != 1:
        raise ValueError("%s: ragged rows (widths %s)" % (path, sorted(width)))
    return np.array(rows, dtype=np.float64)


def read_csv_header(path):
    """CSV with one header row; returns (names, float matrix for numeric columns, raw last column)."""
    import csv
    with open(path, newline="") as f:
        r = csv.reader(f)
        names = next(r)
        raw = [row for row in r if row]
    return names, raw


class Split:
    """One train/test split: standardized inputs, targets on the original scale, statistics kept.

    xtr, xte: standardized inputs (Ntr x N, Nte x N)
    ttr, tte: targets (original scale; for classification +1/-1 coded, M = number of classes)
    x_mean, x_scale: the training-row statistics used (scale 1 where the column is constant)
    ctr, cte: class indices (classification) or None
    """

    def __init__(self, name, x, t, tr, te, task="regression", cls=None, labels=None,
                 standardize=True, hidden=None, files=None):
        self.name = name
        self.task = task
        self.tr_idx, self.te_idx = tr, te
        xtr, xte = x[tr], x[te]
        if standardize:
            self.x_mean = xtr.mean(axis=0)
            sd = xtr.std(axis=0)
            self.x_scale = np.where(sd > 1e-12 * np.maximum(1.0, np.abs(self.x_mean)), sd, 1.0)
        else:
            self.x_mean = np.zeros(x.shape[1])
            self.x_scale = np.ones(x.shape[1])
        self.xtr = (xtr - self.x_mean) / self.x_scale
        self.xte = (xte - self.x_mean) / self.x_scale
        self.ttr, self.tte = t[tr], t[te]
        self.ctr = cls[tr] if cls is not None else None
        self.cte = cls[te] if cls is not None else None
        self.labels = labels
        self.hidden = hidden
        self.files = files or {}   # what oigd needs to read the same rows (data, columns, indices)

    @property
    def n(self):
        return self.xtr.shape[1]

    @property
    def m(self):
        return self.ttr.shape[1]

    def target_stats(self):
        """Mean and scale of the training targets (used by peers that train on standardized targets)."""
        if self.task == "classification":
            return np.zeros(self.m), np.ones(self.m)
        mu = self.ttr.mean(axis=0)
        sd = self.ttr.std(axis=0)
        return mu, np.where(sd > 0, sd, 1.0)


def mse(y, t):
    """The engine's error: squared errors summed over outputs, averaged over patterns."""
    d = np.asarray(y, dtype=np.float64) - t
    return float(np.mean(np.sum(d * d, axis=1)))


def err_pct(y, cls):
    return float(100.0 * np.mean(np.argmax(y, axis=1) != cls))


def load_uci(name, split=0, standardize=True):
    d = uci_dir(name)
    x_all = read_ws(os.path.join(d, "data.txt"))
    feat = _read_ints(os.path.join(d, "index_features.txt"))
    targ = _read_ints(os.path.join(d, "index_target.txt"))
    tr = _read_ints(os.path.join(d, "index_train_%d.txt" % split))
    te = _read_ints(os.path.join(d, "index_test_%d.txt" % split))
    hidden = int(open(os.path.join(d, "n_hidden.txt")).read().split()[0])
    x = x_all[:, feat]
    t = x_all[:, targ].reshape(len(x_all), -1)
    files = {"data": os.path.join(d, "data.txt"), "format": "ws",
             "input_columns": ",".join(str(int(v)) for v in feat),
             "target_columns": ",".join(str(int(v)) for v in targ.ravel()),
             "train_index": os.path.join(d, "index_train_%d.txt" % split),
             "test_index": os.path.join(d, "index_test_%d.txt" % split),
             "task": "regression"}
    return Split(name, x, t, tr, te, standardize=standardize, hidden=hidden, files=files)


def class_split_indices(nrows, seed=0, test_frac=0.2):
    """The seeded 80/20 split used for the classification CSVs (no published split exists)."""
    perm = np.random.RandomState(seed).permutation(nrows)
    nte = int(round(test_frac * nrows))
    return np.sort(perm[nte:]), np.sort(perm[:nte])


def write_class_split(name, outdir, seed=0):
    path = os.path.join(datasets_root(), "classification", name + ".csv")
    names, raw = read_csv_header(path)
    tr, te = class_split_indices(len(raw), seed)
    os.makedirs(outdir, exist_ok=True)
    ftr = os.path.join(outdir, "%s_train_%d.txt" % (name, seed))
    fte = os.path.join(outdir, "%s_test_%d.txt" % (name, seed))
    np.savetxt(ftr, tr, fmt="%d")
    np.savetxt(fte, te, fmt="%d")
    return ftr, fte


def load_class(name, split=0, standardize=True, workdir=None):
    path = os.path.join(datasets_root(), "classification", name + ".csv")
    names, raw = read_csv_header(path)
    x = np.array([[float(v) for v in row[:-1]] for row in raw], dtype=np.float64)
    lab_raw = [row[-1] for row in raw]
    try:
        uniq = sorted(set(lab_raw), key=float)
    except ValueError:
        uniq = sorted(set(lab_raw))
    cls = np.array([uniq.index(v) for v in lab_raw], dtype=np.int64)
    t = -np.ones((len(raw), len(uniq)))
    t[np.arange(len(raw)), cls] = 1.0
    tr, te = class_split_indices(len(raw), split)
    files = {"data": path, "format": "csv",
             "input_columns": ",".join(str(i) for i in range(len(names) - 1)),
             "target_columns": str(len(names) - 1), "task": "classification"}
    if workdir:
        ftr, fte = write_class_split(name, workdir, split)
        files.update(train_index=ftr, test_index=fte)
    return Split(name, x, t, tr, te, task="classification", cls=cls, labels=uniq,
                 standardize=standardize, hidden=CLASS_HIDDEN.get(name, 30), files=files)


def load_table(path, input_columns, target_columns, train_index, test_index, fmt=None,
               standardize=True, hidden=None):
    """Any numeric file (ws, or CSV with a header) with explicit 0-based columns and index files."""
    fmt = fmt or ("csv" if path.endswith(".csv") else "ws")
    if fmt == "csv":
        a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    else:
        a = read_ws(path)
    ic = [int(v) for v in str(input_columns).split(",")]
    tc = [int(v) for v in str(target_columns).split(",")]
    tr, te = _read_ints(train_index), _read_ints(test_index)
    files = {"data": path, "format": fmt, "input_columns": ",".join(map(str, ic)),
             "target_columns": ",".join(map(str, tc)), "train_index": train_index,
             "test_index": test_index, "task": "regression"}
    return Split(os.path.basename(path), a[:, ic], a[:, tc], tr, te, standardize=standardize,
                 hidden=hidden, files=files)


def load(name, split=0, standardize=True, workdir=None):
    """A set by name: one of the UCI folders or classification CSVs."""
    if name in CLASS_SETS:
        return load_class(name, split, standardize, workdir or os.path.join(BENCH_DIR, "work", "splits"))
    return load_uci(name, split, standardize)


def add_data_args(ap):
    """The data options every peer accepts (a named set, or a file with columns and indices)."""
    ap.add_argument("--dataset", help="UCI folder name or classification CSV stem")
    ap.add_argument("--split", type=int, default=0)
    ap.add_argument("--data", help="explicit data file (with --input-columns etc.)")
    ap.add_argument("--input-columns")
    ap.add_argument("--target-columns")
    ap.add_argument("--train-index")
    ap.add_argument("--test-index")
    ap.add_argument("--no-standardize", action="store_true")


def load_from_args(a):
    if a.data:
        return load_table(a.data, a.input_columns, a.target_columns, a.train_index, a.test_index,
                          standardize=not a.no_standardize)
    return load(a.dataset, a.split, standardize=not a.no_standardize)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "info":
        s = load(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
        print("%s task=%s train=%d test=%d N=%d M=%d hidden=%s const_inputs=%d" % (
            s.name, s.task, len(s.xtr), len(s.xte), s.n, s.m, s.hidden,
            int(np.sum(s.x_scale == 1.0))))
        for k, v in s.files.items():
            print("  %s=%s" % (k, v))
    elif len(sys.argv) >= 4 and sys.argv[1] == "classsplit":
        print(*write_class_split(sys.argv[2], sys.argv[3]))
    else:
        print(__doc__)
        sys.exit(2)
