// Checks made before anything is written: can this run be resumed, can that run's weights start a
// new one. Shared by the run service (API errors) and the CLI (exit 2), so both say the same.
import { RESUMABLE_STATUSES, type CheckpointKind } from '../shared/api';
import { checkpointsOf, sharedRoot } from './paths';
import type { Store } from './store';

export interface Problem {
  code: 'not_found' | 'conflict';
  message: string;
}

/** The data root a run's checkpoints are under: the shared folder for a cluster run (its task
 * wrote them there), else the data dir. A run this store does not hold (a cluster task's source
 * run, seen through the local data dir's `runs` link) is looked for under the data dir. */
export function checkpointRoot(store: Store, runId: number): string {
  const shared = store.getRun(runId)?.sharedDir;
  return shared ? sharedRoot(shared) : store.dataDir;
}

/** Why run `id` cannot be resumed, or null when it can. */
export function resumeProblem(store: Store, id: number): Problem | null {
  const run = store.getRun(id);
  if (!run) return { code: 'not_found', message: `run ${id} does not exist` };
  if (run.source === 'external') return { code: 'conflict', message: `run ${id} cannot be resumed here: it was logged by another script (an external run); continue it from that script` };
  if (!RESUMABLE_STATUSES.includes(run.status)) {
    const why = run.status === 'completed' ? 'it has completed' : `it is ${run.status}`;
    return { code: 'conflict', message: `run ${id} cannot be resumed: ${why}; only a cancelled, failed or interrupted run can be` };
  }
  if (!checkpointsOf(checkpointRoot(store, id), id).includes('last')) {
    return { code: 'conflict', message: `run ${id} cannot be resumed: it has no checkpoint (it stopped before its first epoch ended)` };
  }
  return null;
}

/** Why run `fromRun` cannot give its weights to a new run (config init.fromRun), or null. */
export function initSourceProblem(store: Store, fromRun: number): Problem | null {
  const run = store.getRun(fromRun);
  if (!run) return { code: 'not_found', message: `run ${fromRun} does not exist` };
  if (run.source === 'external') return { code: 'conflict', message: `run ${fromRun} was logged by another script (an external run): Trickbench has no weights of it to load` };
  if (run.status !== 'completed') {
    return { code: 'conflict', message: `run ${fromRun} is ${run.status}; only a completed run's weights can be loaded` };
  }
  if (!initCheckpoint(store, fromRun)) return { code: 'conflict', message: `run ${fromRun} has no checkpoint to load weights from` };
  return null;
}

/** The checkpoint a fine-tuned run loads: the best one, else the last. */
export function initCheckpoint(store: Store, fromRun: number): CheckpointKind | null {
  const have = checkpointsOf(checkpointRoot(store, fromRun), fromRun);
  return have.includes('best') ? 'best' : have.includes('last') ? 'last' : null;
}
