import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CheckpointKind } from '../shared/api';

/** The data dir for serve and the CLIs: --data-dir, else $TRICKBENCH_HOME, else ~/.trickbench. */
export function resolveDataDir(flag?: string | null): string {
  const dir = flag || process.env.TRICKBENCH_HOME || path.join(os.homedir(), '.trickbench');
  return path.resolve(dir);
}

/** The run's own folder (checkpoints, logs) under the data dir. */
export function runDir(dataDir: string, runId: number): string {
  return path.join(dataDir, 'runs', String(runId));
}

/** A checkpoint's manifest (src/store/checkpoint.ts): its presence means the checkpoint exists. */
export function checkpointManifestPath(dataDir: string, runId: number, kind: CheckpointKind): string {
  return path.join(runDir(dataDir, runId), `${kind}.json`);
}

/** Which checkpoints a run has on disk (a cheap existence check, for summaries and validation). */
export function checkpointsOf(dataDir: string, runId: number): CheckpointKind[] {
  return (['last', 'best'] as const).filter((k) => fs.existsSync(checkpointManifestPath(dataDir, runId, k)));
}

/** better-sqlite3 built for Electron's ABI, set by the desktop host for itself and its trainers. */
export const SQLITE_BINDING_ENV = 'TRICKBENCH_SQLITE_BINDING';
