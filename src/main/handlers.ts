// The contract's implementations, shared by both shells. Each shell adds only transport and the
// one shell-specific call (export:csv: a native save dialog, or a browser download).
import type { AppInfo, ArgOf, Channel, Result, ResultOf } from '../shared/api';
import { ApiFailure, isChannel, parseArg } from '../shared/api';
import { defaultRunConfig } from '../shared/config';
import type { Preset } from '../shared/api';
import { DatasetService } from './services/datasets';
import { ExperimentService, loadPresets } from './services/experiments';
import { ingestHandlers } from './services/ingest';
import type { RunService } from './services/runs';

/** One handler per channel. Each gets its argument already checked against the channel's schema
 * (ARG_SCHEMAS, by dispatch): handlers check only what needs the data (does run 7 exist, is that
 * config valid for its dataset). */
export type Handlers = { [C in Channel]: (arg: ArgOf<C>) => Promise<ResultOf<C>> | ResultOf<C> };

export function createHandlers(
  runs: RunService,
  info: Omit<AppInfo, 'defaults'>,
  exportCsv: Handlers['export:csv'],
  exportFile: Handlers['export:file'],
  experiments = new ExperimentService(runs),
  datasets: DatasetService = new DatasetService({ store: runs.store, dataDir: runs.store.dataDir }),
  pickPath: Handlers['datasets:pick'] = () => ({ path: null }),
): Handlers {
  // Read once, on first use: the files ship with the app.
  let presets: Preset[] | null = null;
  const allPresets = () => (presets ??= loadPresets());
  return {
    'app:info': () => ({ ...info, defaults: defaultRunConfig() }),
    'presets:list': () => allPresets(),
    'presets:start': (a) => {
      const p = allPresets().find((x) => x.id === a.id);
      if (!p) throw new ApiFailure({ code: 'not_found', message: `no preset '${a.id}' (have: ${allPresets().map((x) => x.id).join(', ')})`, field: 'id' });
      return experiments.create(a.seeds === undefined ? p.plan.file : { ...p.plan.file, seeds: a.seeds }, p.id);
    },
    'experiments:list': () => experiments.list(),
    'experiments:get': (a) => experiments.get(a.id),
    'experiments:create': (a) => experiments.create(a.file),
    'experiments:addSeeds': (a) => experiments.addSeeds(a.id, a.seeds),
    'experiments:addArm': (a) => experiments.addArm(a.id, a.name, a.set),
    'experiments:runUntilDecided': (a) => experiments.runUntilDecided(a.id, a.maxSeeds),
    'experiments:stop': (a) => experiments.stopAll(a.id),
    'experiments:resume': (a) => experiments.resumeAll(a.id),
    'experiments:delete': (a) => experiments.delete(a.id),
    'compare:summary': (a) => experiments.summary(a),
    'compare:aligned': (a) => {
      const runIds = a.ids;
      const missing = runIds.filter((r) => !runs.store.getRun(r));
      if (missing.length) throw new ApiFailure({ code: 'not_found', message: `no run with id ${missing.join(', ')}`, field: 'ids' });
      const b64 = (f: Float32Array) => Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
      return Object.fromEntries(
        a.keys.map((k) => {
          const h = runs.store.alignedHistory(runIds, k, { time: a.time === true });
          return [k, { ...h, values: h.values.map(b64), elapsed: h.elapsed?.map(b64) ?? null }];
        }),
      );
    },
    'datasets:list': () => datasets.list(),
    'datasets:get': (a) => datasets.get(a.name, a.labels),
    'datasets:samples': (a) => datasets.samples(a),
    'datasets:import': (a) => datasets.import(a),
    'datasets:remove': (a) => datasets.remove(a.name),
    'datasets:download': (a) => datasets.download(a.name),
    'datasets:cancelDownload': (a) => datasets.cancelDownload(a.name),
    'datasets:pick': (a) => pickPath(a),
    'runs:list': () => runs.list(),
    'runs:get': (a) => runs.summary(a.id),
    'runs:start': (a) => runs.start(a.config),
    'runs:cancel': (a) => runs.cancel(a.id),
    'runs:resume': (a) => runs.resume(a.id),
    'runs:delete': (a) => runs.delete(a.ids),
    'runs:history': (a) => {
      const out: Record<number, ReturnType<typeof runs.store.history>> = {};
      for (const i of a.ids) out[i] = runs.store.history(i, a.keys);
      return out;
    },
    'runs:events': (a) => runs.store.events(a.id),
    'runs:evaluation': (a) => {
      const runId = runs.summary(a.id).id; // not_found for an unknown run
      return runs.store.evaluations.get(runId);
    },
    'runs:predictions': (a) => {
      const runId = runs.summary(a.id).id;
      return runs.store.evaluations.predictions(runId, a.order, a.limit, a.offset);
    },
    'export:csv': exportCsv,
    'export:file': exportFile,
    ...ingestHandlers(runs),
  };
}

/** A call as either shell receives it: the channel must be one, and its argument must pass the
 * channel's schema before the handler runs; every outcome is a Result (errors cross the boundary
 * as data). */
export async function dispatch(handlers: Handlers, channel: string, arg: unknown): Promise<Result<unknown>> {
  if (!isChannel(channel)) return { ok: false, error: { code: 'bad_request', message: `unknown channel ${channel}` } };
  const parsed = parseArg(channel, arg);
  if (!parsed.ok) return parsed;
  return runHandler(handlers, channel, parsed.value);
}

/** Run a channel's handler on an argument its schema has passed (parseArg). */
export async function runHandler<C extends Channel>(handlers: Handlers, channel: C, arg: ArgOf<C>): Promise<Result<ResultOf<C>>> {
  const h = handlers[channel] as ((a: ArgOf<C>) => Promise<ResultOf<C>> | ResultOf<C>) | undefined;
  if (!h) return { ok: false, error: { code: 'internal', message: `no handler for channel ${channel}` } };
  try {
    return { ok: true, value: await h(arg) };
  } catch (e) {
    if (e instanceof ApiFailure) return { ok: false, error: e.error };
    return { ok: false, error: { code: 'internal', message: (e as Error).message || String(e) } };
  }
}
