// Runs left `running` by a process that is gone (killed, crashed, its machine restarted). The host
// (RunService: at start and while it polls) and the CLI (`--resume` of such a run) decide alike:
// the owner recorded in the row (pid) is checked, and a dead owner's run gets its final status.
import type { RunRecord, Store } from './store';
import { clearFinalNote, readFinalNote } from './final-note';

/** Whether a process id is alive on this machine (EPERM: alive, someone else's). */
export function isAlive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A `running` run whose owner process no longer exists. */
export function ownerIsGone(run: RunRecord): boolean {
  return run.status === 'running' && !isAlive(run.pid);
}

/** Give a run whose owner is gone its final status: the one its trainer noted when the store was
 * full (src/store/final-note.ts), else `interrupted`. True when the row changed; throws when the
 * store cannot be written (the caller decides whether to retry). */
export function settleOrphan(store: Store, run: RunRecord): boolean {
  const note = readFinalNote(store.dataDir, run.id);
  const changed = note
    ? store.finishRun(run.id, note.status, note.error)
    : store.finishRun(run.id, 'interrupted', `its trainer process${run.pid ? ` (pid ${run.pid})` : ''} ended without recording a final status`);
  clearFinalNote(store.dataDir, run.id);
  return changed;
}
