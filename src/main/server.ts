// Web mode: the contract over HTTP + WebSocket on 127.0.0.1. A random token, given in the printed
// URL, must come with every request (query, header, or the cookie set when the page is opened);
// requests without it are refused, as are requests whose Host is not this server (DNS rebinding).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EventMap, EventName } from '../shared/api';
import { ApiFailure } from '../shared/api';
import { dispatch, type Handlers } from './handlers';
import { checkExportRequest, exportFileName, writeExport } from './services/export';
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
const COOKIE = 'trickbench_token';
const MAX_BODY = 1 << 20;

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
  const tokenBuf = Buffer.from(token);
  const okToken = (t: string | null | undefined) => {
    if (!t) return false;
    const b = Buffer.from(t);
    return b.length === tokenBuf.length && crypto.timingSafeEqual(b, tokenBuf);
  };
  let port = 0;
  const hostOk = (host: string | undefined) => host === `127.0.0.1:${port}` || host === `localhost:${port}`;

  function authorised(req: http.IncomingMessage, url: URL): boolean {
    if (okToken(url.searchParams.get('token'))) return true;
    if (okToken(req.headers['x-trickbench-token'] as string | undefined)) return true;
    const cookie = req.headers.cookie?.split(';').map((s) => s.trim()).find((s) => s.startsWith(`${COOKIE}=`));
    return okToken(cookie?.slice(COOKIE.length + 1));
  }

  function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(body);
  }

  async function readJson(req: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) throw new Error('request body too large');
      chunks.push(c as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? (JSON.parse(text) as unknown) : null;
  }

  function serveStatic(res: http.ServerResponse, url: URL, setCookie: boolean) {
    const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = path.resolve(o.staticDir, `.${rel}`);
    if (!file.startsWith(path.resolve(o.staticDir) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      return send(res, 404, 'not found');
    }
    const headers: http.OutgoingHttpHeaders = {
      'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    };
    if (setCookie) headers['set-cookie'] = `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
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
    void (async () => {
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      if (!hostOk(req.headers.host)) return send(res, 403, 'forbidden host');
      const auth = authorised(req, url);
      if (!auth) return send(res, 401, 'missing or wrong token: open the URL that `npm run serve` printed');
      if (url.pathname.startsWith('/api/invoke/')) {
        if (req.method !== 'POST') return send(res, 405, 'POST only');
        const channel = url.pathname.slice('/api/invoke/'.length);
        let arg: unknown;
        try {
          arg = await readJson(req);
        } catch (e) {
          return send(res, 400, JSON.stringify({ ok: false, error: { code: 'bad_request', message: (e as Error).message } }), 'application/json');
        }
        if (channel === 'export:csv' || channel === 'export:file') {
          return send(res, 400, JSON.stringify({ ok: false, error: { code: 'bad_request', message: 'in web mode, exports are downloads (GET /api/export)' } }), 'application/json');
        }
        const result = await dispatch(o.handlers, channel, arg);
        return send(res, 200, JSON.stringify(result), 'application/json');
      }
      if (url.pathname === '/api/export') return handleExport(res, url);
      if (req.method !== 'GET') return send(res, 405, 'GET only');
      return serveStatic(res, url, okToken(url.searchParams.get('token')));
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, (e as Error).message);
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname !== '/api/events' || !hostOk(req.headers.host) || !authorised(req, url)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
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
