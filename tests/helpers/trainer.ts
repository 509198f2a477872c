import { spawn } from 'node:child_process';
import path from 'node:path';
import type { EventMap, EventName } from '../../src/shared/api';
import { RunService, type HostDatasets } from '../../src/main/services/runs';
import { Store } from '../../src/store/store';

export const ROOT = path.resolve(__dirname, '../..');

/** A small, fast run config on the built-in dataset (a few seconds on the wasm backend). */
export function tinyConfig(over: Record<string, unknown> = {}) {
  return {
    dataset: { name: 'synthetic', trainSubset: 320, valSplit: 0.2 },
    model: { name: 'cnn3', width: 8 },
    epochs: 2,
    batchSize: 32,
    ...over,
  };
}

export interface Recorded {
  events: { event: EventName; payload: unknown }[];
  of<E extends EventName>(e: E): EventMap[E][];
}

/** A RunService forking the trainer from source (through tsx), with every emitted event recorded. */
export function makeService(
  dataDir: string,
  opts: { cancelGraceMs?: number; pollMs?: number; datasets?: HostDatasets; execArgv?: string[] } = {},
) {
  const store = new Store(dataDir);
  const rec: Recorded = {
    events: [],
    of<E extends EventName>(e: E) {
      return this.events.filter((x) => x.event === e).map((x) => x.payload as EventMap[E]);
    },
  };
  const service = new RunService({
    store,
    dataDir,
    trainerEntry: path.join(ROOT, 'src/trainer/main.ts'),
    execArgv: ['--import', 'tsx'],
    emit: (event, payload) => rec.events.push({ event, payload }),
    ...opts,
  });
  return { store, service, rec };
}

export async function waitFor<T>(fn: () => T | null | undefined | false, what: string, timeoutMs = 90_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  last: Record<string, unknown> | null;
}

/** Run a CLI script from source (as `npm run train` does) and parse its last stdout line.
 * `nodeArgs`: more node options after the TS loader (a test preload: `--import FILE`). */
export function runCli(script: string, args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, path.join(ROOT, script), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      const lines = stdout.trim().split('\n');
      let last: Record<string, unknown> | null = null;
      try {
        last = JSON.parse(lines[lines.length - 1] ?? '') as Record<string, unknown>;
      } catch {
        last = null;
      }
      resolve({ code, stdout, stderr, last });
    });
  });
}
