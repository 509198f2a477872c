// Numbered migrations, tracked with PRAGMA user_version. Never edit one that has landed: add the next.
export const MIGRATIONS: readonly string[] = [
  // 1: runs, metrics, events
  `
  CREATE TABLE run (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('queued','running','completed','failed','cancelled','interrupted')),
    config      TEXT    NOT NULL CHECK (json_valid(config)),
    seed        INTEGER NOT NULL,
    backend     TEXT,
    device      TEXT,
    pid         INTEGER,
    host        TEXT,
    created_at  REAL    NOT NULL,
    started_at  REAL,
    ended_at    REAL,
    error       TEXT
  );
  CREATE INDEX run_status ON run(status);

  -- One row per (run, key, step): a re-written point replaces the old one, so a resumed run never
  -- holds duplicates. Clustered by run and key, so a history is one range scan.
  CREATE TABLE metric (
    run_id    INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    step      INTEGER NOT NULL,
    epoch     REAL    NOT NULL,
    value     REAL    NOT NULL,
    wall_time REAL    NOT NULL,
    PRIMARY KEY (run_id, key, step)
  ) WITHOUT ROWID;

  CREATE TABLE event (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    epoch     INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    payload   TEXT    NOT NULL CHECK (json_valid(payload)),
    wall_time REAL    NOT NULL
  );
  CREATE INDEX event_run ON event(run_id, step);
  `,
  // 2: resume flag, test evaluations and predictions
  `
  -- Set when a stopped run is queued again to continue from its last checkpoint (runs:resume);
  -- the trainer that claims it gets --resume.
  ALTER TABLE run ADD COLUMN resume INTEGER NOT NULL DEFAULT 0;

  -- The test set evaluated with the best-val and the last weights of a run.
  CREATE TABLE evaluation (
    run_id      INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    checkpoint  TEXT    NOT NULL CHECK (checkpoint IN ('best','last')),
    epoch       INTEGER NOT NULL,
    step        INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    loss        REAL    NOT NULL,
    acc         REAL    NOT NULL,
    top5        REAL,
    confusion   TEXT    NOT NULL CHECK (json_valid(confusion)),   -- K x K counts, [true][predicted]
    per_class   TEXT    NOT NULL CHECK (json_valid(per_class)),   -- K accuracies (null: no images)
    class_names TEXT    NOT NULL CHECK (json_valid(class_names)),
    image_shape TEXT    NOT NULL CHECK (json_valid(image_shape)), -- [h, w, c] of prediction.image
    wall_time   REAL    NOT NULL,
    PRIMARY KEY (run_id, checkpoint)
  ) WITHOUT ROWID;

  -- Every test image's prediction by the best checkpoint; the pixels (uint8, h*w*c) only for the
  -- few hundred the run page shows, so the UI needs neither tfjs nor the dataset.
  CREATE TABLE prediction (
    run_id     INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    label      INTEGER NOT NULL,
    pred       INTEGER NOT NULL,
    confidence REAL    NOT NULL,
    image      BLOB,
    PRIMARY KEY (run_id, idx)
  );
  CREATE INDEX prediction_confidence ON prediction(run_id, confidence);
  `,
];
