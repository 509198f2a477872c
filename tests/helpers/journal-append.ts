// A child process appending to a run journal through JournalWriter while a test ingests it:
// `node --import tsx journal-append.ts FILE N` writes N metrics records (step 1..N), then exits.
import { JournalWriter } from '../../src/journal/writer';

const [file, n] = process.argv.slice(2);
const w = new JournalWriter(file!);
for (let step = 1; step <= Number(n); step++) {
  w.append({ kind: 'metrics', points: [{ key: 'train/loss_step', step, epoch: step / 1000, value: 1 / step, time: step }] });
  if (step % 50 === 0) await new Promise((r) => setTimeout(r, 1));
}
w.close();
