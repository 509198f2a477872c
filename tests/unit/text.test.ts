import { describe, expect, it } from 'vitest';
import { shortenMiddle } from '../../src/renderer/src/lib/text';

describe('shortenMiddle', () => {
  it('keeps short labels and cuts long ones in the middle, keeping both ends', () => {
    expect(shortenMiddle('#3 lr 0.05', 20)).toBe('#3 lr 0.05');
    const long = '#45 a long hand-written run name that says what was tried, number 5';
    const s = shortenMiddle(long, 30);
    expect([...s].length).toBeLessThanOrEqual(30);
    expect(s.startsWith('#45 a long')).toBe(true);
    expect(s.endsWith('number 5')).toBe(true);
    expect(s).toContain('…');
  });
  it('counts characters, not UTF-16 units (ε, emoji stay whole)', () => {
    const s = shortenMiddle('label smoothing ε=0.1 😀 '.repeat(4), 21);
    expect([...s].length).toBeLessThanOrEqual(21);
    expect(s).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});
