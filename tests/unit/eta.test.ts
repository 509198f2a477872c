// Time estimates: measured speeds, estimates from runs like it on this machine, "unknown" when
// nothing measured applies, and totals over an experiment or the queue.
import { describe, expect, it } from 'vitest';
import { mustParseRunConfig } from '../../src/shared/config';
import { estimateRun, etaText, formatSeconds, planText, runTimeLeft, StepRates, summarizeWork, timingSamples } from '../../src/shared/eta';
import type { RunStatus } from '../../src/shared/api';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

const cfg = (over: Record<string, unknown> = {}) => mustParseRunConfig({ dataset: { name: 'synthetic', trainSubset: 320 }, model: { name: 'cnn3', width: 8 }, epochs: 4, batchSize: 32, ...over }, BUILTIN_FACTS);
let nextId = 1;
const run = (config: ReturnType<typeof cfg>, o: { status?: RunStatus; epochS?: number; wallS?: number } = {}) => ({
  id: nextId++,
  status: o.status ?? ('completed' as RunStatus),
  config,
  final: (o.epochS === undefined ? {} : { 'time/epoch_s': o.epochS }) as Record<string, number>,
  startedAt: o.wallS === undefined ? null : 1_000_000,
  endedAt: o.wallS === undefined ? null : 1_000_000 + o.wallS * 1000,
});

describe('formatSeconds', () => {
  it('reads at a glance', () => {
    expect([0.2, 45, 200, 3900, 200_000].map(formatSeconds)).toEqual(['1s', '45s', '3m 20s', '1h 05m', '2d 7h']);
    expect(formatSeconds(NaN)).toBe('–');
  });
});

describe('estimates from runs measured here', () => {
  it('a completed run of the same model and data gives epochs x its epoch time + its overhead', () => {
    const s = timingSamples([run(cfg(), { epochS: 10, wallS: 45 })]); // 4 x 10 s epochs, 5 s loading and testing
    expect(s).toEqual([expect.objectContaining({ epochS: 10, overheadS: 5 })]);
    const e = estimateRun(cfg({ epochs: 10 }), s)!;
    expect(e.seconds).toBeCloseTo(105);
    expect(e.exact).toBe(true);
  });

  it('a run stopped overnight and resumed: its wall time holds the pause, which is not overhead', () => {
    const resumed = run(cfg(), { epochS: 10, wallS: 40 + 12 * 3600 });
    const plain = run(cfg(), { epochS: 10, wallS: 45 });
    expect(timingSamples([resumed])).toEqual([expect.objectContaining({ epochS: 10, overheadS: null })]);
    // the estimate takes the overhead the plain run measured, not 12 hours
    expect(estimateRun(cfg({ epochs: 10 }), timingSamples([resumed, resumed, plain]))!.seconds).toBeCloseTo(105);
  });

  it('another model, dataset, subset or image size is not evidence: unknown', () => {
    const s = timingSamples([run(cfg(), { epochS: 10, wallS: 45 })]);
    expect(estimateRun(cfg({ model: { name: 'cnn3', width: 16 } }), s)).toBeNull();
    expect(estimateRun(cfg({ dataset: { name: 'synthetic', trainSubset: 640 } }), s)).toBeNull();
    expect(estimateRun(cfg({ dataset: { name: 'synthetic', trainSubset: 320, imageSize: 16 } }), s)).toBeNull();
    expect(estimateRun(cfg(), [])).toBeNull();
  });

  it('prefers runs with the same tricks and batch size; falls back to the others, saying so', () => {
    const plain = run(cfg(), { epochS: 10, wallS: 40 });
    const rdrop = run(cfg({ model: { name: 'cnn3', width: 8, dropout: 0.3 }, tricks: { rdrop: {} } }), { epochS: 20, wallS: 80 });
    const dropout = cfg({ model: { name: 'cnn3', width: 8, dropout: 0.3 } });
    const s = timingSamples([plain, rdrop, run(dropout, { epochS: 11, wallS: 44 })]);
    expect(estimateRun(cfg({ model: { name: 'cnn3', width: 8, dropout: 0.3 }, tricks: { rdrop: { alpha: 2 } } }), s)).toMatchObject({ seconds: 80, exact: true, from: [rdrop.id] });
    const other = estimateRun(cfg({ model: { name: 'cnn3', width: 8, dropout: 0.3 }, batchSize: 64 }), s)!;
    expect(other.exact).toBe(false);
    expect(other.epochS).toBe(15.5); // the median of 11 and 20
  });

  it('a run still running counts once it has an epoch time (no overhead yet); one without any does not', () => {
    const s = timingSamples([run(cfg(), { status: 'running', epochS: 12 }), run(cfg(), { status: 'running' }), run(cfg(), { status: 'queued' })]);
    expect(s).toHaveLength(1);
    expect(s[0]!.overheadS).toBeNull();
    expect(estimateRun(cfg(), s)!.seconds).toBe(48);
  });

  it('a completed run without epoch times (imported) gives its wall time per epoch', () => {
    expect(timingSamples([run(cfg(), { wallS: 60 })])).toEqual([expect.objectContaining({ epochS: 15, overheadS: null })]);
  });
});

describe('a running run', () => {
  const progress = { epoch: 1, epochs: 4, step: 15, stepsPerEpoch: 10, phase: 'train' as const };

  it('measures steps per second over its reports; a resume starts over', () => {
    const r = new StepRates(20_000);
    r.add(1, 0, 0);
    expect(r.stepsPerS(1)).toBeNull();
    r.add(1, 5, 500);
    expect(r.stepsPerS(1)).toBeNull(); // under a second apart
    r.add(1, 20, 2000);
    expect(r.stepsPerS(1)).toBe(10);
    r.add(1, 3, 2500);
    expect(r.stepsPerS(1)).toBeNull();
    // old reports fall out of the window
    const w = new StepRates(1000);
    w.add(2, 0, 0);
    w.add(2, 100, 1000);
    w.add(2, 110, 3000);
    w.add(2, 120, 4000);
    expect(w.stepsPerS(2)).toBe(10);
  });

  it('time left: the remaining steps at the last epoch pace, else at the rate measured now, else unknown', () => {
    const final = { 'time/epoch_s': 8, 'throughput/img_s': 50 };
    expect(runTimeLeft({ progress, config: { batchSize: 32 }, final }, null)).toEqual({ seconds: 20, imgPerS: 50 }); // 25 steps = 2.5 epochs of 8 s
    expect(runTimeLeft({ progress, config: { batchSize: 32 }, final: {} }, 5)).toEqual({ seconds: 5, imgPerS: 160 });
    expect(runTimeLeft({ progress, config: { batchSize: 32 }, final: {} }, null)).toEqual({ seconds: null, imgPerS: null });
    expect(runTimeLeft({ progress: { ...progress, step: 40, phase: 'eval' }, config: { batchSize: 32 }, final: {} }, null).seconds).toBe(0);
  });
});

describe('totals', () => {
  it('an experiment: share done by runs (running ones by progress), time left of what is pending, unknown ones counted', () => {
    const w = summarizeWork([
      { status: 'completed', left: 0 },
      { status: 'running', fraction: 0.5, left: 30 },
      { status: 'queued', left: 60 },
      { status: 'planned', left: null },
      { status: 'cancelled', left: null },
    ]);
    expect(w).toMatchObject({ total: 5, completed: 1, pending: 3, stopped: 1, secondsLeft: 90, unknown: 1 });
    expect(w.fraction).toBeCloseTo(0.3);
    expect(etaText(w)).toBe('at least 1m 30s left (1 run not estimated)');
    expect(etaText(summarizeWork([{ status: 'queued', left: 100 }, { status: 'queued', left: 100 }], 2))).toBe('about 1m 40s left');
    expect(etaText(summarizeWork([{ status: 'queued', left: null }]))).toMatch(/^time left unknown/);
    expect(etaText(summarizeWork([{ status: 'completed', left: 0 }]))).toBe('');
  });

  it('runs about to start, in words', () => {
    const e = { seconds: 100, epochS: 20, from: [1], exact: true };
    expect(planText([e, e]).text).toBe('2 runs, about 3m 20s');
    expect(planText([e, null]).text).toMatch(/^2 runs, at least 1m 40s \(1 not estimated/);
    expect(planText([null]).text).toMatch(/^1 run, time unknown/);
  });
});
