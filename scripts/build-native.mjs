// Builds the optional native kernels (native/: oneDNN convolutions, BatchNorm and pooling for the
// wasm backend, ~10x faster training on a CPU) with node-gyp. Run by `npm install` (postinstall)
// and by hand (`npm run build:native`). It never fails the install: without a C++ compiler or
// oneDNN's headers (Debian/Ubuntu: apt-get install libdnnl-dev) it says so and training runs on
// wasm alone. The addon uses Node-API only, so one build serves Node and Electron alike.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'native');
const strict = process.argv.includes('--strict');

function giveUp(why) {
  const msg = `native kernels not built: ${why}. Training will run on wasm alone (several times slower on a CPU).`;
  if (strict) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(`warning: ${msg}`);
  process.exit(0);
}

if (process.env.TRICKBENCH_NATIVE === '0') giveUp('TRICKBENCH_NATIVE=0');
// Built and tested on Linux x86-64 with GCC and Debian's oneDNN; elsewhere node-gyp is tried and
// its failure reported.
const headers = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/local/include/oneapi/dnnl/dnnl.hpp'];
if (process.platform === 'linux' && !headers.some((h) => fs.existsSync(h))) {
  giveUp('oneDNN headers not found (Debian/Ubuntu: apt-get install libdnnl-dev)');
}
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['npx', ['--no-install', 'node-gyp']];
const res = spawnSync(cmd, [...args, 'rebuild'], { cwd: dir, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
if (res.error || res.status !== 0) {
  const tail = (res.stderr ?? '').trim().split('\n').slice(-15).join('\n');
  if (tail) console.error(tail);
  giveUp(res.error ? res.error.message : `node-gyp exited with ${res.status}`);
}
console.log(`native kernels built: ${path.join(dir, 'build', 'Release', 'trickbench_native.node')}`);
