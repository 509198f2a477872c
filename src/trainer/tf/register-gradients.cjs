// '#tfjs-gradients' outside a bundler (package.json "imports"): source runs under tsx. Node's own
// loaders cannot load tfjs-core's ESM gradient files (extensionless imports, and a `./gradients`
// that is both a file and a folder); tsx's require() hook can, by compiling each to CommonJS
// (about 0.3 s with tsx's cache warm). Bundlers (electron-vite for out/, esbuild for the GPU
// bundle) take the "module" condition instead, and vitest an alias (vitest.config.ts).
require('@tensorflow/tfjs-core/dist/register_all_gradients.js');
