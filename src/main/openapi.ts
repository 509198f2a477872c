// The HTTP API as an OpenAPI 3.1 document (served by `serve` at GET /api/openapi.json). Each
// channel's request body is its argument schema from ARG_SCHEMAS turned into JSON Schema by zod,
// so the document says exactly what the server checks and cannot drift from it. Results are
// TypeScript types (src/shared/api.ts InvokeMap), not schemas: the document gives the envelope.
import { z } from 'zod';
import { ARG_SCHEMAS, CHANNELS, EXPORT_KINDS, type Channel } from '../shared/api';

/** Channels that have no meaning over HTTP: desktop dialogs and the desktop's save-to-file exports
 * (web mode downloads GET /api/export instead). */
const DESKTOP_ONLY: ReadonlySet<string> = new Set(['export:csv', 'export:file', 'datasets:pick']);

/** What the ingest channels do (their arguments are in the schemas). */
const SUMMARIES: Record<string, string> = {
  'ingest:create':
    'Create an external run (or, with a clientKey seen before, answer the run it made). experiment and arm are names, made on first use; runs of one experiment and arm, by seed, are what the comparison pairs. Answers {runId, experimentId, armId, created}.',
  'ingest:metrics':
    'Log metric points in a batch. Idempotent on (run, key, step): a retried batch keeps one value per point. Per-epoch values (val/acc) carry the number of completed epochs as an integer epoch; per-step values a fractional one. A malformed batch changes nothing.',
  'ingest:events': 'Log events (drawn as markers on the run\'s charts).',
  'ingest:summary': 'Set summary values of the run (numbers), replacing earlier values of the same keys.',
  'ingest:finish': 'Finish the run with a status (and an error text when it failed). Logging to a finished run is refused.',
  'ingest:heartbeat': 'The client is alive. A running external run without one for its heartbeat timeout is marked failed ("no heartbeat for N s").',
};

const envelope = {
  ok: {
    type: 'object',
    properties: { ok: { const: true }, value: { description: "The channel's result (see src/shared/api.ts InvokeMap)" } },
    required: ['ok', 'value'],
  },
  error: {
    type: 'object',
    properties: {
      ok: { const: false },
      error: {
        type: 'object',
        properties: {
          code: { type: 'string', enum: ['invalid_config', 'not_found', 'conflict', 'bad_request', 'too_large', 'internal'] },
          message: { type: 'string', description: 'What is wrong, naming the channel and the field: "ingest:metrics: points.3.value: expected a number, got null"' },
          field: { type: 'string' },
          fields: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } }, required: ['field', 'message'] } },
        },
        required: ['code', 'message'],
      },
    },
    required: ['ok', 'error'],
  },
};

/** A channel's argument schema as JSON Schema (the input side: what a client sends). */
export function requestSchema(channel: Channel): Record<string, unknown> {
  const { $schema: _, ...schema } = z.toJSONSchema(ARG_SCHEMAS[channel] as z.ZodType, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return schema;
}

function operation(channel: Channel) {
  const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
  const schema = requestSchema(channel);
  return {
    post: {
      operationId: channel.replace(/:(.)/, (_m, c: string) => c.toUpperCase()),
      tags: [channel.slice(0, channel.indexOf(':'))],
      summary: SUMMARIES[channel] ?? channel,
      // A channel without an argument takes no body (or null).
      ...(schema.type === 'null' ? {} : { requestBody: { required: true, content: { 'application/json': { schema } } } }),
      responses: {
        '200': { description: 'Done', content: json('Ok') },
        '400': { description: 'The argument is malformed, or the call is refused (the message names the field)', content: json('Error') },
        '401': { description: 'Missing or wrong token' },
        '404': { description: 'No such run, experiment or channel', content: json('Error') },
        '409': { description: 'Conflicts with the state (e.g. logging to a finished run)', content: json('Error') },
        '413': { description: 'Too large (a batch or a body over its bound)', content: json('Error') },
      },
    },
  };
}

/** The document; `version` is the app's. */
export function buildOpenApi(version: string): Record<string, unknown> {
  const channels = CHANNELS.filter((c) => !DESKTOP_ONLY.has(c));
  // The ingest channels first: they are what scripts outside Trickbench call.
  channels.sort((a, b) => Number(!a.startsWith('ingest:')) - Number(!b.startsWith('ingest:')));
  const paths: Record<string, unknown> = {};
  for (const c of channels) paths[`/api/invoke/${c}`] = operation(c);
  paths['/api/export'] = {
    get: {
      operationId: 'export',
      tags: ['export'],
      summary: 'Download a CSV (runs, histories, summary) or the summary as Markdown or LaTeX, of an experiment or of runs',
      parameters: [
        { name: 'kind', in: 'query', required: true, schema: { type: 'string', enum: [...EXPORT_KINDS] } },
        { name: 'experiment', in: 'query', schema: { type: 'integer' }, description: 'An experiment id' },
        { name: 'ids', in: 'query', schema: { type: 'string' }, description: 'Run ids, comma-separated' },
        ...['metric', 'rule', 'test', 'correction', 'reference', 'margin', 'alpha'].map((name) => ({ name, in: 'query', schema: { type: 'string' }, description: 'As in compare:summary' })),
      ],
      responses: { '200': { description: 'The file (Content-Disposition: attachment)' }, '400': { description: 'A bad parameter (named)' }, '404': { description: 'No such run or experiment' } },
    },
  };
  paths['/api/openapi.json'] = { get: { operationId: 'openapi', summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Trickbench',
      version: version || '0',
      description:
        'The API `serve` offers on 127.0.0.1. Every request carries the token serve printed (and keeps in <data dir>/serve-token): `Authorization: Bearer <token>` or `x-trickbench-token: <token>`. Calls are POST with a JSON body (Content-Type: application/json) and answer {ok: true, value} or {ok: false, error}.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { header: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        header: { type: 'apiKey', in: 'header', name: 'x-trickbench-token' },
      },
      schemas: { Ok: envelope.ok, Error: envelope.error },
    },
  };
}
