// What 'runs:start' accepts: a config the schema validates, whose init.fromRun (if any) names a
// completed run with a checkpoint whose layers fit this model, and whose tricks' source runs (the
// runs a trick takes weights from, declared in its file) are completed runs with checkpoints that
// fit this run's data. Checked before the run row exists, so a refusal writes nothing.
import { ApiFailure } from '../../shared/api';
import { parseRunConfig, type RunConfig } from '../../shared/config';
import type { DatasetFacts } from '../../shared/models/datasets';
import { initCheckpoint, initSourceProblem } from '../../store/run-checks';
import { initShapeProblem, sourceRunsError } from '../../store/init-plan';
import type { Store } from '../../store/store';

/** Why a run cannot use a dataset now (not downloaded, unknown), or null. */
export type DatasetCheck = (name: string) => string | null;

/** What the host knows of the datasets (the dataset service): a start is checked against it. */
export interface StartDatasets {
  /** The datasets' facts: a config is validated with them (classes, shapes, sizes). */
  facts: DatasetFacts;
  /** Refuses a dataset that is not on this machine; absent: not checked (the trainer locates it). */
  problem?: DatasetCheck;
}

export function checkStartInput(store: Store, input: unknown, datasets: StartDatasets): RunConfig {
  const parsed = parseRunConfig(input, datasets.facts);
  if (!parsed.ok) {
    const first = parsed.errors[0]!;
    throw new ApiFailure({
      code: 'invalid_config',
      message: parsed.errors.map((e) => `${e.field}: ${e.message}`).join('; '),
      field: first.field,
      fields: parsed.errors,
    });
  }
  const config = parsed.config;
  const data = datasets.problem?.(config.dataset.name);
  if (data) {
    throw new ApiFailure({ code: 'invalid_config', message: `dataset.name: ${data}`, field: 'dataset.name', fields: [{ field: 'dataset.name', message: data }] });
  }
  if (config.init) {
    const from = config.init.fromRun;
    const problem = initSourceProblem(store, from)?.message ?? initShapeProblem(store, config, initCheckpoint(store, from)!, datasets.facts)?.replace(/^init\.fromRun: /, '');
    if (problem) {
      throw new ApiFailure({
        code: 'invalid_config',
        message: `init.fromRun: ${problem}`,
        field: 'init.fromRun',
        fields: [{ field: 'init.fromRun', message: problem }],
      });
    }
  }
  const source = sourceRunsError(store, config, datasets.facts);
  if (source) {
    throw new ApiFailure({ code: 'invalid_config', message: `${source.field}: ${source.message}`, field: source.field, fields: [source] });
  }
  return config;
}
