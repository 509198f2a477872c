// CSV exports, streamed from the store through csv-stringify: a history export never holds more
// than a few rows in memory and is never downsampled.
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { stringify as stringifySync } from 'csv-stringify/sync';
import { ApiFailure, EXPORT_KINDS, type ExportKind, type ExportRequest } from '../../shared/api';
import { SELECTION_RULES } from '../../shared/experiments';
import { flattenConfig } from '../../shared/config';
import { SUMMARY_CSV_COLUMNS, summaryCsvRows, summaryLatex, summaryMarkdown } from '../../shared/summary-format';
import type { Store } from '../../store/store';
import { checkOverrides, summarize } from './compare';

/** Metric columns of the runs table: [header, key, which]. */
const SUMMARY_COLUMNS: [string, string, 'final' | 'best'][] = [
  ['final_val_acc', 'val/acc', 'final'],
  ['best_val_acc', 'val/acc', 'best'],
  ['final_val_loss', 'val/loss', 'final'],
  ['best_val_loss', 'val/loss', 'best'],
  ['test_acc', 'test/acc', 'final'],
  ['test_loss', 'test/loss', 'final'],
  ['test_acc_best', 'test/acc_best', 'final'], // the best-val checkpoint's test accuracy
  ['test_top5', 'test/top5', 'final'],
  ['final_train_loss', 'train/loss', 'final'],
  ['final_train_acc', 'train/acc', 'final'],
];

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

/** A text cell a spreadsheet would run as a formula: it starts with =, +, -, @, a tab or a
 * carriage return (OWASP, CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** Text that is just a number (`-0.5`, `+1e-3`): a spreadsheet reads it as that number, no formula. */
const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A text cell made safe to open in a spreadsheet: one that would start a formula gets a leading
 * single quote (shown as text, not run), as OWASP recommends. Numbers are not text and are never
 * touched; neither is text that is a plain number. */
export function csvText(s: string): string {
  return FORMULA_START.test(s) && !PLAIN_NUMBER.test(s) ? `'${s}` : s;
}

/** csv-stringify options of every CSV export: text cells neutralised (csvText). */
const CSV_CAST = { string: (s: string) => csvText(s) };

function selectRuns(store: Store, ids: readonly number[]) {
  const all = store.listRuns();
  if (!ids.length) return all;
  const missing = ids.filter((id) => !all.some((r) => r.id === id));
  if (missing.length) throw new Error(`no run with id ${missing.join(', ')}`);
  const want = new Set(ids);
  return all.filter((r) => want.has(r.id));
}

/** One row per run: id, name, status, times, backend, flattened config columns, final and best
 * metrics, wall time. */
export async function writeRunsCsv(store: Store, ids: readonly number[], out: Writable): Promise<number> {
  const runs = selectRuns(store, ids);
  // Our runs' configs as config.* columns, external runs' params as params.* (both flattened the
  // same way), so pandas or R group by a field without parsing anything.
  const flat = runs.map((r) => (r.config ? prefixed('config', flattenConfig(r.config)) : {}));
  const flatParams = runs.map((r) => (r.params ? prefixed('params', flattenConfig(r.params)) : {}));
  // Columns in first-seen order (the schema's order), across all selected runs.
  const configKeys: string[] = [];
  for (const f of [...flat, ...flatParams]) for (const k of Object.keys(f)) if (!configKeys.includes(k)) configKeys.push(k);
  const names = runs.map((r) => store.experiments.namesOf(r.id));
  const columns = [
    'id', 'name', 'status', 'source', 'experiment', 'arm', 'created_at', 'started_at', 'ended_at', 'wall_time_s', 'backend', 'device', 'seed',
    ...configKeys,
    ...SUMMARY_COLUMNS.map((c) => c[0]),
    'error',
  ];
  function* rows() {
    for (const [i, r] of runs.entries()) {
      const s = store.summaries(r.id);
      const f = { ...flat[i]!, ...flatParams[i]! };
      yield [
        r.id, r.name, r.status, r.source, names[i]?.experimentName ?? '', names[i]?.armName ?? '', iso(r.createdAt), iso(r.startedAt), iso(r.endedAt),
        r.startedAt !== null && r.endedAt !== null ? ((r.endedAt - r.startedAt) / 1000).toFixed(3) : '',
        r.backend ?? '', r.device ?? '', r.seed,
        ...configKeys.map((k) => f[k] ?? ''),
        ...SUMMARY_COLUMNS.map(([, key, which]) => s[which][key] ?? ''),
        r.error ?? '',
      ];
    }
  }
  await pipeline(Readable.from(rows()), stringify({ header: true, columns, cast: { ...CSV_CAST, boolean: (b) => String(b) } }), out);
  return runs.length;
}

function prefixed(prefix: string, flat: Record<string, string | number | boolean | null>): Record<string, string | number | boolean | null> {
  return Object.fromEntries(Object.entries(flat).map(([k, v]) => [`${prefix}.${k}`, v]));
}

/** One text CSV cell, neutralised (csvText), then quoted and escaped by csv-stringify's rules
 * (RFC 4180) where needed. */
function csvCell(v: string): string {
  return stringifySync([[csvText(v)]]).slice(0, -1);
}

/** ISO 8601 of a time in ms; the text up to the second is reused while it does not change (a
 * history's points are seconds apart at most). */
function isoFormatter(): (ms: number) => string {
  let second = NaN;
  let prefix = '';
  return (ms) => {
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      prefix = new Date(s * 1000).toISOString().slice(0, 20); // 2026-11-22T21:00:00.
    }
    return `${prefix}${String(Math.round(ms - s * 1000)).padStart(3, '0')}Z`;
  };
}

/** The histories export's columns: a point, then its run's experiment, arm (empty outside an
 * experiment) and seed, so pandas or R group by arm and pair seeds without parsing run names, and
 * `trickbench import csv` puts the runs back in the same arms. */
export const HISTORIES_CSV_COLUMNS = ['run_id', 'run_name', 'key', 'step', 'epoch', 'value', 'wall_time', 'experiment', 'arm', 'seed'] as const;

/** Every stored metric point of the selected runs, long format, streamed: rows are read from the
 * store as they are written out, in 64 KB chunks that wait for the stream to drain, so a million
 * rows never sit in memory. Numbers need no quoting; the text columns (run name, key, experiment,
 * arm) are neutralised (csvText) and escaped by csv-stringify, once per distinct value (the run's
 * once per run). (csv-stringify per row: ~9 µs a row here, 10 s for a million; this: ~3 µs.) */
export async function writeHistoriesCsv(store: Store, ids: readonly number[], out: Writable): Promise<void> {
  const runs = selectRuns(store, ids);
  function* chunks() {
    const iso = isoFormatter();
    const keys = new Map<string, string>();
    let chunk = `${HISTORIES_CSV_COLUMNS.join(',')}\n`;
    for (const r of runs) {
      const lead = `${r.id},${csvCell(r.name)},`;
      // the same lookup as the runs table's experiment and arm columns
      const names = store.experiments.namesOf(r.id);
      const tail = `,${names ? csvCell(names.experimentName) : ''},${names ? csvCell(names.armName) : ''},${r.seed}\n`;
      for (const [key, step, epoch, value, wall] of store.iterateHistory(r.id)) {
        let k = keys.get(key);
        if (k === undefined) keys.set(key, (k = csvCell(key)));
        chunk += `${lead}${k},${step},${epoch},${value},${iso(wall)}${tail}`;
        if (chunk.length > 65536) {
          yield chunk;
          chunk = '';
        }
      }
    }
    yield chunk;
  }
  // pipeline: back-pressure, and a destination that fails or goes away (a closed download) ends
  // the export with an error instead of waiting for it forever
  await pipeline(Readable.from(chunks(), { objectMode: false }), out);
}

/** Every event of the selected runs (lifecycle and tricks: rifle.reinit, mixup.off, ...), with
 * its payload as JSON, in run then time order. */
export async function writeEventsCsv(store: Store, ids: readonly number[], out: Writable): Promise<void> {
  const runs = selectRuns(store, ids);
  function* rows() {
    for (const r of runs) for (const e of store.events(r.id)) yield [r.id, r.name, e.epoch, e.step, e.kind, JSON.stringify(e.payload), iso(e.time)];
  }
  const columns = ['run_id', 'run_name', 'epoch', 'step', 'kind', 'payload', 'wall_time'];
  await pipeline(Readable.from(rows()), stringify({ header: true, columns, cast: CSV_CAST }), out);
}

/** The per-arm comparison table: CSV (raw numbers), Markdown or LaTeX. */
export async function writeSummary(store: Store, req: ExportRequest, out: Writable): Promise<void> {
  const s = summarize(store, {
    experimentId: req.experimentId,
    runIds: req.experimentId === undefined ? req.ids : undefined,
    metric: req.metric,
    rule: req.rule,
    test: req.test,
    correction: req.correction,
    reference: req.reference,
    margin: req.margin,
    alpha: req.alpha,
  });
  if (req.kind === 'summary') {
    await pipeline(Readable.from(summaryCsvRows(s)), stringify({ header: true, columns: [...SUMMARY_CSV_COLUMNS], cast: CSV_CAST }), out);
    return;
  }
  const text = req.kind === 'summary-md' ? summaryMarkdown(s) : summaryLatex(s);
  await pipeline(Readable.from([text]), out);
}

/** Validate an export request (kind, ids, experiment, rule) before anything is written; the runs
 * and histories of an experiment are those of its runs. */
export function checkExportRequest(store: Store, req: unknown): ExportRequest {
  const r = (req ?? {}) as Partial<ExportRequest>;
  const bad = (field: string, message: string, code: 'bad_request' | 'not_found' = 'bad_request') => new ApiFailure({ code, message, field });
  if (!EXPORT_KINDS.includes(r.kind as ExportKind)) throw bad('kind', `kind must be one of ${EXPORT_KINDS.join(', ')}`);
  const ids = r.ids ?? [];
  if (!Array.isArray(ids) || !ids.every((i) => Number.isInteger(i))) throw bad('ids', 'ids must be a list of run ids');
  const known = new Set(store.listRuns().map((x) => x.id));
  const missing = ids.filter((i) => !known.has(i));
  if (missing.length) throw bad('ids', `no run with id ${missing.join(', ')}`, 'not_found');
  if (r.rule !== undefined && !SELECTION_RULES.includes(r.rule)) throw bad('rule', `rule must be one of ${SELECTION_RULES.join(', ')}`);
  if (r.metric !== undefined && (typeof r.metric !== 'string' || !r.metric)) throw bad('metric', 'metric must be a metric key such as test/acc');
  let experimentRuns: number[] = [];
  if (r.experimentId !== undefined && r.experimentId !== null) {
    const e = Number.isInteger(r.experimentId) ? store.experiments.get(r.experimentId) : null;
    if (!e) throw bad('experimentId', `experiment ${String(r.experimentId)} does not exist`, 'not_found');
    experimentRuns = e.runs.map((x) => x.runId);
    if (!experimentRuns.length && (r.kind === 'runs' || r.kind === 'histories') && !ids.length) {
      throw bad('experimentId', `experiment ${e.id} has no runs yet`); // [] would mean every run
    }
  } else if (r.kind !== 'runs' && r.kind !== 'histories' && !ids.length) {
    throw bad('ids', 'a summary needs an experiment or the runs to compare');
  }
  const kind = r.kind as ExportKind;
  const useExperimentRuns = (kind === 'runs' || kind === 'histories') && !ids.length && r.experimentId !== undefined;
  const analysis = { test: r.test, correction: r.correction, reference: r.reference, margin: r.margin, alpha: r.alpha };
  checkOverrides(analysis);
  return { kind, ids: useExperimentRuns ? experimentRuns : ids, experimentId: r.experimentId ?? undefined, metric: r.metric, rule: r.rule, ...analysis };
}

/** Any export to a stream: the kind picks the writer. */
export async function writeExport(store: Store, req: ExportRequest, out: Writable): Promise<void> {
  if (req.kind === 'runs') await writeRunsCsv(store, req.ids, out);
  else if (req.kind === 'histories') await writeHistoriesCsv(store, req.ids, out);
  else await writeSummary(store, req, out);
}

const EXT: Record<ExportKind, string> = { runs: 'csv', histories: 'csv', summary: 'csv', 'summary-md': 'md', 'summary-tex': 'tex' };
export const exportExtension = (kind: ExportKind) => EXT[kind];

export function exportFileName(kind: ExportKind, ids: readonly number[], experimentId?: number): string {
  const which = experimentId !== undefined ? `experiment-${experimentId}` : ids.length ? `runs-${ids.slice(0, 8).join('-')}${ids.length > 8 ? '-etc' : ''}` : 'all-runs';
  const what = kind === 'runs' ? 'runs' : kind === 'histories' ? 'histories' : 'summary';
  return `trickbench-${what}-${which}.${EXT[kind]}`;
}
