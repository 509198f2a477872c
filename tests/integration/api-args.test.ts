// Every call's argument is checked against its channel's schema before any handler runs: through
// the web server (in process, real handlers over a real store), a malformed argument is a 400 that
// names the channel and the field, and the handler never sees it; well-formed calls work as before,
// with the handlers' own domain checks (run configs, unknown ids) still theirs.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandlers, type Handlers } from '../../src/main/handlers';
import { RunService } from '../../src/main/services/runs';
import { startServer, type WebServer } from '../../src/main/server';
import { CHANNELS, MAX_IDS, type Channel, type RunSummary } from '../../src/shared/api';
import { Store } from '../../src/store/store';
import { BAD } from '../helpers/api-args';
import { tmpDataDir } from '../helpers/tmp';
import { tinyConfig } from '../helpers/trainer';

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store;
let runs: RunService;
let server: WebServer;
/** The channels whose handler ran, in order. */
let called: Channel[];

beforeAll(async () => {
  tmp = tmpDataDir('tb-api-args-');
  store = new Store(tmp.dir);
  // concurrency 0: started runs stay queued, no trainer is forked
  runs = new RunService({ store, dataDir: tmp.dir, trainerEntry: 'unused', concurrency: 0, emit: () => {} });
  const real = createHandlers(runs, { shell: 'web', dataDir: tmp.dir, version: 'test' }, () => ({ path: null }), () => ({ path: null }));
  const spied = Object.fromEntries(
    Object.entries(real).map(([channel, h]) => [
      channel,
      (arg: unknown) => {
        called.push(channel as Channel);
        return (h as (a: unknown) => unknown)(arg);
      },
    ]),
  ) as Handlers;
  const staticDir = path.join(tmp.dir, 'renderer');
  fs.mkdirSync(staticDir);
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Trickbench</title>');
  server = await startServer({ handlers: spied, store, staticDir, port: 0 });
});

afterAll(async () => {
  await server.close();
  await runs.close();
  store.close();
  tmp.cleanup();
});

beforeEach(() => {
  called = [];
});

interface Reply {
  status: number;
  body: { ok: boolean; value?: unknown; error?: { code: string; message: string; field?: string; fields?: { field: string; message: string }[] } };
}

async function post(channel: string, body: string): Promise<Reply> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/invoke/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-trickbench-token': server.token },
    body,
  });
  return { status: res.status, body: (await res.json()) as Reply['body'] };
}
const call = (channel: Channel, arg: unknown) => post(channel, JSON.stringify(arg ?? null));

describe('a malformed argument', () => {
  const overHttp = CHANNELS.filter((c) => c !== 'export:csv' && c !== 'export:file');

  it.each(overHttp)('%s: refused with a 400 naming the channel and the field, before its handler runs', async (channel) => {
    const bad = BAD[channel];
    const r = await post(channel, bad.body ?? JSON.stringify(bad.arg));
    expect(r.status).toBe(400);
    expect(r.body.ok).toBe(false);
    expect(r.body.error!.code).toBe('bad_request');
    expect(r.body.error!.field).toBe(bad.field);
    const prefix = `${channel}: ${bad.field}: `;
    expect(r.body.error!.message.startsWith(prefix), r.body.error!.message).toBe(true);
    const said = r.body.error!.message.slice(prefix.length);
    if (typeof bad.message === 'string') expect(said).toBe(bad.message);
    else expect(said).toMatch(bad.message);
    expect(called).toEqual([]);
  });

  it('names every wrong field, each with its own message (the first is `field`)', async () => {
    const r = await call('runs:predictions', { id: 'x', order: 'random', limit: 5000, offset: -1, page: 2 });
    expect(r.status).toBe(400);
    expect(r.body.error!.fields).toEqual([
      { field: 'id', message: 'expected an integer, got "x"' },
      { field: 'order', message: 'expected one of "confidentWrong", "confidentRight", "leastConfident", got "random"' },
      { field: 'limit', message: 'must be <= 1000, got 5000' },
      { field: 'offset', message: 'must be >= 0, got -1' },
      { field: 'page', message: 'unknown field' },
    ]);
    expect(r.body.error!.field).toBe('id');
    expect(r.body.error!.message).toBe(
      'runs:predictions: id: expected an integer, got "x"; order: expected one of "confidentWrong", "confidentRight", "leastConfident", got "random"; limit: must be <= 1000, got 5000; offset: must be >= 0, got -1; page: unknown field',
    );
    expect(called).toEqual([]);
  });

  it('never echoes a hostile string or key whole', async () => {
    const huge = 'x'.repeat(100_000);
    const r = await post('runs:get', `{"id":${JSON.stringify(huge)},${JSON.stringify(huge)}:1}`);
    expect(r.status).toBe(400);
    expect(r.body.error!.message.length).toBeLessThan(400);
    expect(r.body.error!.fields!.map((f) => f.field)).toEqual(['id', `${'x'.repeat(80)}…`]);
  });

  it('is refused for too many ids, a nested prototype key, a non-JSON-object body', async () => {
    const many = await call('runs:delete', { ids: Array.from({ length: MAX_IDS + 1 }, (_, i) => i + 1) });
    expect(many.status).toBe(400);
    expect(many.body.error!.message).toBe(`runs:delete: ids: must be at most ${MAX_IDS} items, got ${MAX_IDS + 1}`);
    const proto = await post('compare:summary', '{"runIds":[1],"__proto__":{"polluted":true}}');
    expect(proto.body.error!.message).toBe('compare:summary: __proto__: unknown field');
    const armProto = await post('experiments:addArm', '{"id":1,"name":"a","set":{"__proto__":{"polluted":true}}}');
    expect(armProto.status).toBe(400);
    expect(armProto.body.error!.field).toBe('set.__proto__');
    const list = await post('runs:get', '[1]');
    expect(list.body.error!.message).toBe('runs:get: (argument): expected an object, got a list');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(called).toEqual([]);
  });

  it('an unknown channel is a 404, and never a property of Object.prototype', async () => {
    for (const name of ['runs:nope', 'constructor', '__proto__', 'toString']) {
      const r = await post(name, 'null');
      expect(r.status, name).toBe(404);
      expect(r.body.error!.message).toBe(`unknown channel ${name}`);
    }
  });

  it('exports are downloads in web mode, whatever the argument', async () => {
    for (const channel of ['export:csv', 'export:file'] as const) {
      const r = await call(channel, BAD[channel].arg);
      expect(r.status).toBe(400);
      expect(r.body.error!.message).toBe('in web mode, exports are downloads (GET /api/export)');
    }
    expect(called).toEqual([]);
  });
});

describe('a well-formed argument', () => {
  it('reaches its handler, which keeps its own checks (run configs, ids that do not exist)', async () => {
    const info = await call('app:info', undefined);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ ok: true, value: { shell: 'web', version: 'test', defaults: { epochs: expect.any(Number) } } });

    // The config is the handler's to validate (parseRunConfig), as before: a 400 with its fields.
    const invalid = await call('runs:start', { config: tinyConfig({ epochs: 0 }) });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ ok: false, error: { code: 'invalid_config', field: 'epochs' } });

    const started = await call('runs:start', { config: tinyConfig() });
    expect(started.status).toBe(200);
    expect(started.body.ok, JSON.stringify(started.body)).toBe(true);
    const run = started.body.value as RunSummary;
    expect(run.status).toBe('queued');
    expect(run.config!.epochs).toBe(2);

    const got = await call('runs:get', { id: run.id });
    expect(got.body).toMatchObject({ ok: true, value: { id: run.id, status: 'queued' } });
    const missing = await call('runs:get', { id: 9999 });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ ok: false, error: { code: 'not_found', message: 'run 9999 does not exist' } });

    const list = await call('runs:list', undefined);
    expect((list.body.value as RunSummary[]).map((r) => r.id)).toEqual([run.id]);
    expect(await call('runs:history', { ids: [run.id] })).toMatchObject({ status: 200, body: { ok: true, value: { [run.id]: {} } } });
    expect(await call('runs:events', { id: run.id })).toMatchObject({ status: 200, body: { ok: true, value: [] } });
    const aligned = await call('compare:aligned', { ids: [run.id], keys: ['val/acc'], time: true });
    expect(aligned.body).toMatchObject({ ok: true, value: { 'val/acc': { key: 'val/acc', runIds: [run.id], epoch: [] } } });
    const alignedMissing = await call('compare:aligned', { ids: [run.id, 4242], keys: ['val/acc'] });
    expect(alignedMissing.body).toMatchObject({ ok: false, error: { code: 'not_found', field: 'ids', message: 'no run with id 4242' } });
    expect(await call('experiments:list', undefined)).toMatchObject({ status: 200, body: { ok: true, value: [] } });
    expect(await call('experiments:get', { id: 5 })).toMatchObject({ status: 404, body: { ok: false, error: { code: 'not_found', message: 'experiment 5 does not exist', field: 'id' } } });
    const ds = await call('datasets:get', { name: 'synthetic' });
    expect(ds.body).toMatchObject({ ok: true, value: { name: 'synthetic', classNames: expect.any(Array) } });

    const cancelled = await call('runs:cancel', { id: run.id });
    expect(cancelled.body).toMatchObject({ ok: true, value: { id: run.id, status: 'cancelled' } });
    expect(await call('runs:delete', { ids: [run.id] })).toMatchObject({ status: 200, body: { ok: true, value: { deleted: [run.id] } } });
    expect(called).toEqual([
      'app:info',
      'runs:start',
      'runs:start',
      'runs:get',
      'runs:get',
      'runs:list',
      'runs:history',
      'runs:events',
      'compare:aligned',
      'compare:aligned',
      'experiments:list',
      'experiments:get',
      'datasets:get',
      'runs:cancel',
      'runs:delete',
    ]);
  });
});
