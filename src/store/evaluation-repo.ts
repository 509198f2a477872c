// Test evaluations (per checkpoint) and test predictions of a run: written once by the trainer at
// the end of a run, read by the run page.
import type Database from 'better-sqlite3';
import type { Evaluation, Prediction, PredictionOrder, PredictionPage, RunEvaluation } from '../shared/api';
import type { DB } from './db';

export interface PredictionInput {
  index: number;
  label: number;
  pred: number;
  confidence: number;
  image: Uint8Array | null;
}

export interface EvaluationSet {
  evaluations: Evaluation[];
  classNames: string[];
  imageShape: [number, number, number];
  /** The best checkpoint's prediction of every test image. */
  predictions: PredictionInput[];
}

interface EvaluationRow {
  checkpoint: 'best' | 'last';
  epoch: number;
  step: number;
  n: number;
  loss: number;
  acc: number;
  top5: number | null;
  confusion: string;
  per_class: string;
  class_names: string;
  image_shape: string;
}

interface PredictionRow {
  idx: number;
  label: number;
  pred: number;
  confidence: number;
  image: Buffer | null;
}

// Same orders as the trainer's thumbnail choice (src/trainer/evaluation.ts pickThumbnails).
const ORDER_SQL: Record<PredictionOrder, { where: string; order: string }> = {
  confidentWrong: { where: 'AND pred != label', order: 'confidence DESC, idx' },
  confidentRight: { where: 'AND pred = label', order: 'confidence DESC, idx' },
  leastConfident: { where: '', order: 'confidence ASC, idx' },
};

// SQLite stores NaN as NULL, which the NOT NULL columns refuse: say which value it was instead.
const finiteOr = (v: number, what: string) => {
  if (!Number.isFinite(v)) throw new Error(`evaluation ${what} is ${v}`);
  return v;
};

export class EvaluationRepo {
  private readonly stmts;

  constructor(private readonly db: DB) {
    this.stmts = {
      putEval: db.prepare(
        `INSERT OR REPLACE INTO evaluation (run_id, checkpoint, epoch, step, n, loss, acc, top5, confusion, per_class, class_names, image_shape, wall_time)
         VALUES (@runId, @checkpoint, @epoch, @step, @n, @loss, @acc, @top5, @confusion, @perClass, @classNames, @imageShape, @now)`,
      ),
      putPrediction: db.prepare(`INSERT INTO prediction (run_id, idx, label, pred, confidence, image) VALUES (?, ?, ?, ?, ?, ?)`),
      clearEval: db.prepare(`DELETE FROM evaluation WHERE run_id = ?`),
      clearPredictions: db.prepare(`DELETE FROM prediction WHERE run_id = ?`),
      getEvals: db.prepare(`SELECT * FROM evaluation WHERE run_id = ?`),
      correct: db.prepare(`SELECT idx, pred = label AS ok FROM prediction WHERE run_id = ? ORDER BY idx`).raw(true),
      count: Object.fromEntries(
        Object.entries(ORDER_SQL).map(([k, o]) => [k, db.prepare(`SELECT COUNT(*) AS n FROM prediction WHERE run_id = ? ${o.where}`)]),
      ) as Record<PredictionOrder, Database.Statement<unknown[]>>,
      page: Object.fromEntries(
        Object.entries(ORDER_SQL).map(([k, o]) => [
          k,
          db.prepare(`SELECT idx, label, pred, confidence, image FROM prediction WHERE run_id = ? ${o.where} ORDER BY ${o.order} LIMIT ? OFFSET ?`),
        ]),
      ) as Record<PredictionOrder, Database.Statement<unknown[]>>,
    };
  }

  /** Replace the run's evaluations and predictions, in one transaction. */
  save(runId: number, set: EvaluationSet): void {
    const now = Date.now();
    this.db.transaction(() => {
      this.clear(runId);
      for (const e of set.evaluations) {
        this.stmts.putEval.run({
          runId,
          checkpoint: e.checkpoint,
          epoch: e.epoch,
          step: e.step,
          n: e.n,
          loss: finiteOr(e.loss, 'loss'),
          acc: finiteOr(e.acc, 'accuracy'),
          top5: e.top5,
          confusion: JSON.stringify(e.confusion),
          perClass: JSON.stringify(e.perClass),
          classNames: JSON.stringify(set.classNames),
          imageShape: JSON.stringify(set.imageShape),
          now,
        });
      }
      for (const p of set.predictions) {
        this.stmts.putPrediction.run(runId, p.index, p.label, p.pred, p.confidence, p.image ? Buffer.from(p.image.buffer, p.image.byteOffset, p.image.byteLength) : null);
      }
    })();
  }

  /** Called inside the resume transaction: a resumed run evaluates again at its end. */
  clear(runId: number): void {
    this.stmts.clearEval.run(runId);
    this.stmts.clearPredictions.run(runId);
  }

  get(runId: number): RunEvaluation {
    const rows = this.stmts.getEvals.all(runId) as EvaluationRow[];
    const out: RunEvaluation = { best: null, last: null, classNames: [], imageShape: null };
    for (const r of rows) {
      out[r.checkpoint] = {
        checkpoint: r.checkpoint,
        epoch: r.epoch,
        step: r.step,
        n: r.n,
        loss: r.loss,
        acc: r.acc,
        top5: r.top5,
        confusion: JSON.parse(r.confusion) as number[][],
        perClass: JSON.parse(r.per_class) as (number | null)[],
      };
      out.classNames = JSON.parse(r.class_names) as string[];
      out.imageShape = JSON.parse(r.image_shape) as [number, number, number];
    }
    return out;
  }

  /** Whether the best checkpoint got each test image right, by image index (empty without
   * stored predictions): what McNemar's test pairs between two runs on the same test set. */
  correctByIndex(runId: number): { idx: Int32Array; ok: Uint8Array } {
    const rows = this.stmts.correct.all(runId) as [number, number][];
    const idx = new Int32Array(rows.length);
    const ok = new Uint8Array(rows.length);
    rows.forEach((r, i) => {
      idx[i] = r[0];
      ok[i] = r[1];
    });
    return { idx, ok };
  }

  predictions(runId: number, order: PredictionOrder, limit: number, offset: number): PredictionPage {
    const total = (this.stmts.count[order].get(runId) as { n: number }).n;
    const rows = (this.stmts.page[order].all(runId, limit, offset) as PredictionRow[]).map(
      (r): Prediction => ({
        index: r.idx,
        label: r.label,
        pred: r.pred,
        confidence: r.confidence,
        image: r.image ? r.image.toString('base64') : null,
      }),
    );
    const shape = this.db.prepare(`SELECT image_shape FROM evaluation WHERE run_id = ? LIMIT 1`).get(runId) as { image_shape: string } | undefined;
    return { total, imageShape: shape ? (JSON.parse(shape.image_shape) as [number, number, number]) : null, rows };
  }
}
