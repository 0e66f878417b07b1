-- 0003_model_aliases.sql -- stable names for models. A client predicts through
-- /v1/models/{alias}/predict; an operator moves the alias to another model in one write, and a
-- model an alias names cannot be deleted.

CREATE TABLE model_aliases (
    name        TEXT PRIMARY KEY,
    model_seq   INTEGER NOT NULL REFERENCES models(seq) ON DELETE RESTRICT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX model_aliases_by_model ON model_aliases(model_seq);
