import { describe, expect, it } from 'vitest';
import { PALETTE, dashAt, seriesStyleAt } from '../../src/renderer/src/lib/palette';

describe('series styles of a comparison', () => {
  it('the first 12 runs are solid in distinct colours, then colours repeat with another dash', () => {
    for (let i = 0; i < PALETTE.length; i++) expect(dashAt(i)).toEqual([]);
    expect(new Set(Array.from({ length: PALETTE.length }, (_, i) => seriesStyleAt(i).color)).size).toBe(PALETTE.length);
    expect(seriesStyleAt(12).color).toBe(seriesStyleAt(0).color);
    expect(seriesStyleAt(12).dash.length).toBeGreaterThan(0);
  });
  it('60 runs all differ in colour or dash', () => {
    const keys = Array.from({ length: 60 }, (_, i) => JSON.stringify(seriesStyleAt(i)));
    expect(new Set(keys).size).toBe(60);
  });
});
