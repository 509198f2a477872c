// Arguments for every channel of the contract: one well-formed, and one malformed with the field
// the refusal must name and what it must say. Typed over Channel, so a new channel without its
// cases does not compile. Shared by the HTTP (server) and IPC (bindIpc) tests.
import type { ArgOf, Channel } from '../../src/shared/api';

/** A well-formed argument per channel (what the renderer sends). */
export const VALID: { [C in Channel]: ArgOf<C> } = {
  'app:info': undefined,
  'runs:list': undefined,
  'runs:get': { id: 1 },
  'runs:start': { config: { epochs: 1 } },
  'runs:cancel': { id: 1 },
  'runs:resume': { id: 1 },
  'runs:delete': { ids: [1, 2] },
  'runs:history': { ids: [1], keys: ['val/acc'] },
  'runs:events': { id: 1 },
  'runs:evaluation': { id: 1 },
  'runs:predictions': { id: 1, order: 'confidentWrong', limit: 24, offset: 0 },
  'presets:list': undefined,
  'presets:start': { id: 'label-smoothing', seeds: [1, 2] },
  'experiments:list': undefined,
  'experiments:get': { id: 1 },
  'experiments:create': { file: { name: 'e' } },
  'experiments:addSeeds': { id: 1, seeds: [4, 5] },
  'experiments:addArm': { id: 1, name: 'mixup', set: { 'tricks.mixup': { alpha: 0.2 } } },
  'experiments:runUntilDecided': { id: 1, maxSeeds: 10 },
  'experiments:stop': { id: 1 },
  'experiments:resume': { id: 1 },
  'experiments:delete': { id: 1 },
  'compare:summary': { runIds: [1, 2], metric: 'test/acc', rule: 'last', test: 'wilcoxon', correction: 'holm', reference: 'baseline', margin: null, alpha: 0.05 },
  'compare:aligned': { ids: [1, 2], keys: ['val/acc'], time: true },
  'export:file': { name: 'chart.png', dataUrl: 'data:image/png;base64,iVBORw0KGgo=' },
  'export:csv': { kind: 'summary-md', ids: [], experimentId: 1, metric: 'test/acc', rule: 'best-val', margin: 0.5 },
  'datasets:list': undefined,
  'datasets:get': { name: 'synthetic', labels: 'fine' },
  'datasets:samples': { name: 'synthetic', perClass: 8, labels: 'fine', imageSize: null, augment: { flip: true }, seed: 1, epoch: 0 },
  'datasets:import': { path: '/tmp/digits', name: 'digits', labels: 'fine', imageSize: 28, strict: false, copy: false },
  'datasets:remove': { name: 'digits' },
  'datasets:download': { name: 'cifar10' },
  'datasets:cancelDownload': { name: 'cifar10' },
  'datasets:pick': { folder: true },
  'ingest:create': { name: 'resnet seed 1', seed: 1, params: { lr: 0.1, model: { depth: 20 } }, experiment: 'repr', arm: 'standard', baseline: 'standard', metric: 'val/acc', clientKey: 'k-1', heartbeatTimeoutS: 60 },
  'ingest:metrics': { runId: 1, points: [{ key: 'train/loss', step: 10, epoch: 0.5, value: 0.7, time: 1.7e12 }, { key: 'val/acc', step: 20, value: 0.5 }] },
  'ingest:events': { runId: 1, events: [{ kind: 'lr.drop', step: 20, epoch: 1, payload: { lr: 0.01 } }] },
  'ingest:summary': { runId: 1, values: { 'test/acc': 0.91 } },
  'ingest:finish': { runId: 1, status: 'completed' },
  'ingest:heartbeat': { runId: 1 },
};

export interface BadCase {
  /** The argument; `body` instead where JSON.stringify cannot write it (an own "__proto__"). */
  arg?: unknown;
  body?: string;
  field: string;
  /** What follows "<channel>: <field>: " in the refusal. */
  message: string | RegExp;
}

/** A malformed argument per channel: wrong types, missing and unknown fields, prototype keys,
 * out-of-range ids, oversized strings and lists. */
export const BAD: { [C in Channel]: BadCase } = {
  'app:info': { arg: { x: 1 }, field: '(argument)', message: 'expected no argument (null), got an object' },
  'runs:list': { arg: [], field: '(argument)', message: 'expected no argument (null), got a list' },
  'runs:get': { arg: { id: 'abc' }, field: 'id', message: 'expected an integer, got "abc"' },
  'runs:start': { arg: { config: {}, name: 'x' }, field: 'name', message: 'unknown field' },
  'runs:cancel': { arg: { id: 0 }, field: 'id', message: 'must be > 0, got 0' },
  'runs:resume': { arg: { id: 1.5 }, field: 'id', message: 'expected an integer, got 1.5' },
  'runs:delete': { arg: { ids: [1, 'two'] }, field: 'ids.1', message: 'expected an integer, got "two"' },
  'runs:history': { arg: { ids: [1], keys: 'val/acc' }, field: 'keys', message: 'expected a list, got "val/acc"' },
  'runs:events': { arg: { id: -3 }, field: 'id', message: 'must be > 0, got -3' },
  'runs:evaluation': { arg: {}, field: 'id', message: 'expected an integer, got nothing' },
  'runs:predictions': { arg: { id: 1, order: 'random', limit: 5, offset: 0 }, field: 'order', message: 'expected one of "confidentWrong", "confidentRight", "leastConfident", got "random"' },
  'presets:list': { arg: 'all', field: '(argument)', message: 'expected no argument (null), got "all"' },
  'presets:start': { arg: { id: 7 }, field: 'id', message: 'expected a string, got 7' },
  'experiments:list': { arg: 0, field: '(argument)', message: 'expected no argument (null), got 0' },
  'experiments:get': { arg: { id: null }, field: 'id', message: 'expected an integer, got null' },
  'experiments:create': { arg: null, field: '(argument)', message: 'expected an object, got null' },
  'experiments:addSeeds': { arg: { id: 1, seeds: new Array(1001).fill(1) }, field: 'seeds', message: 'must be at most 1000 items, got 1001' },
  'experiments:addArm': { arg: { id: 1, name: 'evil', set: { 'model.__proto__.polluted': 1 } }, field: 'set.model.__proto__.polluted', message: /is not a config path: "__proto__" is not allowed/ },
  'experiments:runUntilDecided': { arg: { id: 1, maxSeeds: '4' }, field: 'maxSeeds', message: 'expected an integer, got "4"' },
  'experiments:stop': { arg: { id: 2 ** 60 }, field: 'id', message: /^must be <= 9007199254740991, got / },
  'experiments:resume': { body: '{"id":1,"__proto__":{"polluted":true}}', field: '__proto__', message: 'unknown field' },
  'experiments:delete': { arg: { id: '1' }, field: 'id', message: 'expected an integer, got "1"' },
  'compare:summary': { arg: { runIds: [1, 2], alpha: 'small' }, field: 'alpha', message: 'expected a number, got "small"' },
  'compare:aligned': { arg: { ids: [1], keys: ['k'.repeat(5000)] }, field: 'keys.0', message: 'must be at most 200 characters, got 5000' },
  'export:file': { arg: { name: 'chart.png' }, field: 'dataUrl', message: 'expected a string, got nothing' },
  'export:csv': { arg: { kind: 'pdf', ids: [] }, field: 'kind', message: 'expected one of "runs", "histories", "summary", "summary-md", "summary-tex", got "pdf"' },
  'datasets:list': { arg: { refresh: true }, field: '(argument)', message: 'expected no argument (null), got an object' },
  'datasets:get': { arg: { name: 'cifar100', labels: 'medium' }, field: 'labels', message: 'expected one of "fine", "coarse", got "medium"' },
  'datasets:samples': { arg: { name: 'synthetic', perClass: '8' }, field: 'perClass', message: 'expected an integer, got "8"' },
  'datasets:import': { arg: { path: '/'.repeat(5000), name: 'big' }, field: 'path', message: 'must be at most 4096 characters, got 5000' },
  'datasets:remove': { arg: { name: ['digits'] }, field: 'name', message: 'expected a string, got a list' },
  'datasets:download': { arg: { name: { $ne: null } }, field: 'name', message: 'expected a string, got an object' },
  'datasets:cancelDownload': { arg: {}, field: 'name', message: 'expected a string, got nothing' },
  'datasets:pick': { arg: { folder: 'yes' }, field: 'folder', message: 'expected true or false, got "yes"' },
  'ingest:create': { arg: { seed: 1, params: { a: { __proto__x: 1 }, constructor: 2 } }, field: 'params', message: 'params: constructor: not allowed as a key' },
  'ingest:metrics': { arg: { runId: 1, points: [{ key: 'loss', step: -1, value: 1 }] }, field: 'points.0.step', message: 'must be >= 0, got -1' },
  'ingest:events': { arg: { runId: 1, events: [{ kind: 'run.end', step: 1 }] }, field: 'events.0.kind', message: 'run.*, pairing and init.loaded are written by Trickbench itself' },
  'ingest:summary': { arg: { runId: 1, values: { acc: 'high' } }, field: 'values.acc', message: 'expected a number, got "high"' },
  'ingest:finish': { arg: { runId: 1, status: 'running' }, field: 'status', message: 'expected one of "completed", "failed", "cancelled", "interrupted", got "running"' },
  'ingest:heartbeat': { arg: { runId: 1, extra: true }, field: 'extra', message: 'unknown field' },
};

/** The argument of a bad case as the handler would receive it (a real own "__proto__" key). */
export function badArg(c: BadCase): unknown {
  return c.body !== undefined ? JSON.parse(c.body) : c.arg;
}
