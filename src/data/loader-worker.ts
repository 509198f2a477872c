// A loader worker thread (piscina): holds the shared dataset and its own augmentation pipeline,
// and turns batch tasks into float32 batches moved (not copied) back to the training thread.
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { BatchMaker, type BatchContext, type BatchTask } from './batch';

const maker = new BatchMaker(workerData as BatchContext);

export default function prepare(task: BatchTask) {
  const b = maker.make(task);
  return move({
    get [transferableSymbol]() {
      return [b.x.buffer, b.y.buffer];
    },
    get [valueSymbol]() {
      return b;
    },
  });
}
