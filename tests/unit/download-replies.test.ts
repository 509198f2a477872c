// What the Datasets page shows when the reply to Download and the download's events arrive in
// either order (src/renderer/src/lib/downloads.ts).
import { describe, expect, it } from 'vitest';
import type { DownloadProgress } from '../../src/shared/api';
import { afterStartReply } from '../../src/renderer/src/lib/downloads';

const progress = (state: DownloadProgress['state'], received = 0): DownloadProgress => ({ id: 'kmnist', state, file: null, received, total: 100, bytesPerSecond: null, dir: '/d' });

describe('the reply to Download', () => {
  it('is shown when no event came while the request was out', () => {
    const reply = progress('queued');
    expect(afterStartReply(undefined, undefined, reply)).toBe(reply);
    const lastTime = progress('cancelled', 40);
    expect(afterStartReply(lastTime, lastTime, reply)).toBe(reply);
  });
  it('does not replace the newer events that overtook it (it would stay: a download that ended sends nothing more)', () => {
    const reply = progress('queued', 40);
    const lastTime = progress('cancelled', 40);
    for (const newer of [progress('downloading', 60), progress('done', 100), progress('failed', 40)]) {
      expect(afterStartReply(lastTime, newer, reply)).toBe(newer);
      expect(afterStartReply(undefined, newer, reply)).toBe(newer);
    }
  });
});
