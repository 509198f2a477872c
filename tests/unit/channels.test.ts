// The contract closes: every channel has a schema and a handler, every handler is a channel, the
// desktop shell binds each channel once to its own handler, and a malformed argument over IPC is
// refused (naming the channel and the field) before the handler runs. Electron's ipcMain is
// replaced by a recorder: what the shell registers is what is under test.
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';

type Listener = (event: unknown, arg: unknown) => Promise<unknown>;
const registered = vi.hoisted(() => new Map<string, Listener[]>());
vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, listener: Listener) => registered.set(channel, [...(registered.get(channel) ?? []), listener]),
  },
  BrowserWindow: { getAllWindows: () => [], getFocusedWindow: () => null },
  dialog: {},
}));

import { createHandlers, type Handlers } from '../../src/main/handlers';
import { bindIpc } from '../../src/main/ipc';
import { RunService } from '../../src/main/services/runs';
import { ARG_SCHEMAS, CHANNELS, isChannel, parseArg, type Channel, type Result } from '../../src/shared/api';
import { Store } from '../../src/store/store';
import { BAD, badArg, VALID } from '../helpers/api-args';
import { tmpDataDir } from '../helpers/tmp';

const tmp = tmpDataDir('tb-channels-');
const store = new Store(tmp.dir);
const runs = new RunService({ store, dataDir: tmp.dir, trainerEntry: 'unused', concurrency: 0, emit: () => {} });
afterAll(async () => {
  await runs.close();
  store.close();
  tmp.cleanup();
});

const sorted = (xs: Iterable<string>) => [...xs].sort();

describe('channels and handlers', () => {
  it('every channel has a handler and every handler is a channel, each once', () => {
    const handlers = createHandlers(runs, { shell: 'electron', dataDir: tmp.dir, version: 'test' }, () => ({ path: null }), () => ({ path: null }));
    expect(new Set(CHANNELS).size).toBe(CHANNELS.length);
    expect(sorted(Object.keys(handlers))).toEqual(sorted(CHANNELS));
    expect(sorted(Object.keys(ARG_SCHEMAS))).toEqual(sorted(CHANNELS));
    for (const c of Object.keys(handlers)) expect(typeof (handlers as Record<string, unknown>)[c], c).toBe('function');
  });

  it('a channel is an own key of the contract, never an inherited name', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'runs:nope', '']) expect(isChannel(name), name).toBe(false);
    for (const c of CHANNELS) expect(isChannel(c), c).toBe(true);
  });

  it("each channel's well-formed example passes its schema unchanged", () => {
    for (const c of CHANNELS) {
      const r = parseArg(c, VALID[c]);
      expect(r, c).toEqual({ ok: true, value: VALID[c] });
    }
    // No argument arrives as undefined over IPC and as null over HTTP: both are none.
    expect(parseArg('runs:list', null)).toEqual({ ok: true, value: undefined });
  });
});

describe('the desktop shell (ipcMain)', () => {
  let seen: { channel: Channel; arg: unknown }[] = [];
  /** Handlers that record what reached them. */
  const recording = Object.fromEntries(
    CHANNELS.map((c) => [
      c,
      (arg: unknown) => {
        seen.push({ channel: c, arg });
        return { from: c };
      },
    ]),
  ) as unknown as Handlers;
  registered.clear();
  bindIpc(recording);
  const invoke = (channel: string, arg: unknown) => registered.get(channel)![0]!({ sender: null }, arg) as Promise<Result<unknown>>;

  beforeEach(() => {
    seen = [];
  });

  it('binds every channel exactly once, and nothing else', () => {
    expect(sorted(registered.keys())).toEqual(sorted(CHANNELS));
    for (const [c, listeners] of registered) expect(listeners.length, c).toBe(1);
  });

  it.each(CHANNELS)('%s: reaches its own handler with the parsed argument', async (channel) => {
    expect(await invoke(channel, VALID[channel])).toEqual({ ok: true, value: { from: channel } });
    expect(seen).toEqual([{ channel, arg: VALID[channel] }]);
  });

  it.each(CHANNELS)('%s: a malformed argument is refused, naming the channel and the field, before the handler runs', async (channel) => {
    const bad = BAD[channel];
    const r = await invoke(channel, badArg(bad));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('bad_request');
    expect(r.error.field).toBe(bad.field);
    const prefix = `${channel}: ${bad.field}: `;
    expect(r.error.message.startsWith(prefix), r.error.message).toBe(true);
    const said = r.error.message.slice(prefix.length);
    if (typeof bad.message === 'string') expect(said).toBe(bad.message);
    else expect(said).toMatch(bad.message);
    expect(seen).toEqual([]);
  });

  it('hands the handler the parsed value, not the raw one: unknown fields never get through', async () => {
    const r = await invoke('runs:get', { id: 3, extra: true });
    expect(r).toMatchObject({ ok: false, error: { field: 'extra', message: 'runs:get: extra: unknown field' } });
    await invoke('app:info', null);
    expect(seen).toEqual([{ channel: 'app:info', arg: undefined }]);
  });
});
