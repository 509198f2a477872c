// The Electron shell: lifecycle and the window. With ipc.ts, the only code that imports electron.
import { app, BrowserWindow, session, shell } from 'electron';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHandlers } from './handlers';
import { DatasetService } from './services/datasets';
import { ExperimentService } from './services/experiments';
import { bindIpc, broadcast, desktopExport, desktopPick, desktopSaveFile } from './ipc';
import { RunService } from './services/runs';
import { Store } from '../store/store';
import { SQLITE_BINDING_ENV } from '../store/paths';

const here = path.dirname(fileURLToPath(import.meta.url));

/** better-sqlite3 built for Electron's ABI by scripts/electron-native.mjs (Node's own build stays
 * in node_modules for the CLI, serve and tests). */
function electronSqliteBinding(): string | undefined {
  // Packaged apps need none: electron-builder rebuilds node_modules for Electron (npmRebuild).
  const p = path.join(app.getAppPath(), 'build', 'electron', 'better_sqlite3.node');
  return fs.existsSync(p) ? p : undefined;
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 860,
    title: 'Trickbench',
    webPreferences: {
      preload: path.join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  // Links open in the system browser, never inside the app.
  win.webContents.setWindowOpenHandler(({ url }) => {
    void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (e, url) => {
    if (!url.startsWith('file:') && !url.startsWith(process.env.ELECTRON_RENDERER_URL ?? '\0')) e.preventDefault();
  });
  if (process.env.ELECTRON_RENDERER_URL) void win.loadURL(process.env.ELECTRON_RENDERER_URL);
  else void win.loadFile(path.join(here, '../renderer/index.html'));
  return win;
}

app.whenReady().then(async () => {
  // The page carries its own CSP meta; this header is the same policy for anything else served.
  session.defaultSession.webRequest.onHeadersReceived((details, cb) => {
    cb({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': [
          "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws:",
        ],
      },
    });
  });
  const dataDir = app.getPath('userData');
  const binding = electronSqliteBinding();
  if (binding) process.env[SQLITE_BINDING_ENV] = binding;
  const store = new Store(dataDir, binding ? { nativeBinding: binding } : {});
  const datasets = new DatasetService({ store, dataDir, emit: broadcast });
  // Listed in the background: the window does not wait for a first inspection of big folders.
  void datasets.refresh().catch(() => undefined);
  const runs = new RunService({
    store,
    dataDir,
    datasetProblem: (name) => datasets.problem(name),
    trainerEntry: path.join(here, 'trainer.js'),
    // Trainers run on Electron's own Node: no separate Node install needed.
    execPath: process.execPath,
    env: { ELECTRON_RUN_AS_NODE: '1' },
    emit: broadcast,
  });
  const experiments = new ExperimentService(runs);
  const handlers = createHandlers(runs, { shell: 'electron', dataDir, version: app.getVersion() }, desktopExport(store, app.getPath('downloads')), desktopSaveFile(app.getPath('downloads')), experiments, datasets, desktopPick);
  bindIpc(handlers);
  runs.recover();
  experiments.recover();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
  app.on('before-quit', () => {
    // Quitting stops trainers cleanly (status cancelled). If the app crashes instead, trainers go
    // on writing to the store and the next start picks them up (RunService.recover).
    void runs.close();
    void datasets.downloads.close();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
