// GET /api/openapi.json on a running serve: behind the token like the rest, it lists every ingest
// channel (and the other HTTP channels) with its request schema, and that schema is the one the
// server enforces: the fields it calls required are the ones the server says are missing from an
// empty body, and a field it does not list is refused.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS } from '../../src/shared/api';
import { requestSchema } from '../../src/main/openapi';
import { startServe, stopServe } from '../helpers/e2e';
import { tmpDataDir } from '../helpers/tmp';
import { get, serveAddress } from '../fixtures/python/run-script';

const INGEST = ['ingest:create', 'ingest:metrics', 'ingest:events', 'ingest:summary', 'ingest:finish', 'ingest:heartbeat'];

interface Doc {
  openapi: string;
  paths: Record<string, { post?: { requestBody: { content: { 'application/json': { schema: { type?: string; properties?: Record<string, unknown>; required?: string[]; additionalProperties?: boolean } } } } } }>;
}

let tmp: ReturnType<typeof tmpDataDir>;
let server: ChildProcess | undefined;
let url: string;
let doc: Doc;

beforeAll(async () => {
  tmp = tmpDataDir('tb-openapi-');
  const s = await startServe(tmp.dir);
  server = s.child;
  url = s.url;
  const res = await get(url, '/api/openapi.json');
  expect(res.status, res.text).toBe(200);
  doc = JSON.parse(res.text) as Doc;
});

afterAll(async () => {
  await stopServe(server);
  tmp?.cleanup();
});

describe('GET /api/openapi.json', () => {
  it('needs the token', async () => {
    const res = await fetch(`${serveAddress(url).base}/api/openapi.json`);
    expect(res.status).toBe(401);
  });

  it('is OpenAPI 3.1 listing every ingest channel with its request schema', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(CHANNELS.filter((c) => c.startsWith('ingest:')).sort()).toEqual([...INGEST].sort());
    for (const c of INGEST) {
      const schema = doc.paths[`/api/invoke/${c}`]?.post?.requestBody.content['application/json'].schema;
      expect(schema, c).toEqual(requestSchema(c as never));
      expect(schema!.type, c).toBe('object');
      expect(schema!.required, c).toContain(c === 'ingest:create' ? 'seed' : 'runId');
    }
    // The rest of the HTTP API too, but not the desktop's dialogs.
    expect(doc.paths['/api/invoke/runs:get']).toBeDefined();
    expect(doc.paths['/api/invoke/datasets:pick']).toBeUndefined();
  });

  it("says what the server enforces: the required fields and no others", async () => {
    const { base, token } = serveAddress(url);
    for (const c of INGEST) {
      const schema = doc.paths[`/api/invoke/${c}`]!.post!.requestBody.content['application/json'].schema;
      const res = await fetch(`${base}/api/invoke/${c}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ notAField: 1 }),
      });
      expect(res.status, c).toBe(400);
      const body = (await res.json()) as { ok: false; error: { fields: { field: string; message: string }[] } };
      const fields = body.error.fields;
      expect(fields.find((f) => f.field === 'notAField')?.message, c).toBe('unknown field');
      expect(schema.additionalProperties, c).toBe(false);
      const missing = fields.filter((f) => f.field !== 'notAField').map((f) => f.field).sort();
      expect(missing, c).toEqual([...(schema.required ?? [])].sort());
    }
  });
});
