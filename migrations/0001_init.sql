-- 0001_init.sql -- the first schema: datasets (metadata + float64 payload), jobs, per-iteration
-- metrics, checkpoints and models. Applied once, inside the migration transaction.

CREATE TABLE datasets (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    nrows        INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    m            INTEGER NOT NULL,
    task         TEXT NOT NULL CHECK (task IN ('regression', 'classification')),
    nclasses     INTEGER NOT NULL DEFAULT 0,
    labels       TEXT NOT NULL DEFAULT '[]',     -- JSON array of class labels
    input_names  TEXT NOT NULL DEFAULT '[]',     -- JSON array, n names
    target_names TEXT NOT NULL DEFAULT '[]',     -- JSON array
    sha256       TEXT NOT NULL,
    x            BLOB NOT NULL,                  -- nrows x n float64, row-major, host order
    t            BLOB NOT NULL,                  -- nrows x m float64
    cls          BLOB,                           -- nrows int32 class indices (classification)
    created_at   TEXT NOT NULL
);

CREATE TABLE jobs (
    seq                 INTEGER PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,
    dataset_id          TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    params              TEXT NOT NULL,           -- the validated request, JSON
    algorithm           TEXT NOT NULL,
    hidden_units        INTEGER NOT NULL,
    max_iterations      INTEGER NOT NULL,
    iteration           INTEGER,                 -- last iteration recorded, NULL before the first
    train_mse           REAL,
    val_mse             REAL,
    train_err           REAL,
    val_err             REAL,
    cancel_requested    INTEGER NOT NULL DEFAULT 0,
    model_id            TEXT,
    error               TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    started_at          TEXT,
    finished_at         TEXT
);
CREATE INDEX jobs_status ON jobs(status, seq);
CREATE INDEX jobs_dataset ON jobs(dataset_id, status);

CREATE TABLE metrics (
    job_id      TEXT NOT NULL,
    iteration   INTEGER NOT NULL,
    train_mse   REAL,
    val_mse     REAL,
    train_err   REAL,
    val_err     REAL,
    multiplies  REAL,
    seconds     REAL,
    PRIMARY KEY (job_id, iteration)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
    job_id      TEXT PRIMARY KEY,
    iteration   INTEGER NOT NULL,
    model       TEXT NOT NULL,                   -- the model JSON document at that iteration
    created_at  TEXT NOT NULL
);

CREATE TABLE models (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    job_id      TEXT,
    algorithm   TEXT NOT NULL,
    n           INTEGER NOT NULL,
    nh          INTEGER NOT NULL,
    m           INTEGER NOT NULL,
    task        TEXT NOT NULL,
    doc         TEXT NOT NULL,                   -- the model JSON document
    created_at  TEXT NOT NULL
);
