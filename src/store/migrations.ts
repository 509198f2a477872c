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
];
