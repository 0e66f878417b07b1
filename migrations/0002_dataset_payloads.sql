-- 0002_dataset_payloads.sql -- a dataset's arrays move to rows of their own, one per array, the blob as the row's last
-- column. SQLite can then insert it as a zeroblob that the store fills in place with incremental
-- blob I/O, instead of assembling the whole datasets row (blobs included) in memory for the
-- INSERT. The datasets table loses its x, t and cls columns.

CREATE TABLE dataset_payloads (
    id          INTEGER PRIMARY KEY,
    dataset_seq INTEGER NOT NULL REFERENCES datasets(seq) ON DELETE CASCADE,
    part        TEXT NOT NULL CHECK (part IN ('x', 't', 'cls')),
    data        BLOB NOT NULL,                   -- x: nrows x n float64, t: nrows x m float64,
                                                 -- cls: nrows int32 (classification only)
    UNIQUE (dataset_seq, part)
);

INSERT INTO dataset_payloads(dataset_seq, part, data) SELECT seq, 'x', x FROM datasets;
INSERT INTO dataset_payloads(dataset_seq, part, data) SELECT seq, 't', t FROM datasets;
INSERT INTO dataset_payloads(dataset_seq, part, data) SELECT seq, 'cls', cls FROM datasets WHERE cls IS NOT NULL;
ALTER TABLE datasets DROP COLUMN x;
ALTER TABLE datasets DROP COLUMN t;
ALTER TABLE datasets DROP COLUMN cls;
