// The contract bound to Electron's ipcMain: one handler per channel, events to every window.
import { BrowserWindow, dialog, ipcMain } from 'electron';
import fs from 'node:fs';
import path from 'node:path';
import type { EventMap, EventName, ExportRequest } from '../shared/api';
import { ApiFailure, CHANNELS } from '../shared/api';
import { dispatch, type Handlers } from './handlers';
import { checkExportRequest, exportExtension, exportFileName, writeExport } from './services/export';
import type { Store } from '../store/store';

/** Every channel of the contract (CHANNELS: the keys of its argument schemas), each call through
 * dispatch, which checks the argument against the channel's schema before the handler runs: a
 * malformed one comes back as a refusal (ok: false, naming the channel and the field). */
export function bindIpc(handlers: Handlers): void {
  for (const channel of CHANNELS) {
    ipcMain.handle(channel, (_e, arg: unknown) => dispatch(handlers, channel, arg));
  }
}

export function broadcast<E extends EventName>(event: E, payload: EventMap[E]): void {
  for (const w of BrowserWindow.getAllWindows()) if (!w.isDestroyed()) w.webContents.send('event', event, payload);
}

/** Asks where to save (null when the user cancels), then writes through a .partial file that is
 * renamed when complete, so a failed export never leaves a half-written file behind. */
async function saveAs(defaultPath: string, filter: { name: string; extensions: string[] }, write: (file: string) => Promise<void>): Promise<string | null> {
  const win = BrowserWindow.getFocusedWindow();
  const opts = { defaultPath, filters: [filter] };
  const r = win ? await dialog.showSaveDialog(win, opts) : await dialog.showSaveDialog(opts);
  if (r.canceled || !r.filePath) return null;
  const tmp = `${r.filePath}.partial`;
  try {
    await write(tmp);
    fs.renameSync(tmp, r.filePath);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return r.filePath;
}

const FILTERS: Record<string, string> = { csv: 'CSV', md: 'Markdown', tex: 'LaTeX', png: 'PNG image' };

/** export:csv in the desktop app: a native save dialog, then the export streamed to the file. */
export function desktopExport(store: Store, downloadsDir: string) {
  return async (arg: ExportRequest): Promise<{ path: string | null }> => {
    const req = checkExportRequest(store, arg);
    const ext = exportExtension(req.kind);
    const file = await saveAs(path.join(downloadsDir, exportFileName(req.kind, arg.ids ?? [], req.experimentId)), { name: FILTERS[ext]!, extensions: [ext] }, (tmp) =>
      writeExport(store, req, fs.createWriteStream(tmp)),
    );
    return { path: file };
  };
}

/** export:file in the desktop app: a file the renderer made (a chart as PNG). */
export function desktopSaveFile(downloadsDir: string) {
  return async (arg: { name: string; dataUrl: string }): Promise<{ path: string | null }> => {
    const m = /^data:([\w/+.-]+);base64,(.*)$/s.exec(arg.dataUrl);
    if (!m) throw new ApiFailure({ code: 'bad_request', message: 'dataUrl must be a base64 data: URL', field: 'dataUrl' });
    const name = path.basename(arg.name) || 'trickbench.png';
    const ext = path.extname(name).slice(1) || 'png';
    const file = await saveAs(path.join(downloadsDir, name), { name: FILTERS[ext] ?? ext, extensions: [ext] }, async (tmp) => fs.promises.writeFile(tmp, Buffer.from(m[2]!, 'base64')));
    return { path: file };
  };
}

/** A native dialog for the dataset to import: a folder (image folders, IDX folders, extracted
 * CIFAR) or a file (a CIFAR tarball). */
export async function desktopPick(arg: { folder: boolean }): Promise<{ path: string | null }> {
  const win = BrowserWindow.getFocusedWindow();
  const opts: Electron.OpenDialogOptions = {
    title: 'Import a dataset',
    properties: [arg.folder ? 'openDirectory' : 'openFile'],
    filters: !arg.folder ? [{ name: 'Dataset archives', extensions: ['gz', 'tgz', 'tar'] }] : undefined,
  };
  const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
  return { path: r.canceled ? null : (r.filePaths[0] ?? null) };
}
