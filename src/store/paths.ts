import os from 'node:os';
import path from 'node:path';

/** The data dir for serve and the CLIs: --data-dir, else $TRICKBENCH_HOME, else ~/.trickbench. */
export function resolveDataDir(flag?: string | null): string {
  const dir = flag || process.env.TRICKBENCH_HOME || path.join(os.homedir(), '.trickbench');
  return path.resolve(dir);
}

/** The run's own folder (checkpoints, logs) under the data dir. */
export function runDir(dataDir: string, runId: number): string {
  return path.join(dataDir, 'runs', String(runId));
}

/** better-sqlite3 built for Electron's ABI, set by the desktop host for itself and its trainers. */
export const SQLITE_BINDING_ENV = 'TRICKBENCH_SQLITE_BINDING';
