// Web mode: the contract over HTTP + WebSocket on 127.0.0.1. A token (serve keeps it in the data
// dir, so it outlives a restart), given in the printed URL, must come with every request (query,
// header, or the cookie set when the page is opened; compared in constant time);
// requests without it are refused, as are requests whose Host is not this server (DNS rebinding)
// and requests or WebSockets that another origin's page makes (CSRF: pages on other ports of
// 127.0.0.1 are the same site, so the SameSite cookie alone does not stop them). Calls must be
// JSON (a form or a text/plain fetch cannot send it without asking), and no page may frame the app.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ErrorCode, EventMap, EventName } from '../shared/api';
import { ApiFailure, isChannel, parseArg } from '../shared/api';
import { runHandler, type Handlers } from './handlers';
import { checkExportRequest, exportFileName, writeExport } from './services/export';
import { buildOpenApi } from './openapi';
import { isForeignFetch, isJsonContentType, isOwnOrigin, SECURITY_HEADERS, tokenMatches } from './security';
import type { Store } from '../store/store';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};
/** The cookie's name carries the port: browsers keep cookies per host, not per port, so two serves
 * on one machine would otherwise overwrite each other's (and a tab's lazily loaded pages fail). */
const COOKIE_PREFIX = 'trickbench_token_';
const MAX_BODY = 1 << 20;

class BodyTooLarge extends Error {}

/** The HTTP status of a refused call, by its error code. */
const HTTP_STATUS: Record<ErrorCode, number> = { bad_request: 400, invalid_config: 400, not_found: 404, conflict: 409, internal: 500 };

export interface WebServer {
  url: string;
  port: number;
  token: string;
  broadcast<E extends EventName>(event: E, payload: EventMap[E]): void;
  close(): Promise<void>;
}

export async function startServer(o: {
  handlers: Handlers;
  store: Store;
  staticDir: string;
  port?: number;
  token?: string;
}): Promise<WebServer> {
  const token = o.token ?? crypto.randomBytes(24).toString('hex');
  const okToken = (t: string | null | undefined) => tokenMatches(t, token);
  let port = 0;
  const cookieName = () => `${COOKIE_PREFIX}${port}`;
  const hostOk = (host: string | undefined) => host === `127.0.0.1:${port}` || host === `localhost:${port}`;

  /** Why a request (or a WebSocket upgrade) is refused before its path is looked at, or null. */
  function refusal(req: http.IncomingMessage, url: URL, api: boolean): { status: number; message: string } | null {
    const host = req.headers.host;
    if (!hostOk(host)) return { status: 403, message: 'forbidden host' };
    if (!isOwnOrigin(req.headers.origin, host!)) {
      return { status: 403, message: `cross-origin request refused: Origin ${req.headers.origin} is not http://${host}` };
    }
    if (api && isForeignFetch(req.headers['sec-fetch-site'] as string | undefined)) {
      return { status: 403, message: `cross-origin request refused: another site's page made it (Sec-Fetch-Site: ${req.headers['sec-fetch-site'] as string})` };
    }
    const presented = presentedTokens(req, url);
    if (!presented.some(okToken)) {
      const address = `http://127.0.0.1:${port}/?token=…`;
      // The page (src/renderer/src/api.ts) explains a 401 in its own words; these are for the rest.
      return presented.length
        ? { status: 401, message: `wrong token: this serve was started with a different one (restarted with a new token?). Open the address serve printed (${address}), or start serve with --token / TRICKBENCH_TOKEN to keep one` }
        : { status: 401, message: `missing token: open the address serve printed (${address})` };
    }
    return null;
  }

  /** The non-empty tokens a request carries: ?token=, the x-trickbench-token header, an
   * `Authorization: Bearer` header (scripts, curl), the cookie. */
  function presentedTokens(req: http.IncomingMessage, url: URL): string[] {
    const prefix = `${cookieName()}=`;
    const cookie = req.headers.cookie?.split(';').map((s) => s.trim()).find((s) => s.startsWith(prefix));
    const header = req.headers['x-trickbench-token'];
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '')?.[1];
    return [url.searchParams.get('token'), typeof header === 'string' ? header : undefined, bearer, cookie?.slice(prefix.length)].filter((t): t is string => !!t);
  }

  function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  }
  const apiError = (message: string) => JSON.stringify({ ok: false, error: { code: 'bad_request', message } });

  async function readJson(req: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) throw new BodyTooLarge(`request body too large: at most ${MAX_BODY} bytes (send fewer points per call)`);
      chunks.push(c as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? (JSON.parse(text) as unknown) : null;
  }

  /** pathname: decoded. */
  function serveStatic(res: http.ServerResponse, pathname: string, setCookie: boolean) {
    const rel = pathname === '/' ? '/index.html' : pathname;
    const file = path.resolve(o.staticDir, `.${rel}`);
    if (!file.startsWith(path.resolve(o.staticDir) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      return send(res, 404, 'not found');
    }
    const headers: http.OutgoingHttpHeaders = {
      'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    };
    if (setCookie) headers['set-cookie'] = `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    res.writeHead(200, headers);
    fs.createReadStream(file).pipe(res);
  }

  const CONTENT: Record<string, string> = { csv: 'text/csv; charset=utf-8', md: 'text/markdown; charset=utf-8', tex: 'application/x-tex; charset=utf-8' };

  /** GET /api/export?kind=runs|histories|summary|summary-md|summary-tex&ids=1,2&experiment=3&metric=..&rule=..&test=..&correction=..&reference=..&margin=..&alpha=.. */
  async function handleExport(res: http.ServerResponse, url: URL) {
    const p = url.searchParams;
    const idsParam = p.get('ids') ?? '';
    const num = (v: string | null) => (v === null || v === '' ? undefined : Number(v));
    let req;
    try {
      req = checkExportRequest(o.store, {
        kind: p.get('kind'),
        ids: idsParam ? idsParam.split(',').map(Number) : [],
        experimentId: num(p.get('experiment')),
        metric: p.get('metric') ?? undefined,
        rule: p.get('rule') ?? undefined,
        test: p.get('test') ?? undefined,
        correction: p.get('correction') ?? undefined,
        reference: p.get('reference') ?? undefined,
        margin: /^(none|null)$/.test(p.get('margin') ?? '') ? null : num(p.get('margin')),
        alpha: num(p.get('alpha')),
      });
    } catch (e) {
      // Validated before the headers go out, so a bad id is a clear 4xx and not a broken download.
      if (e instanceof ApiFailure) return send(res, e.error.code === 'not_found' ? 404 : 400, e.error.message);
      throw e;
    }
    const name = exportFileName(req.kind, idsParam ? req.ids : [], req.experimentId);
    res.writeHead(200, {
      'content-type': CONTENT[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
    });
    try {
      await writeExport(o.store, req, res);
    } catch {
      res.destroy(); // the client sees a failed download, not a silently truncated file
    }
  }

  const server = http.createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    void (async () => {
      const target = parseTarget(req.url, port);
      if (!target) return send(res, 400, 'malformed request URL (bad percent-encoding in the path?)');
      const { url, pathname } = target;
      const api = pathname.startsWith('/api/');
      const refused = refusal(req, url, api);
      if (refused) return send(res, refused.status, refused.message);
      if (pathname.startsWith('/api/invoke/')) {
        if (req.method !== 'POST') return send(res, 405, 'POST only');
        if (!isJsonContentType(req.headers['content-type'])) {
          return send(res, 415, apiError(`calls take a JSON body: send Content-Type: application/json (got ${req.headers['content-type'] ? `"${req.headers['content-type']}"` : 'none'})`), 'application/json');
        }
        const channel = pathname.slice('/api/invoke/'.length);
        let arg: unknown;
        try {
          arg = await readJson(req);
        } catch (e) {
          return send(res, e instanceof BodyTooLarge ? 413 : 400, apiError((e as Error).message), 'application/json');
        }
        if (!isChannel(channel)) return send(res, 404, apiError(`unknown channel ${channel}`), 'application/json');
        if (channel === 'export:csv' || channel === 'export:file') {
          return send(res, 400, apiError('in web mode, exports are downloads (GET /api/export)'), 'application/json');
        }
        // The argument passes its channel's schema before any handler sees it: a malformed one is
        // the client's mistake, a 400 naming the channel and the field.
        const parsed = parseArg(channel, arg);
        if (!parsed.ok) return send(res, 400, JSON.stringify(parsed), 'application/json');
        const result = await runHandler(o.handlers, channel, parsed.value);
        // A refusal is a 4xx (a script's HTTP library, curl --fail, see it as one); the body is the
        // Result either way, which is what the page reads.
        return send(res, result.ok ? 200 : HTTP_STATUS[result.error.code], JSON.stringify(result), 'application/json');
      }
      if (req.method !== 'GET') return send(res, 405, 'GET only');
      // The page asks this when its event channel drops: 200 (back, token good), 401 (token changed).
      if (pathname === '/api/ping') return send(res, 200, JSON.stringify({ ok: true, value: null }), 'application/json');
      if (pathname === '/api/export') return handleExport(res, url);
      if (pathname === '/api/openapi.json') {
        const info = await runHandler(o.handlers, 'app:info', undefined);
        return send(res, 200, JSON.stringify(buildOpenApi(info.ok ? info.value.version : '')), 'application/json');
      }
      return serveStatic(res, pathname, okToken(url.searchParams.get('token')));
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, (e as Error).message);
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, message: string) => {
      const body = `${message}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    const target = parseTarget(req.url, port);
    if (!target) return refuse(400, 'malformed request URL');
    // Browsers send Origin with every WebSocket, and no CORS protects it: the origin check is what
    // keeps another origin's page (another port of 127.0.0.1 has the cookie) from listening in.
    const refused = refusal(req, target.url, true);
    if (refused) return refuse(refused.status, refused.message);
    if (target.pathname !== '/api/events') return refuse(404, 'not found: the event channel is /api/events');
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
      ws.on('error', () => clients.delete(ws));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    // Printed by `serve`: the page is opened at 127.0.0.1 (http://localhost:<port> is accepted too).
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    broadcast(event, payload) {
      const msg = JSON.stringify({ event, payload });
      for (const c of clients) if (c.readyState === c.OPEN) c.send(msg);
    },
    async close() {
      for (const c of clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The request's URL and its decoded path; null when it cannot be parsed or decoded (a lone "%",
 * an invalid UTF-8 sequence, a NUL): the client's mistake, a 400, not the server's 500. */
function parseTarget(raw: string | undefined, port: number): { url: URL; pathname: string } | null {
  try {
    const url = new URL(raw ?? '/', `http://127.0.0.1:${port}`);
    const pathname = decodeURIComponent(url.pathname);
    return pathname.includes('\0') ? null : { url, pathname };
  } catch {
    return null;
  }
}
