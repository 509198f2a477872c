// A test preload (`node --import tsx --import tests/helpers/disk-full.ts ...`, for the CLI or a
// forked trainer): the disk fills up at the run's first checkpoint, as on a small tmpfs. That
// checkpoint file's temp file gets half its bytes and then ENOSPC; from then on every temp-file
// write fails alike and every store write fails with SQLITE_FULL. A file the process already has
// (the reserved final-status note) can still be overwritten in place, as on a real full disk.
// Never import it into a test process: it patches what it loads into.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { Store } from '../../src/store/store';

let full = false;

function enospc(): Error {
  // what Node says: no file name
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

const realWriteFileSync = fs.writeFileSync;
(fs as { writeFileSync: typeof fs.writeFileSync }).writeFileSync = function writeFileSync(file: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView, options?: fs.WriteFileOptions) {
  const name = String(file);
  if (/\.safetensors\.\d+\.tmp$/.test(name)) full = true;
  if (full && /\.(tmp|partial)$/.test(name)) {
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    realWriteFileSync(file, bytes.subarray(0, bytes.length >> 1)); // the part that fitted
    throw enospc();
  }
  return realWriteFileSync(file, data, options);
} as typeof fs.writeFileSync;

const WRITES = ['finishRun', 'addEvent', 'addMetrics', 'setBackend', 'beginResume'] as const;
for (const m of WRITES) {
  const real = Store.prototype[m] as unknown as (...args: unknown[]) => unknown;
  (Store.prototype as unknown as Record<string, unknown>)[m] = function (this: Store, ...args: unknown[]) {
    if (full) throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
    return real.apply(this, args);
  };
}
