// Where a worker thread's script is, bundled or not: electron-vite builds each worker as its own
// entry next to the main bundles (out/main/<name>.js); tests and the CLIs run from source, where
// the TypeScript file beside its user is run through tsx.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The worker `name` for the module at `fromUrl` (its import.meta.url): the bundled <name>.js next
 * to that bundle (or its chunk's parent folder), else <name>.ts beside the source module. */
export function workerEntry(name: string, fromUrl: string): { filename: string; execArgv: string[] } {
  const here = path.dirname(fileURLToPath(fromUrl));
  for (const dir of [here, path.dirname(here)]) {
    const js = path.join(dir, `${name}.js`);
    if (fs.existsSync(js)) return { filename: js, execArgv: [] };
  }
  const ts = path.join(here, `${name}.ts`);
  if (fs.existsSync(ts)) return { filename: ts, execArgv: ['--import', 'tsx'] };
  throw new Error(`the worker script is missing: no ${name}.js near ${here}`);
}
