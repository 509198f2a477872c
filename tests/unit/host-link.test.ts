// The trainer's channel to its host when the host is gone: no send may throw or crash the process.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { hostLink } from '../../src/trainer/host-link';
import type { TrainerMessage } from '../../src/shared/protocol';

const msg: TrainerMessage = { type: 'progress', runId: 1, epoch: 0, epochs: 1, step: 1, stepsPerEpoch: 8, phase: 'train' };
const err = (code: string) => Object.assign(new Error(`write ${code}`), { code });

/** A process whose channel behaves as Node's: a failed write goes to the callback, or without one
 * to an 'error' event, which throws when nothing listens. */
class FakeProcess extends EventEmitter {
  connected = true;
  sent: unknown[] = [];
  constructor(private readonly fail: string | null) {
    super();
  }
  send(message: unknown, callback?: (e: Error | null) => void): boolean {
    this.sent.push(message);
    const e = this.fail ? err(this.fail) : null;
    if (callback) callback(e);
    else if (e) this.emit('error', e);
    return !e;
  }
}

describe('hostLink', () => {
  it('sends while the host is there', () => {
    const p = new FakeProcess(null);
    const link = hostLink(p);
    link.send(msg);
    link.send(msg);
    expect(p.sent).toHaveLength(2);
    expect(link.open).toBe(true);
  });

  it.each(['EPIPE', 'ERR_IPC_CHANNEL_CLOSED'])('a write failing with %s does not throw, is not logged, and stops the sending', (code) => {
    const p = new FakeProcess(code);
    const logged: string[] = [];
    const link = hostLink(p, (l) => logged.push(l));
    expect(() => link.send(msg)).not.toThrow();
    link.send(msg);
    expect(p.sent).toHaveLength(1);
    expect(link.open).toBe(false);
    expect(logged).toEqual([]);
  });

  it("handles the channel's 'error' events (what a send without a callback raises)", () => {
    const p = new FakeProcess(null);
    hostLink(p);
    expect(() => p.emit('error', err('EPIPE'))).not.toThrow();
  });

  it('sends nothing after a disconnect', () => {
    const p = new FakeProcess(null);
    const link = hostLink(p);
    p.emit('disconnect');
    link.send(msg);
    expect(p.sent).toEqual([]);
  });

  it('an unexpected channel error is logged once', () => {
    const p = new FakeProcess('EINVAL');
    const logged: string[] = [];
    const link = hostLink(p, (l) => logged.push(l));
    link.send(msg);
    link.send(msg);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('training goes on');
  });
});
