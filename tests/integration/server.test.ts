// The web server (`npm run serve`) against hostile requests: other origins' pages (CSRF from
// another site or another port of 127.0.0.1, which shares the SameSite cookie), non-JSON bodies,
// WebSockets from other origins, framing, malformed URLs. Raw http.request, so every header is
// exactly what the test says (fetch would add or refuse some).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Handlers } from '../../src/main/handlers';
import { startServer, type WebServer } from '../../src/main/server';
import { Store } from '../../src/store/store';
import { tmpDataDir } from '../helpers/tmp';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store;
let server: WebServer;
let calls: string[];
let cookie: string;

function request(method: string, pathAndQuery: string, headers: http.OutgoingHttpHeaders = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path: pathAndQuery, headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const own = () => `http://127.0.0.1:${server.port}`;
const post = (headers: http.OutgoingHttpHeaders, body = 'null', channel = 'runs:list') => request('POST', `/api/invoke/${channel}`, { cookie, ...headers }, body);
const JSON_TYPE = { 'content-type': 'application/json' };

beforeAll(async () => {
  tmp = tmpDataDir('tb-server-');
  store = new Store(tmp.dir);
  const staticDir = path.join(tmp.dir, 'renderer');
  fs.mkdirSync(staticDir);
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Trickbench</title>');
  const handlers = {
    'runs:list': () => {
      calls.push('runs:list');
      return [];
    },
  } as unknown as Handlers;
  server = await startServer({ handlers, store, staticDir, port: 0 });
  const page = await request('GET', `/?token=${server.token}`);
  expect(page.status).toBe(200);
  cookie = String(page.headers['set-cookie']![0]).split(';')[0]!;
  expect(cookie).toBe(`trickbench_token_${server.port}=${server.token}`);
});

afterAll(async () => {
  await server.close();
  store.close();
  tmp.cleanup();
});

beforeEach(() => {
  calls = [];
});

describe('calls from pages of other origins', () => {
  it("takes the app's own calls: JSON from its own origin, or from no browser at all", async () => {
    for (const headers of [{ origin: own(), ...JSON_TYPE }, JSON_TYPE, { origin: own(), 'content-type': 'application/json; charset=utf-8', 'sec-fetch-site': 'same-origin' }]) {
      const r = await post(headers);
      expect(r.status, JSON.stringify(headers)).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ ok: true, value: [] });
    }
    // opened as http://localhost:<port>, its origin is that one
    const r = await post({ host: `localhost:${server.port}`, origin: `http://localhost:${server.port}`, ...JSON_TYPE });
    expect(r.status).toBe(200);
    expect(calls).toHaveLength(4);
  });

  it('refuses another origin, even with the cookie and a simple (no preflight) request', async () => {
    const foreign = ['http://evil.example', `http://127.0.0.1:${server.port + 1}`, 'http://localhost:8080', `https://127.0.0.1:${server.port}`, 'null'];
    for (const origin of foreign) {
      for (const type of ['text/plain', 'application/json']) {
        const r = await post({ origin, 'content-type': type }, '{"x":1}');
        expect(r.status, `${origin} ${type}`).toBe(403);
        expect(r.body).toContain('cross-origin request refused');
      }
    }
    // the page opened at localhost must not be called from 127.0.0.1's origin, nor the reverse
    expect((await post({ host: `localhost:${server.port}`, origin: own(), ...JSON_TYPE })).status).toBe(403);
    // a browser that sends no Origin still says who made the request
    for (const site of ['same-site', 'cross-site']) {
      expect((await post({ 'sec-fetch-site': site, ...JSON_TYPE })).status, site).toBe(403);
      expect((await request('GET', '/api/export?kind=runs', { cookie, 'sec-fetch-site': site })).status, site).toBe(403);
    }
    expect(calls).toEqual([]); // nothing ran
  });

  it('takes JSON bodies only (a form or text/plain fetch needs no preflight: 415)', async () => {
    for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      const r = await post({ origin: own(), ...(type ? { 'content-type': type } : {}) });
      expect(r.status, String(type)).toBe(415);
      expect(r.headers['content-type']).toContain('application/json');
      expect(JSON.parse(r.body)).toEqual({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('send Content-Type: application/json') } });
    }
    expect(calls).toEqual([]);
  });

  it('still wants the token from its own origin', async () => {
    const r = await request('POST', '/api/invoke/runs:list', { origin: own(), ...JSON_TYPE }, 'null');
    expect(r.status).toBe(401);
    expect(calls).toEqual([]);
  });

  it('serves exports to GET only', async () => {
    expect((await request('POST', '/api/export?kind=runs', { cookie, origin: own(), ...JSON_TYPE }, 'null')).status).toBe(405);
  });
});

describe('the event WebSocket', () => {
  /** Opens /api/events; resolves 'open' or the refusal's status. */
  function connect(opts: { origin?: string; token?: string; path?: string }): Promise<number | 'open'> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { cookie: `trickbench_token_${server.port}=${opts.token ?? server.token}` };
      if (opts.origin !== undefined) headers.origin = opts.origin;
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}${opts.path ?? '/api/events'}`, { headers });
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode!);
        res.resume();
        ws.terminate();
      });
      ws.on('error', (e) => reject(e));
    });
  }

  it('opens for its own origin, or no browser', async () => {
    expect(await connect({ origin: own() })).toBe('open');
    expect(await connect({})).toBe('open');
  });

  it('refuses other origins (another port of 127.0.0.1 included), a wrong token, other paths', async () => {
    expect(await connect({ origin: `http://127.0.0.1:${server.port + 1}` })).toBe(403);
    expect(await connect({ origin: 'http://evil.example' })).toBe(403);
    expect(await connect({ origin: 'null' })).toBe(403);
    expect(await connect({ origin: own(), token: 'nope' })).toBe(401);
    expect(await connect({ origin: own(), path: '/api/other' })).toBe(404);
    expect(await connect({ origin: own(), path: '/%E0%A4%A' })).toBe(400);
  });
});

describe('every response', () => {
  it('forbids framing and sniffing', async () => {
    const replies = [
      await request('GET', '/', { cookie }), // the page
      await request('GET', '/'), // 401
      await request('GET', '/no-such-file', { cookie }), // 404
      await request('GET', '/%', { cookie }), // 400
      await request('GET', '/api/export?kind=runs', { cookie }), // a download
      await request('GET', '/api/export?kind=bogus', { cookie }), // 400
      await post(JSON_TYPE), // a call
      await post({ origin: 'http://evil.example', ...JSON_TYPE }), // 403
      await request('GET', '/', { host: 'evil.example' }), // 403 (DNS rebinding)
    ];
    expect(replies.map((r) => r.status)).toEqual([200, 401, 404, 400, 200, 400, 200, 403, 403]);
    for (const r of replies) {
      expect(r.headers['x-frame-options'], String(r.status)).toBe('DENY');
      expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(r.headers['content-security-policy']).toContain("default-src 'self'");
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(replies[4]!.headers['content-disposition']).toMatch(/^attachment; filename="/);
  });
});

describe('malformed URLs', () => {
  it('are 400, not 500, with or without the token', async () => {
    for (const p of ['/%', '/%E0%A4%A', '/%zz', '/index.html%00', '/api/export%']) {
      for (const headers of [{ cookie }, {}]) {
        const r = await request('GET', p, headers);
        expect(r.status, `${p} ${JSON.stringify(headers)}`).toBe(400);
        expect(r.body).toContain('malformed');
      }
    }
    const r = await post(JSON_TYPE, 'null', '%E0%A4%A');
    expect(r.status).toBe(400);
    expect(calls).toEqual([]);
  });
  it('decode well-formed escapes', async () => {
    expect((await request('GET', '/index%2Ehtml', { cookie })).status).toBe(200);
    expect((await post(JSON_TYPE, 'null', 'runs%3Alist')).status).toBe(200);
    expect(calls).toEqual(['runs:list']);
  });
});
