// The contract's implementations, shared by both shells. Each shell adds only transport and the
// one shell-specific call (export:csv: a native save dialog, or a browser download).
import type { AppInfo, ArgOf, Channel, PredictionOrder, Result, ResultOf } from '../shared/api';
import { ApiFailure, PREDICTION_ORDERS } from '../shared/api';
import { defaultRunConfig } from '../shared/config';
import type { Preset } from '../shared/api';
import { DatasetService } from './services/datasets';
import { ExperimentService, loadPresets } from './services/experiments';
import type { RunService } from './services/runs';

export type Handlers = { [C in Channel]: (arg: ArgOf<C>) => Promise<ResultOf<C>> | ResultOf<C> };

function ids(v: unknown, field: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) {
    throw new ApiFailure({ code: 'bad_request', message: `${field} must be a list of run ids`, field });
  }
  return v as number[];
}
function id(v: unknown, what = 'run'): number {
  if (!Number.isInteger(v)) throw new ApiFailure({ code: 'bad_request', message: `id must be a${what === 'experiment' ? 'n' : ''} ${what} id`, field: 'id' });
  return v as number;
}
function count(v: unknown, field: string, max: number): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max) {
    throw new ApiFailure({ code: 'bad_request', message: `${field} must be an integer from 0 to ${max}`, field });
  }
  return v as number;
}
function order(v: unknown): PredictionOrder {
  if (!PREDICTION_ORDERS.includes(v as PredictionOrder)) {
    throw new ApiFailure({ code: 'bad_request', message: `order must be one of ${PREDICTION_ORDERS.join(', ')}`, field: 'order' });
  }
  return v as PredictionOrder;
}

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
      if (typeof a?.id !== 'string') throw new ApiFailure({ code: 'bad_request', message: 'id must be a preset id', field: 'id' });
      const p = allPresets().find((x) => x.id === a.id);
      if (!p) throw new ApiFailure({ code: 'not_found', message: `no preset '${a.id}' (have: ${allPresets().map((x) => x.id).join(', ')})`, field: 'id' });
      return experiments.create(a.seeds === undefined ? p.plan.file : { ...p.plan.file, seeds: a.seeds }, p.id);
    },
    'experiments:list': () => experiments.list(),
    'experiments:get': (a) => experiments.get(id(a?.id, 'experiment')),
    'experiments:create': (a) => experiments.create(a?.file),
    'experiments:addSeeds': (a) => experiments.addSeeds(id(a?.id, 'experiment'), a.seeds),
    'experiments:addArm': (a) => experiments.addArm(id(a?.id, 'experiment'), a.name, a.set),
    'experiments:runUntilDecided': (a) => experiments.runUntilDecided(id(a?.id, 'experiment'), a.maxSeeds),
    'experiments:stop': (a) => experiments.stopAll(id(a?.id, 'experiment')),
    'experiments:resume': (a) => experiments.resumeAll(id(a?.id, 'experiment')),
    'experiments:delete': (a) => experiments.delete(id(a?.id, 'experiment')),
    'compare:summary': (a) => experiments.summary(a ?? {}),
    'compare:aligned': (a) => {
      const runIds = ids(a?.ids, 'ids');
      if (!Array.isArray(a.keys) || !a.keys.every((k) => typeof k === 'string')) throw new ApiFailure({ code: 'bad_request', message: 'keys must be a list of metric keys', field: 'keys' });
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
    'datasets:get': (a) => datasets.get(a?.name, a?.labels),
    'datasets:samples': (a) => datasets.samples(a),
    'datasets:import': (a) => datasets.import(a),
    'datasets:remove': (a) => datasets.remove(a?.name),
    'datasets:download': (a) => datasets.download(a?.name),
    'datasets:cancelDownload': (a) => datasets.cancelDownload(a?.name),
    'datasets:pick': (a) => pickPath(a ?? { folder: true }),
    'runs:list': () => runs.list(),
    'runs:get': (a) => runs.summary(id(a?.id)),
    'runs:start': (a) => runs.start(a?.config),
    'runs:cancel': (a) => runs.cancel(id(a?.id)),
    'runs:resume': (a) => runs.resume(id(a?.id)),
    'runs:delete': (a) => runs.delete(ids(a?.ids, 'ids')),
    'runs:history': (a) => {
      const out: Record<number, ReturnType<typeof runs.store.history>> = {};
      for (const i of ids(a?.ids, 'ids')) out[i] = runs.store.history(i, a.keys);
      return out;
    },
    'runs:events': (a) => runs.store.events(id(a?.id)),
    'runs:evaluation': (a) => {
      const runId = runs.summary(id(a?.id)).id; // not_found for an unknown run
      return runs.store.evaluations.get(runId);
    },
    'runs:predictions': (a) => {
      const runId = runs.summary(id(a?.id)).id;
      return runs.store.evaluations.predictions(runId, order(a.order), count(a.limit, 'limit', 1000), count(a.offset, 'offset', 1e9));
    },
    'export:csv': exportCsv,
    'export:file': exportFile,
  };
}

/** Run a handler and turn every outcome into a Result: errors cross the boundary as data. */
export async function dispatch(handlers: Handlers, channel: string, arg: unknown): Promise<Result<unknown>> {
  // own properties only: "constructor", "toString" or "__proto__" are not channels
  const h = Object.hasOwn(handlers, channel) ? (handlers as Record<string, ((a: unknown) => unknown) | undefined>)[channel] : undefined;
  if (!h) return { ok: false, error: { code: 'bad_request', message: `unknown channel ${channel}` } };
  try {
    return { ok: true, value: await h(arg) };
  } catch (e) {
    if (e instanceof ApiFailure) return { ok: false, error: e.error };
    return { ok: false, error: { code: 'internal', message: (e as Error).message || String(e) } };
  }
}
