// Builds better-sqlite3 for Electron's ABI into build/electron/ (once per Electron/better-sqlite3
// version), leaving node_modules' build for Node, which the CLI, `npm run serve` and the tests use.
// The desktop app loads this copy (src/main/index.ts). Needs Electron's headers, which node-gyp
// downloads on first use.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outDir = path.join(root, 'build', 'electron');
const out = path.join(outDir, 'better_sqlite3.node');
const stampFile = path.join(outDir, 'stamp.json');

const electron = require('electron/package.json').version;
const sqlitePkgDir = path.dirname(require.resolve('better-sqlite3/package.json'));
const sqlite = JSON.parse(fs.readFileSync(path.join(sqlitePkgDir, 'package.json'), 'utf8')).version;
const stamp = JSON.stringify({ electron, sqlite });

if (fs.existsSync(out) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) process.exit(0);

const gyp = process.env.npm_config_node_gyp;
if (!gyp) {
  console.error('electron-native: run this through npm (npm start), which provides node-gyp');
  process.exit(1);
}
const work = path.join(outDir, 'better-sqlite3');
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });
fs.cpSync(sqlitePkgDir, work, { recursive: true, filter: (src) => !src.includes(`${path.sep}build${path.sep}`) && !src.endsWith(`${path.sep}build`) });
console.log(`electron-native: building better-sqlite3 ${sqlite} for Electron ${electron} ...`);
try {
  execFileSync(process.execPath, [gyp, 'rebuild', '--release', '--runtime=electron', `--target=${electron}`, '--dist-url=https://electronjs.org/headers'], {
    cwd: work,
    stdio: 'inherit',
  });
} catch {
  console.error(`electron-native: building better-sqlite3 ${sqlite} for Electron ${electron} failed (it needs Electron's headers from the internet the first time, and a C++ toolchain that builds them: GCC 13 or newer for Electron 43's V8 headers). \`npm run serve\` works without it.`);
  process.exit(1);
}
fs.copyFileSync(path.join(work, 'build', 'Release', 'better_sqlite3.node'), out);
fs.writeFileSync(stampFile, stamp);
fs.rmSync(work, { recursive: true, force: true });
console.log(`electron-native: wrote ${path.relative(root, out)}`);
