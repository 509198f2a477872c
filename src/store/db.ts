// Opening the store: one SQLite file per data dir, WAL so the app and several trainers can write
// at once, a busy timeout so short write transactions wait instead of failing.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { MIGRATIONS } from './migrations';

export type DB = Database.Database;

export const DB_FILE = 'trickbench.db';

export interface OpenOptions {
  readonly?: boolean;
  /** Path of a better_sqlite3.node built for another runtime (Electron's ABI). */
  nativeBinding?: string;
}

export function dbPath(dataDir: string): string {
  return path.join(dataDir, DB_FILE);
}

export function openDatabase(dataDir: string, opts: OpenOptions = {}): DB {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = dbPath(dataDir);
  let db: DB;
  try {
    db = new Database(file, { nativeBinding: opts.nativeBinding });
  } catch (e) {
    throw new Error(`cannot open the store ${file}: ${(e as Error).message}`);
  }
  db.pragma('busy_timeout = 10000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db, file);
  return db;
}

export function migrate(db: DB, file = 'the store'): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `${file} was written by a newer Trickbench (schema ${current}, this version knows ${MIGRATIONS.length}); upgrade the app`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    // IMMEDIATE: take the write lock first, then re-check, so two processes never apply one twice.
    db.transaction(() => {
      const now = db.pragma('user_version', { simple: true }) as number;
      if (now !== v) return;
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
