// CSV files -> ImportedRun, in three shapes:
// - long: one row per point, `run,key,step,value[,epoch,time,experiment,arm,seed]` — what our
//   histories export writes (run_id,run_name,key,step,epoch,value,wall_time,experiment,arm,seed:
//   its runs land in the same experiments, arms and seeds) and MLflow's metric-history
//   chart export (Run,Run ID,metric,step,timestamp,value);
// - wandb: a W&B chart's "Export CSV", wide: `Step,"<run> - <metric>","<run> - <metric>__MIN",
//   "<run> - <metric>__MAX"` (the __MIN/__MAX columns of a smoothed or sampled line are skipped);
// - mlflow: MLflow's runs table, one row per run: the UI's "Download CSV" (Start Time, Duration,
//   Run ID, Name, Source Type, Source Name, User, Status, then params, metrics and tags unprefixed)
//   or mlflow.search_runs(...).to_csv() (run_id, status, ..., metrics.X, params.Y, tags.Z): its
//   metrics become summary values, its params the run's params.
// Every cell is checked; a bad one is an error naming the file, line and column.
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { clientKey, mapKey, placeRun, runName, type PlacementOptions } from './common';
import { ImportError, type ImportedPoint, type ImportedRun } from './types';

export type CsvFormat = 'long' | 'wandb' | 'mlflow';
export const LOGICAL_COLUMNS = ['run', 'name', 'key', 'step', 'value', 'epoch', 'time', 'seed', 'experiment', 'arm'] as const;
type Logical = (typeof LOGICAL_COLUMNS)[number];

export interface CsvOptions extends PlacementOptions {
  format?: CsvFormat | 'auto';
  /** logical column -> header name (`--columns run=Name,key=metric`) */
  columns?: Partial<Record<Logical, string>>;
  keyMap?: ReadonlyMap<string, string>;
  /** mlflow runs table: numeric columns to keep as params, not metrics */
  params?: readonly string[];
}

/** `--columns run=Name,key=metric` as a map. */
export function parseColumns(spec: string): Partial<Record<Logical, string>> {
  const out: Partial<Record<Logical, string>> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    const k = part.slice(0, i) as Logical;
    if (i <= 0 || i === part.length - 1) throw new ImportError(`--columns: "${part}" is not name=Header`);
    if (!LOGICAL_COLUMNS.includes(k)) throw new ImportError(`--columns: "${k}" is none of ${LOGICAL_COLUMNS.join(', ')}`);
    out[k] = part.slice(i + 1);
  }
  return out;
}

/** Our exports and MLflow's put a quote before text that a spreadsheet would run as a formula. */
const unquote = (s: string) => (/^'[=+\-@\t\r]/.test(s) ? s.slice(1) : s);

const AUTO: Record<Logical, string[]> = {
  run: ['run_id', 'run id', 'run'],
  name: ['run_name', 'run', 'name', 'group'],
  key: ['key', 'metric'],
  step: ['step', '_step'],
  value: ['value'],
  epoch: ['epoch'],
  time: ['wall_time', 'time', 'timestamp', '_timestamp'],
  seed: ['seed'],
  experiment: ['experiment'],
  arm: ['arm'],
};

interface Table {
  file: string;
  header: string[];
  rows: { cells: string[]; line: number }[];
}

function readTable(file: string): Table {
  let text: Buffer;
  try {
    text = fs.readFileSync(file);
  } catch (e) {
    throw new ImportError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, info: true, relax_quotes: false, trim: false }) as unknown as typeof records;
  } catch (e) {
    throw new ImportError(`${file}: ${(e as Error).message}`);
  }
  if (!records.length) throw new ImportError(`${file}: empty: no header line`);
  const header = records[0]!.record.map((h) => unquote(h.trim()));
  return { file, header, rows: records.slice(1).map((r) => ({ cells: r.record, line: r.info.lines })) };
}

/** Which format a header is, when not told. */
export function detectFormat(header: readonly string[]): CsvFormat {
  const lower = header.map((h) => h.toLowerCase());
  if (lower.includes('run id') && lower.includes('status') && lower.includes('start time')) return 'mlflow';
  if (header.some((h) => h.startsWith('metrics.')) && (lower.includes('run_id') || lower.includes('run id'))) return 'mlflow';
  if (header.slice(1).some((h) => / - .+__(MIN|MAX)$/.test(h)) || (header.length > 1 && header.slice(1).every((h) => h.includes(' - ')))) return 'wandb';
  return 'long';
}

function columnIndex(t: Table, logical: Logical, o: CsvOptions, taken: Set<number>): number {
  const want = o.columns?.[logical];
  if (want !== undefined) {
    const i = t.header.indexOf(want);
    if (i < 0) throw new ImportError(`${t.file}: --columns ${logical}=${want}: no such column (the header has ${t.header.map((h) => JSON.stringify(h)).join(', ')})`);
    return i;
  }
  const lower = t.header.map((h) => h.toLowerCase());
  for (const name of AUTO[logical]) {
    const i = lower.indexOf(name);
    if (i >= 0 && !taken.has(i)) return i;
  }
  return -1;
}

const at = (t: Table, line: number, col: number) => `${t.file}: line ${line}, column ${JSON.stringify(t.header[col])}`;

function int(t: Table, line: number, col: number, s: string): number {
  const x = Number(s.trim());
  if (s.trim() === '' || !Number.isSafeInteger(x) || x < 0) throw new ImportError(`${at(t, line, col)}: "${s}" is not a step (an integer >= 0)`);
  return x;
}

function num(t: Table, line: number, col: number, s: string, what: string): number {
  const x = Number(s.trim());
  if (s.trim() === '' || Number.isNaN(x)) throw new ImportError(`${at(t, line, col)}: "${s}" is not ${what}`);
  return x;
}

/** ms since the epoch: ISO 8601 text, or a number in seconds (below 1e11, i.e. before the year
 * 5138) or in ms (MLflow's timestamps). */
function timeOf(t: Table, line: number, col: number, s: string): number | undefined {
  const v = s.trim();
  if (!v) return undefined;
  const x = Number(v);
  const ms = Number.isFinite(x) ? (Math.abs(x) < 1e11 ? x * 1000 : x) : Date.parse(v);
  if (!Number.isFinite(ms) || ms < 0) throw new ImportError(`${at(t, line, col)}: "${s}" is not a time (ISO 8601, or seconds or ms since 1970)`);
  return Math.round(ms);
}

interface Building {
  id: string;
  name: string;
  seed?: number;
  experiment?: string;
  arm?: string;
  params: Record<string, unknown>;
  points: Map<string, ImportedPoint>;
  summary: Record<string, number>;
  status?: ImportedRun['status'];
  repeated: number;
}

export interface CsvImport {
  format: CsvFormat;
  runs: ImportedRun[];
  warnings: string[];
}

export function readCsvFile(file: string, o: CsvOptions = {}): CsvImport {
  const t = readTable(file);
  const format = o.format && o.format !== 'auto' ? o.format : detectFormat(t.header);
  const warnings: string[] = [];
  const runs = new Map<string, Building>();
  const keyMap = o.keyMap ?? new Map<string, string>();
  const badKeys = new Set<string>();
  let notFinite = 0;
  const runOf = (id: string, name: string): Building => {
    let r = runs.get(id);
    if (!r) runs.set(id, (r = { id, name, params: {}, points: new Map(), summary: {}, repeated: 0 }));
    return r;
  };
  const addPoint = (r: Building, key: string, p: Omit<ImportedPoint, 'key'>) => {
    const k = mapKey(key, keyMap);
    if (k === null) return void badKeys.add(key);
    if (!Number.isFinite(p.value)) return void notFinite++;
    const id = `${k}\0${p.step}`;
    if (r.points.has(id)) r.repeated++;
    r.points.set(id, { key: k, ...p });
  };

  if (format === 'long') {
    const taken = new Set<number>();
    const idx = {} as Record<Logical, number>;
    for (const l of ['run', 'key', 'step', 'value', 'epoch', 'time', 'seed', 'experiment', 'arm'] as const) {
      idx[l] = columnIndex(t, l, o, taken);
      if (idx[l] >= 0) taken.add(idx[l]);
    }
    idx.name = columnIndex(t, 'name', o, taken);
    if (idx.run < 0) idx.run = idx.name;
    for (const l of ['run', 'key', 'step', 'value'] as const) {
      if (idx[l] < 0) throw new ImportError(`${file}: no ${l} column (the header has ${t.header.map((h) => JSON.stringify(h)).join(', ')}); name it with --columns ${l}=HEADER, or give --format wandb|mlflow`);
    }
    for (const { cells, line } of t.rows) {
      const id = unquote(cells[idx.run]!);
      if (!id.trim()) throw new ImportError(`${at(t, line, idx.run)}: no run`);
      const r = runOf(id, idx.name >= 0 ? unquote(cells[idx.name]!) : id);
      if (idx.seed >= 0 && cells[idx.seed]!.trim() !== '') r.seed = seedOf(t, line, idx.seed, cells[idx.seed]!);
      if (idx.experiment >= 0 && cells[idx.experiment]!.trim()) r.experiment = unquote(cells[idx.experiment]!);
      if (idx.arm >= 0 && cells[idx.arm]!.trim()) r.arm = unquote(cells[idx.arm]!);
      const key = unquote(cells[idx.key]!);
      const step = int(t, line, idx.step, cells[idx.step]!);
      const value = num(t, line, idx.value, cells[idx.value]!, 'a number');
      const epoch = idx.epoch >= 0 && cells[idx.epoch]!.trim() !== '' ? num(t, line, idx.epoch, cells[idx.epoch]!, 'an epoch') : undefined;
      if (epoch !== undefined && epoch < 0) throw new ImportError(`${at(t, line, idx.epoch)}: "${cells[idx.epoch]}" is not an epoch (>= 0)`);
      const time = idx.time >= 0 ? timeOf(t, line, idx.time, cells[idx.time]!) : undefined;
      addPoint(r, key, { step, value, ...(epoch !== undefined ? { epoch } : {}), ...(time !== undefined ? { time } : {}) });
    }
  } else if (format === 'wandb') {
    const stepCol = o.columns?.step !== undefined ? columnIndex(t, 'step', o, new Set()) : 0;
    if (o.columns?.step === undefined && !/^_?step$/i.test(t.header[0]!)) {
      throw new ImportError(`${file}: the first column "${t.header[0]}" is not a step: export the chart with Step on the x axis, or name the step column with --columns step=HEADER`);
    }
    const series: { col: number; run: string; key: string }[] = [];
    let minMax = 0;
    t.header.forEach((h, col) => {
      if (col === stepCol) return;
      if (/__(MIN|MAX)$/.test(h)) return void minMax++;
      const cut = h.lastIndexOf(' - ');
      if (cut <= 0) throw new ImportError(`${file}: column ${JSON.stringify(h)} is not "<run> - <metric>" (a W&B chart export)`);
      series.push({ col, run: h.slice(0, cut), key: h.slice(cut + 3) });
    });
    if (minMax) warnings.push(`${file}: skipped ${minMax} __MIN/__MAX columns (the range of a sampled line, not points)`);
    for (const { cells, line } of t.rows) {
      const step = int(t, line, stepCol, cells[stepCol]!);
      for (const s of series) {
        const v = cells[s.col]!;
        if (v.trim() === '') continue;
        addPoint(runOf(s.run, s.run), s.key, { step, value: num(t, line, s.col, v, 'a number') });
      }
    }
  } else {
    readMlflowRuns(t, o, runOf, warnings, keyMap, badKeys);
  }

  if (badKeys.size) warnings.push(`${file}: skipped the keys ${[...badKeys].map((k) => JSON.stringify(k)).join(', ')}: not usable as metric keys (empty, longer than 200 characters, control characters or outer spaces); rename them with --key-map`);
  if (notFinite) warnings.push(`${file}: skipped ${notFinite} values that are NaN or infinite`);
  if (!runs.size) throw new ImportError(`${file}: no rows: nothing to import`);

  const real = fs.realpathSync(file);
  const out: ImportedRun[] = [];
  const unmatched: string[] = [];
  for (const r of runs.values()) {
    const name = runName(r.name, `csv run ${r.id}`);
    let place = placeRun(name, o);
    if (place === null) {
      if (o.experiment !== undefined) unmatched.push(name);
      place = { seed: o.seed ?? 0, params: {} };
    }
    if (r.seed !== undefined && !o.pattern) place.seed = r.seed;
    const experiment = place.experiment ?? (r.experiment !== undefined && r.arm !== undefined ? r.experiment : undefined);
    const arm = place.experiment !== undefined ? place.arm : r.arm;
    if (experiment !== undefined && place.experiment === undefined && r.seed === undefined) {
      throw new ImportError(`${file}: run ${JSON.stringify(name)} has experiment '${experiment}' and arm '${arm}' but no seed: give a seed column (--columns seed=HEADER) or --pattern with a (?<seed>...) group`);
    }
    const runWarnings: string[] = [];
    if (r.repeated) runWarnings.push(`${name}: ${r.repeated} rows repeat a (key, step) of a row before: the last one is kept`);
    out.push({
      sourcePath: `${real}#${r.id}`,
      name,
      spec: {
        name,
        seed: place.seed,
        params: { ...r.params, ...place.params },
        ...(experiment !== undefined ? { experiment, arm } : {}),
        ...(experiment !== undefined && o.baseline !== undefined ? { baseline: o.baseline } : {}),
        clientKey: clientKey('csv', real, format, r.id),
      },
      metrics: [...r.points.values()],
      events: [],
      summary: r.summary,
      ...(r.status ? { status: r.status } : {}),
      warnings: runWarnings,
    });
  }
  if (o.baseline !== undefined && !out.some((r) => r.spec.experiment !== undefined)) {
    throw new ImportError(`${file}: --baseline ${o.baseline}: no run of this file is in an experiment (give --experiment, or experiment and arm columns)`);
  }
  if (unmatched.length) {
    throw new ImportError(`${file}: --pattern does not match ${unmatched.length} run name${unmatched.length === 1 ? '' : 's'} (their arm and seed are needed for experiment '${o.experiment}'): ${unmatched.join(', ')}`);
  }
  return { format, runs: out, warnings };
}

function seedOf(t: Table, line: number, col: number, s: string): number {
  const x = Number(s.trim());
  if (!Number.isSafeInteger(x)) throw new ImportError(`${at(t, line, col)}: "${s}" is not a seed (an integer)`);
  return x;
}

const MLFLOW_INFO = new Set(['start time', 'duration', 'run id', 'name', 'source type', 'source name', 'user', 'status', 'run_id', 'experiment_id', 'artifact_uri', 'start_time', 'end_time', 'lifecycle_stage', 'run_name']);
const MLFLOW_STATUS: Record<string, ImportedRun['status']> = { FINISHED: 'completed', FAILED: 'failed', KILLED: 'cancelled', RUNNING: 'interrupted', SCHEDULED: 'interrupted' };

function readMlflowRuns(
  t: Table,
  o: CsvOptions,
  runOf: (id: string, name: string) => Building,
  warnings: string[],
  keyMap: ReadonlyMap<string, string>,
  badKeys: Set<string>,
) {
  const lower = t.header.map((h) => h.toLowerCase());
  const find = (...names: string[]) => names.map((n) => lower.indexOf(n)).find((i) => i >= 0) ?? -1;
  const idCol = o.columns?.run !== undefined ? columnIndex(t, 'run', o, new Set()) : find('run id', 'run_id');
  if (idCol < 0) throw new ImportError(`${t.file}: no "Run ID" or run_id column (an MLflow runs table has one); name it with --columns run=HEADER`);
  const nameCol = o.columns?.name !== undefined ? columnIndex(t, 'name', o, new Set()) : find('name', 'tags.mlflow.runname', 'run_name');
  const statusCol = find('status');
  const seedCol = o.columns?.seed !== undefined ? columnIndex(t, 'seed', o, new Set()) : find('seed', 'params.seed');
  const prefixed = t.header.some((h) => h.startsWith('metrics.'));
  const keepParams = new Set(o.params ?? []);
  // unprefixed (the UI's export): a column whose every value is a number is a metric, unless --params names it
  const kinds = t.header.map((h, col): 'metric' | 'param' | 'skip' => {
    if (col === idCol || col === nameCol || MLFLOW_INFO.has(lower[col]!)) return 'skip';
    if (col === seedCol && !prefixed) return 'skip'; // the run's seed, not a figure
    if (prefixed) return h.startsWith('metrics.') ? 'metric' : h.startsWith('params.') ? 'param' : 'skip';
    if (h.startsWith('mlflow.')) return 'skip'; // MLflow's own tags
    if (keepParams.has(h)) return 'param';
    const values = t.rows.map((r) => r.cells[col]!.trim()).filter((v) => v !== '');
    return values.length && values.every((v) => Number.isFinite(Number(v))) ? 'metric' : 'param';
  });
  const names = (k: 'metric' | 'param') => t.header.filter((_h, i) => kinds[i] === k);
  if (!prefixed) warnings.push(`${t.file}: MLflow runs table: metrics (summary values) ${JSON.stringify(names('metric'))}; params ${JSON.stringify(names('param'))} (a numeric param is kept as one with --params NAME,...)`);
  for (const { cells, line } of t.rows) {
    const id = cells[idCol]!.trim();
    if (!id) throw new ImportError(`${at(t, line, idCol)}: no run id`);
    const r = runOf(id, nameCol >= 0 && cells[nameCol]!.trim() ? unquote(cells[nameCol]!) : id);
    if (statusCol >= 0) r.status = MLFLOW_STATUS[cells[statusCol]!.trim().toUpperCase()] ?? 'completed';
    if (seedCol >= 0 && cells[seedCol]!.trim() !== '') r.seed = seedOf(t, line, seedCol, cells[seedCol]!);
    t.header.forEach((h, col) => {
      const v = cells[col]!;
      if (v.trim() === '') return;
      const bare = prefixed ? h.slice(h.indexOf('.') + 1) : h;
      if (kinds[col] === 'metric') {
        const k = mapKey(bare, keyMap);
        if (k === null) return void badKeys.add(bare);
        r.summary[k] = num(t, line, col, v, 'a number');
      } else if (kinds[col] === 'param') {
        const x = unquote(v);
        r.params[bare] = x !== '' && Number.isFinite(Number(x)) ? Number(x) : x;
      }
    });
  }
}
