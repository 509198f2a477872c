// `kill -9` of the host (serve, the desktop app) while a run trains: its trainer goes on alone and
// records the run itself (ARCHITECTURE.md: "if the app dies, training and its data go on"). The
// trainer used to die of its next message to the dead host (EPIPE as an unhandled 'error', exit 7).
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/store/orphans';
import { Store } from '../../src/store/store';
import { ROOT, tinyConfig, waitFor } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store | null = null;
let trainerPid: number | null = null;
beforeEach(() => (tmp = tmpDataDir()));
afterEach(() => {
  if (trainerPid && isAlive(trainerPid)) process.kill(trainerPid, 'SIGKILL'); // a failed test leaves none behind
  store?.close();
  store = null;
  tmp.cleanup();
});

describe('the host dies while a run trains', () => {
  it('the trainer finishes the run and records it completed after its host is killed with SIGKILL', async () => {
    const host = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tests/helpers/host-process.ts'), tmp.dir, JSON.stringify(tinyConfig({ epochs: 3 }))], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    host.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => host.on('exit', (_code, signal) => resolve(signal)));
    const firstMetrics = new Promise<number>((resolve, reject) => {
      readline.createInterface({ input: host.stdout }).on('line', (line) => {
        try {
          const m = JSON.parse(line) as { metrics?: number };
          if (m.metrics) resolve(m.metrics);
        } catch {
          // not one of its JSON lines
        }
      });
      host.on('exit', () => reject(new Error(`the host exited before its trainer's first metrics:\n${stderr}`)));
    });

    // Killed at a defined point: its trainer has sent metrics and is training.
    const runId = await firstMetrics;
    store = new Store(tmp.dir);
    const running = store.getRun(runId)!;
    expect(running.status).toBe('running');
    trainerPid = running.pid;
    expect(trainerPid).toBeTruthy();
    expect(trainerPid).not.toBe(host.pid);
    host.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // Wait on the store: the end the trainer records, or the trainer's death without one.
    const s = store;
    const pid = trainerPid!;
    const end = await waitFor(() => {
      const r = s.getRun(runId);
      return r && (r.status !== 'running' || !isAlive(pid)) && r;
    }, 'the trainer to record the end of the run');
    expect(end).toMatchObject({ status: 'completed', error: null, pid: null });
    // 256 training images / batch 32 = 8 steps an epoch, 3 epochs: all of them, after the host died too.
    expect(s.history(runId)['train/loss_step']!.map((p) => p.step)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(s.events(runId).map((e) => e.kind)).toEqual(['run.start', 'pairing', 'run.end']);
  });
});
