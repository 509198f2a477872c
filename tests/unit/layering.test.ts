// The host (src/main, src/store) and the shared code own no trainer code: the datasets code, the
// checkpoint files and the source-run checks live where both sides own them (src/data, src/store).
// The one exception is a CLI that trains in-process.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '../..');
const files = (dir: string): string[] =>
  fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : /\.(ts|vue)$/.test(e.name) ? [path.join(dir, e.name)] : []));
/** The modules a file imports (static and dynamic), resolved to paths under the project root. */
function imports(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  return [...text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)].map((m) => path.normalize(path.join(path.dirname(file), m[1]!)));
}

describe('layering', () => {
  it('src/main, src/store, src/data and src/shared import nothing from src/trainer, except the in-process experiment CLI', () => {
    const offenders = ['src/main', 'src/store', 'src/data', 'src/shared']
      .flatMap(files)
      .flatMap((f) => imports(f).filter((i) => i.startsWith(`src${path.sep}trainer${path.sep}`)).map((i) => `${f} -> ${i}`));
    expect(offenders).toEqual(['src/main/experiment-cli.ts -> src/trainer/run']);
  });
});
