// Imported datasets and the dataset cache (migration 4).
import type { DB } from './db';

export interface ImportedDatasetRow {
  name: string;
  path: string;
  format: string;
  options: Record<string, unknown>;
  info: Record<string, unknown>;
  createdAt: number;
}

interface Row {
  name: string;
  path: string;
  format: string;
  options: string;
  info: string;
  created_at: number;
}

const fromRow = (r: Row): ImportedDatasetRow => ({
  name: r.name,
  path: r.path,
  format: r.format,
  options: JSON.parse(r.options) as Record<string, unknown>,
  info: JSON.parse(r.info) as Record<string, unknown>,
  createdAt: r.created_at,
});

export class DatasetRepo {
  private readonly s;
  constructor(db: DB) {
    this.s = {
      insert: db.prepare(`INSERT INTO dataset (name, path, format, options, info, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
      get: db.prepare(`SELECT * FROM dataset WHERE name = ?`),
      list: db.prepare(`SELECT * FROM dataset ORDER BY name`),
      delete: db.prepare(`DELETE FROM dataset WHERE name = ?`),
      cacheGet: db.prepare(`SELECT value FROM dataset_cache WHERE key = ?`),
      cachePut: db.prepare(`INSERT OR REPLACE INTO dataset_cache (key, value, created_at) VALUES (?, ?, ?)`),
    };
  }

  add(d: Omit<ImportedDatasetRow, 'createdAt'>): ImportedDatasetRow {
    const createdAt = Date.now();
    this.s.insert.run(d.name, d.path, d.format, JSON.stringify(d.options), JSON.stringify(d.info), createdAt);
    return { ...d, createdAt };
  }

  get(name: string): ImportedDatasetRow | null {
    const r = this.s.get.get(name) as Row | undefined;
    return r ? fromRow(r) : null;
  }

  list(): ImportedDatasetRow[] {
    return (this.s.list.all() as Row[]).map(fromRow);
  }

  delete(name: string): boolean {
    return this.s.delete.run(name).changes > 0;
  }

  cached<T>(key: string): T | null {
    const r = this.s.cacheGet.get(key) as { value: string } | undefined;
    return r ? (JSON.parse(r.value) as T) : null;
  }

  cache(key: string, value: unknown): void {
    this.s.cachePut.run(key, JSON.stringify(value), Date.now());
  }
}
