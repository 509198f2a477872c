// The sequential runner's seed decisions: which seeds an experiment starts with, which seed is
// next, and when it stops.
import { describe, expect, it } from 'vitest';
import { analysisPlanSchema } from '../../src/shared/experiments';
import { DEFAULT_MAX_SEEDS, freshSeed, initialSeeds, maxSeedsOf, nextSeed } from '../../src/shared/seed-plan';

const seq = (over: Record<string, unknown> = {}) => analysisPlanSchema.parse({ sequential: true, ...over });

describe('seed plan', () => {
  it('a sequential experiment starts with its first two seeds; any other with all of them', () => {
    expect(initialSeeds({ seeds: [5, 3, 9, 1] })).toEqual([5, 3, 9, 1]);
    expect(initialSeeds({ seeds: [5, 3, 9, 1], analysis: analysisPlanSchema.parse({}) })).toEqual([5, 3, 9, 1]);
    expect(initialSeeds({ seeds: [5, 3, 9, 1], analysis: seq() })).toEqual([5, 3]);
    expect(initialSeeds({ seeds: [7], analysis: seq() })).toEqual([7, 8]); // completed: a confidence sequence needs n >= 2
  });

  it('the next seed: the next unused one of the list, then one above the largest', () => {
    expect(freshSeed([5, 3], [5, 3, 9, 1])).toBe(9);
    expect(freshSeed([5, 3, 9, 1], [5, 3, 9, 1])).toBe(10);
    expect(freshSeed([5, 3, 9, 1, 10], [5, 3, 9, 1])).toBe(11);
    expect(freshSeed([1, 2], [])).toBe(3);
    expect(freshSeed([2 ** 31 - 1], [])).toBe(0); // no seed above the largest: the smallest free one
  });

  it('decides: stop when decided or at maxSeeds, else the next seed, never one that has runs', () => {
    const pool = [5, 3, 9];
    expect(nextSeed({ seeds: [5, 3], pool, plan: seq(), stopping: { done: true, reason: 'every arm decided' } })).toEqual({ seed: null, reason: 'every arm decided' });
    const go = nextSeed({ seeds: [5, 3], pool, plan: seq(), stopping: { done: false, reason: 'arm a undecided' } });
    expect(go).toEqual({ seed: 9, reason: expect.stringMatching(/^arm a undecided: seed 9 is seed 3 of at most 20$/) });
    expect(nextSeed({ seeds: [5, 3, 9], pool, plan: seq({ maxSeeds: 3 }), stopping: { done: false, reason: 'arm a undecided' } })).toEqual({
      seed: null,
      reason: 'arm a undecided; stopped at maxSeeds (3 seeds)',
    });
    // a seed with runs (say, left behind by an earlier attempt) is skipped
    expect(nextSeed({ seeds: [5, 3], taken: [5, 3, 9], pool, plan: seq(), stopping: { done: false, reason: '' } }).seed).toBe(10);
    // no stopping verdict (the comparison gives none): not decided, bounded by maxSeeds
    expect(nextSeed({ seeds: [5, 3], pool, plan: null, stopping: null })).toMatchObject({ seed: 9, reason: expect.stringMatching(/^not decided/) });
    expect(maxSeedsOf(null)).toBe(DEFAULT_MAX_SEEDS);
    expect(maxSeedsOf(seq())).toBe(20);
    const twenty = Array.from({ length: 20 }, (_, i) => i);
    expect(nextSeed({ seeds: twenty, pool: [], plan: seq(), stopping: undefined })).toEqual({ seed: null, reason: 'not decided; stopped at maxSeeds (20 seeds)' });
  });
});
