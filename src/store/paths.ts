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

/** The shared folder a cluster run's folder (SHARED/runs/<id>) is in: the root its checkpoints
 * are found under (as runDir(SHARED, id)), and where its job's output is (SHARED/slurm). */
export function sharedRoot(runFolder: string): string {
  return path.dirname(path.dirname(runFolder));
}

/** A checkpoint's file in its run's folder (src/store/checkpoint.ts): `last.safetensors`. */
export function checkpointFileName(kind: CheckpointKind): string {
  return `${kind}.safetensors`;
}

/** The manifest of a checkpoint of format 1 (`last.json`, naming its `.bin`): still read. */
export function legacyManifestFileName(kind: CheckpointKind): string {
  return `${kind}.json`;
}

/** Where a run's checkpoint of `kind` is written: its presence means the checkpoint exists. */
export function checkpointPath(dataDir: string, runId: number, kind: CheckpointKind): string {
  return path.join(runDir(dataDir, runId), checkpointFileName(kind));
}

/** Which checkpoints a run has on disk, of either format (a cheap existence check, for summaries
 * and validation). */
export function checkpointsOf(dataDir: string, runId: number): CheckpointKind[] {
  const dir = runDir(dataDir, runId);
  return (['last', 'best'] as const).filter((k) => fs.existsSync(path.join(dir, checkpointFileName(k))) || fs.existsSync(path.join(dir, legacyManifestFileName(k))));
}

/** better-sqlite3 built for Electron's ABI, set by the desktop host for itself and its trainers. */
export const SQLITE_BINDING_ENV = 'TRICKBENCH_SQLITE_BINDING';
