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
  // 3: experiments — a baseline config and arms, each run of which belongs to one arm and one seed
  `
  -- spec: what the experiment was created from (baseline config input, pre-training, description,
  -- question, preset id); seeds: the seed list, in launch order (seeds added later are appended).
  CREATE TABLE experiment (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    spec        TEXT    NOT NULL CHECK (json_valid(spec)),
    seeds       TEXT    NOT NULL CHECK (json_valid(seeds)),
    created_at  REAL    NOT NULL
  );

  -- role: 'baseline' (exactly one per experiment, the reference of every paired difference),
  -- 'arm', or 'pretrain' (a run per seed that the arms fine-tune from; not compared).
  -- sets: the dotted config fields the arm changes relative to the baseline.
  CREATE TABLE arm (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id INTEGER NOT NULL REFERENCES experiment(id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('baseline', 'arm', 'pretrain')),
    position      INTEGER NOT NULL,
    sets          TEXT    NOT NULL CHECK (json_valid(sets)),
    UNIQUE (experiment_id, name)
  );

  ALTER TABLE run ADD COLUMN experiment_id INTEGER REFERENCES experiment(id) ON DELETE SET NULL;
  ALTER TABLE run ADD COLUMN arm_id INTEGER REFERENCES arm(id) ON DELETE SET NULL;
  CREATE INDEX run_experiment ON run(experiment_id, arm_id, seed);
  `,
  // 4: datasets — imported datasets (indexed where they are, not copied) and a cache of what is
  // expensive to recompute about a dataset (its inspection, per-channel mean/std of a training split)
  `
  -- path: the file or folder as the user picked it; format: as detected (idx, cifar10-python,
  -- image-folder, ...); options: how it is read (CIFAR-100 labels, strict decoding, image size);
  -- info: the inspection at import (classes, class counts, shape, skipped files).
  CREATE TABLE dataset (
    name        TEXT    PRIMARY KEY,
    path        TEXT    NOT NULL,
    format      TEXT    NOT NULL,
    options     TEXT    NOT NULL CHECK (json_valid(options)),
    info        TEXT    NOT NULL CHECK (json_valid(info)),
    created_at  REAL    NOT NULL
  );

  -- key: what the value was computed from, including the source files' sizes and modification
  -- times, so a changed file is a new key rather than a stale hit.
  CREATE TABLE dataset_cache (
    key         TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL CHECK (json_valid(value)),
    created_at  REAL    NOT NULL
  );
  `,
  // 5: runs from outside our trainer (issue 18): a script logging through the ingest channels, an
  // importer (TensorBoard, CSV), a cluster job
  `
  -- source: 'trickbench' (our trainer; config is its RunConfig) or 'external' (config is JSON null,
  -- params the free-form object the client gave). client_key: what makes a create idempotent (a
  -- client retrying after a timeout, an importer seeing the same folder again): one run per key.
  -- heartbeat_at / heartbeat_timeout_s: an external run still 'running' whose client has been
  -- silent for longer than its timeout is marked failed by the host.
  ALTER TABLE run ADD COLUMN source TEXT NOT NULL DEFAULT 'trickbench' CHECK (source IN ('trickbench', 'external'));
  ALTER TABLE run ADD COLUMN params TEXT CHECK (params IS NULL OR json_valid(params));
  ALTER TABLE run ADD COLUMN client_key TEXT;
  ALTER TABLE run ADD COLUMN heartbeat_at REAL;
  ALTER TABLE run ADD COLUMN heartbeat_timeout_s REAL;
  CREATE UNIQUE INDEX run_client_key ON run(client_key) WHERE client_key IS NOT NULL;

  -- Summary values a client set explicitly (wandb.summary-like): they stand beside, and override,
  -- the final values derived from the metric rows.
  CREATE TABLE run_summary (
    run_id  INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    key     TEXT    NOT NULL,
    value   REAL    NOT NULL,
    PRIMARY KEY (run_id, key)
  ) WITHOUT ROWID;

  -- experiment.source: 'trickbench' (from an experiment file; its runs are queued here) or
  -- 'external' (made by the first run logged into it; its arms appear as runs name them).
  ALTER TABLE experiment ADD COLUMN source TEXT NOT NULL DEFAULT 'trickbench' CHECK (source IN ('trickbench', 'external'));
  CREATE UNIQUE INDEX experiment_external_name ON experiment(name) WHERE source = 'external';
  `,
  // 6: runs trained on a cluster (issue 19): submitted as Slurm job array tasks, their results
  // brought in from the run journal each task writes on the shared file system
  `
  -- executor: 'local' (this machine's queue) or 'slurm'. job_id: the scheduler's id of the run's
  -- current job ("1234_5" for an array task), null before submission. executor_state: what the
  -- scheduler says of it now, for the pages ("PENDING (Resources)", "RUNNING on node3"), null when
  -- it says nothing. shared_dir: the folder on the shared file system holding the run's journal and
  -- checkpoints (runs/<id>/ under it).
  ALTER TABLE run ADD COLUMN executor TEXT NOT NULL DEFAULT 'local' CHECK (executor IN ('local', 'slurm'));
  ALTER TABLE run ADD COLUMN job_id TEXT;
  ALTER TABLE run ADD COLUMN executor_state TEXT;
  ALTER TABLE run ADD COLUMN shared_dir TEXT;

  -- How far each run's journal has been ingested: its first \`bytes\` bytes (\`lines\` complete lines)
  -- are in the store. Advanced in the same transaction as the rows they hold, so a host that stops
  -- mid-ingest neither loses nor doubles a line.
  CREATE TABLE journal_offset (
    run_id  INTEGER PRIMARY KEY REFERENCES run(id) ON DELETE CASCADE,
    bytes   INTEGER NOT NULL,
    lines   INTEGER NOT NULL
  );
  `,
];
