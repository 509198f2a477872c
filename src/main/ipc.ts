// The contract bound to Electron's ipcMain: one handler per channel, events to every window.
import { BrowserWindow, dialog, ipcMain } from 'electron';
import fs from 'node:fs';
import path from 'node:path';
import type { EventMap, EventName, ExportRequest } from '../shared/api';
import { ApiFailure, CHANNELS } from '../shared/api';
import { dispatch, type Handlers } from './handlers';
import { exportFileName, writeHistoriesCsv, writeRunsCsv } from './services/export';
import type { Store } from '../store/store';

export function bindIpc(handlers: Handlers): void {
  for (const channel of CHANNELS) {
    ipcMain.handle(channel, (_e, arg: unknown) => dispatch(handlers, channel, arg));
  }
}

export function broadcast<E extends EventName>(event: E, payload: EventMap[E]): void {
  for (const w of BrowserWindow.getAllWindows()) if (!w.isDestroyed()) w.webContents.send('event', event, payload);
}

/** export:csv in the desktop app: a native save dialog, then the CSV streamed to the chosen file. */
export function desktopExport(store: Store, downloadsDir: string) {
  return async (req: ExportRequest): Promise<{ path: string | null }> => {
    if (req?.kind !== 'runs' && req?.kind !== 'histories') {
      throw new ApiFailure({ code: 'bad_request', message: 'kind must be runs or histories', field: 'kind' });
    }
    const ids = Array.isArray(req.ids) ? req.ids : [];
    const win = BrowserWindow.getFocusedWindow();
    const opts = {
      defaultPath: path.join(downloadsDir, exportFileName(req.kind, ids)),
      filters: [{ name: 'CSV', extensions: ['csv'] }],
    };
    const r = win ? await dialog.showSaveDialog(win, opts) : await dialog.showSaveDialog(opts);
    if (r.canceled || !r.filePath) return { path: null };
    const tmp = `${r.filePath}.partial`;
    try {
      const out = fs.createWriteStream(tmp);
      if (req.kind === 'runs') await writeRunsCsv(store, ids, out);
      else await writeHistoriesCsv(store, ids, out);
      fs.renameSync(tmp, r.filePath);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    return { path: r.filePath };
  };
}
