// Which weights a fine-tuned run takes from its source run (config `init`), decided from names
// and shapes alone: no tfjs, so the host can refuse a misfit before the run row exists (from the
// model's traced shapes) and the trainer applies the very same rules to its real variables.
import { traceModel } from '../shared/models/index';
import type { DatasetFacts } from '../shared/models/datasets';
import { knownShape, type FieldError, type InitConfig, type RunConfig } from '../shared/config';
import { sourceRunsOf } from '../shared/tricks/registry';
import type { AnyTrick } from '../shared/tricks/types';
import { CheckpointError, readManifest, tensorKey, type CheckpointManifest, type TensorGroup } from './checkpoint';
import { runDir } from './paths';
import type { CheckpointKind } from '../shared/api';
import { checkpointRoot, initCheckpoint, initSourceProblem } from './run-checks';
import type { Store } from './store';

export interface InitTarget {
  group: Extract<TensorGroup, 'param' | 'buffer'>;
  name: string;
  shape: readonly number[];
}

export interface InitSource {
  kind: CheckpointKind;
  numClasses: number;
  tensors: readonly { group: TensorGroup; name: string; slot?: string; shape: readonly number[] }[];
}

export interface InitReport {
  fromRun: number;
  checkpoint: CheckpointKind;
  loaded: string[];
  skipped: string[];
  /** Why each skipped name was skipped. */
  reasons: Record<string, string>;
}

/** A layer-name prefix matches whole name parts: `stage2` covers `stage2.block0.conv1/kernel`,
 * `conv1` covers `conv1/bias` but not `conv10/bias`. */
export function matchesPrefix(name: string, prefix: string): boolean {
  if (!name.startsWith(prefix)) return false;
  const next = name.charAt(prefix.length);
  return next === '' || next === '/' || next === '.' || prefix.endsWith('/') || prefix.endsWith('.');
}

const shapeText = (s: readonly number[]) => `[${s.join(',')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Load what matches by name and shape, except excluded layers and, when the class counts
 * differ, the head (re-created). A shape that does not fit is an error naming the first layer. */
export function planInit(targets: readonly InitTarget[], numClasses: number, source: InitSource, init: InitConfig): InitReport {
  const byKey = new Map(source.tensors.filter((t) => !t.slot).map((t) => [tensorKey(t.group, t.name), t]));
  const report: InitReport = { fromRun: init.fromRun, checkpoint: source.kind, loaded: [], skipped: [], reasons: {} };
  const skip = (name: string, why: string) => {
    report.skipped.push(name);
    report.reasons[name] = why;
  };
  for (const t of targets) {
    const ex = init.exclude.find((p) => matchesPrefix(t.name, p));
    if (ex) {
      skip(t.name, `excluded (${ex})`);
    } else if (source.numClasses !== numClasses && matchesPrefix(t.name, 'head')) {
      skip(t.name, `re-created: ${source.numClasses} classes in run ${init.fromRun}, ${numClasses} here`);
    } else {
      const s = byKey.get(tensorKey(t.group, t.name));
      if (!s) {
        skip(t.name, `not in run ${init.fromRun}`);
      } else if (!sameShape(s.shape, t.shape)) {
        throw new Error(`init.fromRun: layer ${t.name} has shape ${shapeText(s.shape)} in run ${init.fromRun} but ${shapeText(t.shape)} here`);
      } else {
        report.loaded.push(t.name);
      }
    }
  }
  return report;
}

/** Before a run exists: would its model take the source checkpoint's weights? The message of the
 * first misfit, or null. Models the tracer cannot describe are left to the trainer's own check. */
export function initShapeProblem(store: Store, config: RunConfig, kind: CheckpointKind, facts: DatasetFacts): string | null {
  if (!config.init) return null;
  let manifest: CheckpointManifest | null;
  try {
    manifest = readManifest(runDir(checkpointRoot(store, config.init.fromRun), config.init.fromRun), kind);
  } catch (e) {
    if (e instanceof CheckpointError) return `init.fromRun: the ${kind} checkpoint of run ${config.init.fromRun} is unreadable: ${e.message}`;
    throw e;
  }
  if (!manifest) return null;
  const data = knownShape(config.dataset, config.augment, facts);
  if (!data) return null; // the trainer checks it once the data is read
  let targets: InitTarget[];
  try {
    const trace = traceModel(config.model, data.shape, data.classes);
    targets = [
      ...trace.paramSpecs.map((p) => ({ group: 'param' as const, name: p.name, shape: p.shape })),
      ...trace.bufferSpecs.map((b) => ({ group: 'buffer' as const, name: b.name, shape: b.shape })),
    ];
  } catch {
    return null;
  }
  try {
    planInit(targets, data.classes, { kind, numClasses: manifest.model.numClasses, tensors: manifest.tensors }, config.init);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Why run `runId` cannot be a trick's source run (`role`, as the trick declares it, says what it
 * is to this run in the message), or null: it must be a completed run with a checkpoint, whose model takes this
 * run's input shape and predicts its classes. */
export function sourceRunProblem(store: Store, config: Pick<RunConfig, 'dataset' | 'augment'>, facts: DatasetFacts, runId: number, role: string): string | null {
  const src = initSourceProblem(store, runId);
  if (src) return `${role} ${src.message}`;
  const kind = initCheckpoint(store, runId)!;
  let manifest: CheckpointManifest | null;
  try {
    manifest = readManifest(runDir(checkpointRoot(store, runId), runId), kind);
  } catch (e) {
    if (e instanceof CheckpointError) return `${role} run ${runId}: its ${kind} checkpoint is unreadable: ${e.message}`;
    throw e;
  }
  if (!manifest) return `${role} run ${runId} has no readable checkpoint`;
  const data = knownShape(config.dataset, config.augment, facts);
  if (!data) return null;
  if (manifest.model.numClasses !== data.classes || manifest.model.inputShape.join('x') !== data.shape.join('x')) {
    return `${role} run ${runId} takes ${manifest.model.inputShape.join('x')} input with ${manifest.model.numClasses} classes; this run's data (${config.dataset.name}) is ${data.shape.join('x')} with ${data.classes}`;
  }
  return null;
}

/** The first source run that a trick the config turns on declares (types.ts `sourceRuns`) and
 * cannot use, at its field (`tricks.<name>.<field>`), or null. */
export function sourceRunsError(
  store: Store,
  config: Pick<RunConfig, 'dataset' | 'augment'> & { tricks: { readonly [name: string]: unknown } },
  facts: DatasetFacts,
  registry?: readonly AnyTrick[],
): FieldError | null {
  for (const s of sourceRunsOf(config, registry)) {
    const message = sourceRunProblem(store, config, facts, s.runId, s.role);
    if (message) return { field: s.path, message };
  }
  return null;
}
