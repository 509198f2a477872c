// The one object the renderer talks to the back end through. In Electron the preload exposes
// `window.api` (same shape as `Api`); in web mode (`npm run serve`) the same interface is built on
// fetch + one WebSocket, authenticated with the token from the page URL.
import { ref } from 'vue';
import { ApiFailure } from '@shared/api';
import type { Api, ApiError, ArgOf, Channel, EventMap, EventName, Result, ResultOf } from '@shared/api';

declare global {
  interface Window {
    api?: Api;
  }
}

export type ConnectionState = 'connected' | 'connecting' | 'disconnected';

/** Live state of the event channel (always 'connected' in Electron). */
export const connection = ref<ConnectionState>('connected');

export const shell: 'electron' | 'web' = typeof window !== 'undefined' && window.api ? 'electron' : 'web';

const reconnectListeners = new Set<() => void>();

/** Called after the event channel came back from a drop: whatever was missed must be refetched. */
export function onReconnect(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new ApiFailure(result.error);
}

/** A readable message for anything thrown (ApiFailure, network errors, bugs). */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiFailure) return e.error.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

// ---------------------------------------------------------------------------------------------
// Web mode

const TOKEN_KEY = 'trickbench-token';

/** Read `?token=` once, keep it in sessionStorage and strip it from the visible URL. */
function takeToken(): string {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function failure(code: ApiError['code'], message: string): { ok: false; error: ApiError } {
  return { ok: false, error: { code, message } };
}

function isResult(v: unknown): v is Result<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { ok?: unknown }).ok === 'boolean';
}

function createWebApi(): Api {
  const token = takeToken();
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  let socket: WebSocket | null = null;
  let everConnected = false;
  let retryMs = 500;

  function connect(): void {
    connection.value = 'connecting';
    const proto = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${window.location.host}/api/events?token=${encodeURIComponent(token)}`);
    socket = ws;
    ws.onopen = () => {
      connection.value = 'connected';
      retryMs = 500;
      if (everConnected) for (const l of [...reconnectListeners]) l();
      everConnected = true;
    };
    ws.onmessage = (msg) => {
      let data: { event?: EventName; payload?: unknown };
      try {
        data = JSON.parse(String(msg.data)) as typeof data;
      } catch {
        return;
      }
      const set = data.event ? listeners.get(data.event) : undefined;
      if (!set) return;
      for (const l of [...set]) {
        try {
          (l as (p: unknown) => void)(data.payload);
        } catch (e) {
          console.error(`listener for ${data.event} failed`, e);
        }
      }
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      connection.value = 'disconnected';
      // Once reconnected, onopen tells the stores to refetch what they missed.
      everConnected = true;
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  }

  function clickDownload(href: string, name: string): void {
    const a = document.createElement('a');
    a.href = href;
    a.download = name;
    a.style.display = 'none';
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  /** Exports are downloads of GET /api/export (the server names the file). */
  function download(req: ArgOf<'export:csv'>): void {
    const q = new URLSearchParams({ kind: req.kind, token });
    if (req.ids.length) q.set('ids', req.ids.join(','));
    if (req.experimentId !== undefined) q.set('experiment', String(req.experimentId));
    if (req.metric) q.set('metric', req.metric);
    if (req.rule) q.set('rule', req.rule);
    for (const k of ['test', 'correction', 'reference', 'margin', 'alpha'] as const) if (req[k] !== undefined) q.set(k, String(req[k]));
    clickDownload(`/api/export?${q.toString()}`, '');
  }

  async function invoke<C extends Channel>(channel: C, arg: ArgOf<C>): Promise<Result<ResultOf<C>>> {
    if (channel === 'export:csv') {
      download(arg as ArgOf<'export:csv'>);
      return { ok: true, value: { path: null } } as Result<ResultOf<C>>;
    }
    if (channel === 'export:file') {
      const f = arg as ArgOf<'export:file'>;
      clickDownload(f.dataUrl, f.name);
      return { ok: true, value: { path: null } } as Result<ResultOf<C>>;
    }
    let res: Response;
    try {
      res = await fetch('/api/invoke/' + channel, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-trickbench-token': token },
        body: JSON.stringify(arg ?? null),
      });
    } catch (e) {
      return failure('internal', `cannot reach the Trickbench server (${e instanceof Error ? e.message : String(e)})`);
    }
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      // not JSON: a plain-text refusal (401, 404, 500…)
    }
    if (isResult(body)) return body as Result<ResultOf<C>>;
    if (res.status === 401 || res.status === 403) {
      return failure('bad_request', 'not authorised: open the URL (with ?token=…) that `npm run serve` printed');
    }
    return failure('internal', `${channel}: unexpected reply (HTTP ${res.status} ${res.statusText})`);
  }

  function on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void {
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  connect();
  return { invoke, on };
}

export const api: Api = shell === 'electron' ? window.api! : createWebApi();
