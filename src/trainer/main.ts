// The trainer process forked by the host (desktop app or serve): `trainer.js --run-id N --data-dir DIR
// [--resume]` (--resume: continue the re-queued run from its last checkpoint).
// It claims the queued run, trains it, writes everything to the store itself and sends small
// progress messages to the host. If the host goes away, training goes on and the store stays the
// record of it.
import { parseArgs } from 'node:util';
import type { HostMessage, TrainerMessage } from '../shared/protocol';
import { openStoreFromEnv } from '../store/open';
import { hostLink } from './host-link';
import { executeRun } from './run';

// Set up before anything can be sent: a send to a host that died must never kill the run.
const link = hostLink(process, (line) => process.stderr.write(line));
const send = (msg: TrainerMessage): void => link.send(msg);

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'run-id': { type: 'string' }, 'data-dir': { type: 'string' }, resume: { type: 'boolean' } } });
  const runId = Number(values['run-id']);
  const dataDir = values['data-dir'];
  if (!Number.isInteger(runId) || !dataDir) {
    process.stderr.write('usage: trainer --run-id N --data-dir DIR [--resume]\n');
    return 2;
  }
  const store = openStoreFromEnv(dataDir);
  if (!store.claimRun(runId)) {
    const run = store.getRun(runId);
    process.stderr.write(`run ${runId} cannot be started: it is ${run ? run.status : 'missing'}\n`);
    return 3;
  }
  let cancelled = false;
  process.on('message', (m: HostMessage) => {
    if (m?.type === 'cancel') cancelled = true;
  });
  process.on('SIGTERM', () => (cancelled = true));
  process.on('SIGINT', () => (cancelled = true));
  // Host gone: keep training (the store is the record), just stop messaging (host-link.ts); its end
  // of our stdout/stderr pipes is gone too, and a write there must not kill the run.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);

  // Progress goes out at most every 200 ms (and at every phase change), not once per step.
  let lastProgress = 0;
  let lastPhase = '';
  const outcome = await executeRun({
    store,
    runId,
    dataDir,
    resume: values.resume === true,
    isCancelled: () => cancelled,
    hooks: {
      started: (backend, device) => send({ type: 'started', runId, backend, device, pid: process.pid }),
      progress(p) {
        const now = Date.now();
        if (now - lastProgress < 200 && p.phase === lastPhase) return;
        lastProgress = now;
        lastPhase = p.phase;
        send({ type: 'progress', runId, ...p });
      },
      metrics: (points) => send({ type: 'metrics', runId, points }),
      event: (event) => send({ type: 'event', runId, event }),
    },
  });
  try {
    store.close();
  } catch {
    // the run's end is recorded (or noted) already; nothing is lost by a failed close
  }
  send({ type: 'finished', runId, status: outcome.status, error: outcome.error });
  if (outcome.error) process.stderr.write(`run ${runId} ${outcome.status}: ${outcome.error}\n`);
  return outcome.status === 'completed' ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Let the last IPC message flush before exiting.
    if (process.connected) process.disconnect?.();
  },
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
