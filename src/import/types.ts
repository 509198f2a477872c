// What an importer makes of one run of another tool, before the store sees it: plain data, so the
// parsers are tested without a database and the CLI hands each run to store.external.importRun.

export interface ImportedPoint {
  key: string;
  step: number;
  epoch?: number;
  value: number;
  /** ms since the Unix epoch */
  time?: number;
}

export interface ImportedEvent {
  kind: string;
  step: number;
  epoch?: number;
  payload?: Record<string, unknown>;
  time?: number;
}

export interface ImportedSpec {
  name: string;
  seed: number;
  params: Record<string, unknown>;
  experiment?: string;
  arm?: string;
  baseline?: string;
  metric?: string;
  /** Makes a second import of the same source land on the same run (src/store/external-repo.ts). */
  clientKey: string;
}

export interface ImportedRun {
  /** The folder or file (with the run's id in it) the run came from, for messages. */
  sourcePath: string;
  name: string;
  spec: ImportedSpec;
  metrics: ImportedPoint[];
  events: ImportedEvent[];
  /** Final values without a history (an MLflow runs table's metrics). */
  summary: Record<string, number>;
  /** How the run ended, where the source says (an MLflow run's status); else completed. */
  status?: 'completed' | 'failed' | 'cancelled' | 'interrupted';
  warnings: string[];
}

/** Bad input: a file, a flag or a folder that cannot be imported as asked (exit 2), in words
 * that name it. */
export class ImportError extends Error {
  override name = 'ImportError';
}
