// The one object the renderer talks to the back end through. In Electron the preload exposes
// `window.api` (same shape as `Api`); in web mode (`npm run serve`) the same interface is built on
// fetch + one WebSocket, authenticated with the token from the page URL. When serve goes away
// (restarted, stopped) the page keeps retrying, says what is wrong (connectionIssue, shown by
// ConnectionBanner) and, once back, has the stores refetch what it missed.
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

/** Why the page is not connected, while it is not (null when connected, and in Electron). */
export type ConnectionIssue =
  /** The channel dropped (serve restarting?); retrying. */
  | { kind: 'reconnecting'; origin: string; since: number }
  /** No answer from serve for a while; still retrying. */
  | { kind: 'down'; origin: string; since: number }
  /** serve answers but refuses this page's token: it was restarted with a different one. */
  | { kind: 'token'; origin: string; everConnected: boolean }
  /** serve refused for another reason (its message). */
  | { kind: 'refused'; origin: string; message: string };

export const connectionIssue = ref<ConnectionIssue | null>(null);

/** Part of the app's code failed to load (a page opened while serve was away, or serve restarted
 * with a new build): the browser keeps a failed module for the page's lifetime, so only a reload
 * brings it; the banner says so. */
export const codeMissing = ref(false);

/** After this long without an answer, "reconnecting" becomes "serve is not running". */
export const DOWN_AFTER_MS = 8000;

/** What the page says about a connection issue: what happened and what to do. */
export function issueMessage(issue: ConnectionIssue): string {
  switch (issue.kind) {
    case 'reconnecting':
      return `Reconnecting to serve at ${issue.origin}…`;
    case 'down':
      return `serve is not running at ${issue.origin}; start it with npm run serve (this page reconnects by itself when it is back).`;
    case 'token':
      return issue.everConnected
        ? `The server was restarted with a different token. Open the address serve printed (${issue.origin}/?token=…), or start serve with --token / TRICKBENCH_TOKEN to keep one.`
        : `This page's access token is missing or wrong. Open the address serve printed (${issue.origin}/?token=…).`;
    case 'refused':
      return `serve at ${issue.origin} refused this page: ${issue.message}`;
  }
}

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
  const origin = window.location.origin;
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  let socket: WebSocket | null = null;
  /** The channel was open at least once (a 401 then means the token changed, not a bad link). */
  let everConnected = false;
  /** Events may have been missed since the channel was last open: catch up when it opens. */
  let missed = false;
  let retryMs = 500;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** Since when serve has not answered (null while it does). */
  let downSince: number | null = null;
  /** The runs this page knows of (from events and runs:list), to tell which were deleted meanwhile. */
  const knownRuns = new Set<number>();

  function emit<E extends EventName>(event: E, payload: EventMap[E]): void {
    if (event === 'runs:changed') knownRuns.add((payload as EventMap['runs:changed']).id);
    if (event === 'runs:deleted') for (const id of (payload as EventMap['runs:deleted']).ids) knownRuns.delete(id);
    const set = listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as (p: EventMap[E]) => void)(payload);
      } catch (e) {
        console.error(`listener for ${event} failed`, e);
      }
    }
  }

  function connect(): void {
    retryTimer = null;
    if (!everConnected) connection.value = 'connecting';
    const proto = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${window.location.host}/api/events?token=${encodeURIComponent(token)}`);
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      connection.value = 'connected';
      connectionIssue.value = null;
      retryMs = 500;
      downSince = null;
      everConnected = true;
      if (missed) {
        missed = false;
        catchUp();
      }
    };
    ws.onmessage = (msg) => {
      let data: { event?: EventName; payload?: unknown };
      try {
        data = JSON.parse(String(msg.data)) as typeof data;
      } catch {
        return;
      }
      if (data.event) emit(data.event, data.payload as never);
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      connection.value = 'disconnected';
      missed = true;
      // Ask serve why (gone, or refusing the token), then retry with backoff either way: a
      // restart with the old token (or the new address opened in another tab, which sets the
      // cookie) lets this page in again.
      void diagnose().finally(() => {
        if (socket || retryTimer) return;
        retryTimer = setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 5000);
      });
    };
  }

  /** Why the channel is down: no answer (reconnecting, then "not running"), 401 (the token), other refusals. */
  async function diagnose(): Promise<void> {
    const since = (downSince ??= Date.now());
    let res: Response;
    try {
      res = await fetch('/api/ping', { headers: { 'x-trickbench-token': token }, cache: 'no-store', signal: AbortSignal.timeout(3000) }); // a stopped (SIGSTOP) serve still accepts the connection: never wait for it forever
    } catch {
      connectionIssue.value = { kind: Date.now() - since >= DOWN_AFTER_MS ? 'down' : 'reconnecting', origin, since };
      return;
    }
    downSince = null; // serve answers: whatever it says, it is running
    if (socket?.readyState === WebSocket.OPEN) return;
    if (res.status === 401) connectionIssue.value = { kind: 'token', origin, everConnected };
    else if (res.ok) connectionIssue.value = { kind: 'reconnecting', origin, since };
    else connectionIssue.value = { kind: 'refused', origin, message: (await res.text().catch(() => '')).trim() || `HTTP ${res.status}` };
  }

  /** Back after a drop: the stores refetch (onReconnect), and every run's current summary is
   * delivered as runs:changed (runs gone meanwhile as runs:deleted), so views that follow events
   * rather than the stores do not keep what changed while the page was cut off. */
  function catchUp(): void {
    const before = new Set(knownRuns);
    for (const l of [...reconnectListeners]) {
      try {
        l();
      } catch (e) {
        console.error('reconnect listener failed', e);
      }
    }
    void invoke('runs:list', undefined).then((r) => {
      if (!r.ok) return;
      const now = new Set(r.value.map((run) => run.id));
      const gone = [...before].filter((id) => !now.has(id));
      if (gone.length) emit('runs:deleted', { ids: gone });
      for (const run of r.value) emit('runs:changed', run);
    });
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
    let text: string;
    try {
      res = await fetch('/api/invoke/' + channel, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-trickbench-token': token },
        body: JSON.stringify(arg ?? null),
      });
      text = await res.text();
    } catch (e) {
      return failure('internal', `cannot reach serve at ${origin} (${e instanceof Error ? e.message : String(e)}): is it running? Start it with npm run serve`);
    }
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: a plain-text refusal (401, 404, 500…)
    }
    if (isResult(body)) {
      if (channel === 'runs:list' && body.ok) {
        knownRuns.clear();
        for (const run of body.value as EventMap['runs:changed'][]) knownRuns.add(run.id);
      }
      return body as Result<ResultOf<C>>;
    }
    if (res.status === 401) {
      const issue: ConnectionIssue = { kind: 'token', origin, everConnected };
      connectionIssue.value = issue;
      return failure('bad_request', issueMessage(issue));
    }
    if (res.status === 403) return failure('bad_request', `serve refused the call: ${text.trim()}`);
    return failure('internal', `${channel}: unexpected reply (HTTP ${res.status} ${res.statusText})`);
  }

  function on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void {
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  // Vite's event for a route's code (or its styles) that did not load.
  window.addEventListener('vite:preloadError', () => (codeMissing.value = true));
  connect();
  return { invoke, on };
}

export const api: Api = shell === 'electron' ? window.api! : createWebApi();
