// The Electron shell: lifecycle and the window. With ipc.ts, the only code that imports electron.
import { app, BrowserWindow, session, shell } from 'electron';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHandlers } from './handlers';
import { DatasetService } from './services/datasets';
import { ExperimentService } from './services/experiments';
import { bindIpc, broadcast, desktopExport, desktopPick, desktopSaveFile } from './ipc';
import { RunService } from './services/runs';
import { Store } from '../store/store';
import { SQLITE_BINDING_ENV } from '../store/paths';
import { CSP_HEADER, isAppUrl, isExternalUrlAllowed, isPermissionAllowed } from './security';

const here = path.dirname(fileURLToPath(import.meta.url));
const indexHtml = path.join(here, '../renderer/index.html');
/** The one page the window shows (and gives window.api): the dev server's in dev, else the build's. */
const appUrl = process.env.ELECTRON_RENDERER_URL || pathToFileURL(indexHtml).href;

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
  // Web links open in the system browser, never inside the app; nothing else is opened (a file:,
  // smb: or custom-scheme URL handed to the OS would run whatever handles it).
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isExternalUrlAllowed(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  // The window stays on the app's page: any other page (another local file included) would get
  // the preload's window.api.
  const stay = (e: { preventDefault: () => void }, url: string) => {
    if (!isAppUrl(url, appUrl)) e.preventDefault();
  };
  win.webContents.on('will-navigate', stay);
  win.webContents.on('will-redirect', stay);
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  void win.loadURL(appUrl);
  return win;
}

app.whenReady().then(async () => {
  // The page carries its own CSP meta; this header is the same policy for anything else served.
  session.defaultSession.webRequest.onHeadersReceived((details, cb) => {
    cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP_HEADER], 'X-Frame-Options': ['DENY'] } });
  });
  // No camera, microphone, notifications, geolocation, ...: the app asks for none of them (only
  // the Copy buttons' clipboard write, from the app's page).
  session.defaultSession.setPermissionRequestHandler((wc, permission, callback, details) => {
    callback(isPermissionAllowed(permission, details.requestingUrl || wc?.getURL(), appUrl));
  });
  session.defaultSession.setPermissionCheckHandler((wc, permission, _origin, details) => isPermissionAllowed(permission, details.requestingUrl || wc?.getURL(), appUrl));
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
    datasets,
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
