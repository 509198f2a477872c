import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';

// Node-side bundles keep every npm dependency external (native modules, tfjs' wasm files and the
// optional tfjs-node packages must be loaded from node_modules at run time). One exception:
// '#tfjs-gradients' (package.json "imports", not a dependency's name, so not externalized) takes
// the "module" condition to tfjs-core's ESM gradient files, which Node cannot load: they are
// bundled (src/trainer/tf/gradients.ts).
export default defineConfig({
  main: {
    build: {
      // playwright-core (a dev dependency: `trickbench bench --suite store` drives Chromium with it
      // when it is there) stays a run-time import instead of 6 MB in the bundle.
      externalizeDeps: { include: ['playwright-core'] },
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'), // Electron main process
          serve: resolve(__dirname, 'src/main/serve.ts'), // `trickbench serve`: the web shell (also run as `node out/main/serve.js`)
          // the `trickbench` bin (package.json "bin"): each subcommand's module is a chunk it imports when it runs
          cli: resolve(__dirname, 'src/cli/index.ts'),
          trainer: resolve(__dirname, 'src/trainer/main.ts'), // the forked trainer process
          // the training loader's worker threads (src/data/loader.ts finds it next to trainer.js)
          'loader-worker': resolve(__dirname, 'src/data/loader-worker.ts'),
          // the dataset service's preview threads (src/main/services/datasets.ts finds it next to index.js / serve.js)
          'dataset-preview-worker': resolve(__dirname, 'src/main/services/dataset-preview-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      externalizeDeps: true,
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        // A sandboxed preload cannot `require` local chunks: keep it one CommonJS file.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    resolve: { alias: { '@shared': resolve(__dirname, 'src/shared') } },
    build: {
      // electron-vite leaves bundles unminified; the renderer's parse time is part of every page.
      minify: true,
      rollupOptions: { input: { index: resolve(__dirname, 'src/renderer/index.html') } },
    },
    plugins: [vue()],
  },
});
