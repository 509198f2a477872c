// Exposes window.api: the contract's invoke and events, never raw ipcRenderer.
import { contextBridge, ipcRenderer } from 'electron';
import type { Api, EventMap, EventName } from '../shared/api';

const listeners = new Map<string, Set<(payload: unknown) => void>>();
ipcRenderer.on('event', (_e, event: string, payload: unknown) => {
  for (const l of listeners.get(event) ?? []) l(payload);
});

const api: Api = {
  invoke: (channel, arg) => ipcRenderer.invoke(channel, arg),
  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void) {
    const set = listeners.get(event) ?? new Set();
    listeners.set(event, set);
    const l = listener as (payload: unknown) => void;
    set.add(l);
    return () => set.delete(l);
  },
};

contextBridge.exposeInMainWorld('api', api);
