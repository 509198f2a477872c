// What `npm run train` (src/trainer/cli.ts) accepts, checked before the run row exists so that a
// refusal writes nothing: a config valid against the facts of its dataset, located and inspected
// in this data dir as the app's dataset service inspects it (so a class id out of range, a RIFLE
// layer the model lacks, RePr without conv layers or a batch larger than the training set are
// refused with the same field errors as the app's runs:start), whose init.fromRun and the tricks'
// source runs (declared in their files) exist and fit, and whose dataset is on this machine.
import fs from 'node:fs';
import { parseRunConfig, type FieldError, type RunConfig } from '../shared/config';
import { BUILTIN_FACTS, DATASET_NAME } from '../shared/models/datasets';
import { dbPath } from '../store/db';
import { openStoreFromEnv } from '../store/open';
import { initCheckpoint, initSourceProblem } from '../store/run-checks';
import type { Store } from '../store/store';
import { locatedFacts } from '../data/facts';
import { sourceRunsOf } from '../shared/tricks/registry';
import { initShapeProblem, sourceRunsError } from '../store/init-plan';

export type TrainInputResult = { ok: true; config: RunConfig } | { ok: false; errors: FieldError[] };

/** The dataset name a raw config asks for, before it is validated ('synthetic' by default). */
function datasetName(raw: unknown): string {
  const d = raw !== null && typeof raw === 'object' ? (raw as { dataset?: unknown }).dataset : undefined;
  const name = d !== null && typeof d === 'object' ? (d as { name?: unknown }).name : undefined;
  return name === undefined ? 'synthetic' : typeof name === 'string' ? name : '';
}

export async function checkTrainInput(raw: unknown, dataDir: string, systemDir = process.env.TRICKBENCH_SYSTEM_DATASETS): Promise<TrainInputResult> {
  const store: Store | null = fs.existsSync(dbPath(dataDir)) ? openStoreFromEnv(dataDir) : null;
  try {
    const name = datasetName(raw);
    // A name the schema refuses is not looked for: the parse below names the field.
    const located = DATASET_NAME.test(name)
      ? await locatedFacts(name, dataDir, { imported: (n) => store?.datasets.get(n) ?? null, systemDir, cache: store?.datasets ?? null })
      : null;
    const facts = located?.facts ?? BUILTIN_FACTS;
    const parsed = parseRunConfig(raw, facts);
    if (!parsed.ok) return parsed;
    const config = parsed.config;
    if (config.init) {
      const from = config.init.fromRun;
      const problem = store
        ? (initSourceProblem(store, from)?.message ?? initShapeProblem(store, config, initCheckpoint(store, from)!, facts)?.replace(/^init\.fromRun: /, ''))
        : `run ${from} does not exist (no store in ${dataDir})`;
      if (problem) return { ok: false, errors: [{ field: 'init.fromRun', message: problem }] };
    }
    // The runs the tricks take weights from; with no store, there are none.
    const first = sourceRunsOf(config)[0];
    const source = store ? sourceRunsError(store, config, facts) : first ? { field: first.path, message: `${first.role} run ${first.runId} does not exist (no store in ${dataDir})` } : null;
    if (source) return { ok: false, errors: [source] };
    // A dataset that is not on this machine.
    if (located?.problem) return { ok: false, errors: [{ field: 'dataset.name', message: located.problem }] };
    return { ok: true, config };
  } finally {
    store?.close();
  }
}
