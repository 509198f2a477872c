// `npm run bench -- --suite trainer` as a user runs it (one tiny repetition: figures are not tested,
// the harness is): the cases it reports, its last-line JSON, and the PyTorch side where torch exists.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/trainer';

const BENCH = 'bench/index.ts';
const hasTorch = ['/usr/bin/python3', 'python3'].some((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);

describe('npm run bench -- --suite trainer', () => {
  it('measures the chosen case and ends with one JSON object keyed by case name', async () => {
    const r = await runCli(BENCH, ['--suite', 'trainer', '--case', 'cnn3 28x28x1', '--reps', '1', '--steps', '1', '--warmup', '0', '--no-torch']);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.last ?? {}).sort()).toEqual(['cnn3 28x28x1 b128', 'cnn3 28x28x1 b64']);
    for (const v of Object.values(r.last as Record<string, Record<string, unknown>>)) {
      expect(v.imgPerSec).toBeGreaterThan(0);
      expect(v).toMatchObject({ torch1: null, torchAll: null, ratioAll: null });
    }
  });

  it('--suite loader: the loader with the seeds\' pipeline next to the trainer, as JSON', async () => {
    const r = await runCli(BENCH, ['--suite', 'loader', '--steps', '2']);
    expect(r.code, r.stderr).toBe(0);
    const l = (r.last as { loader: Record<string, Record<string, unknown>> }).loader;
    expect(Object.keys(l).sort()).toEqual(['cifar', 'seeds', 'trainer']);
    expect(l.trainer!.cnn3).toBeGreaterThan(0);
    for (const p of [l.cifar!, l.seeds!]) {
      expect((p.loader as Record<string, number>).workers0).toBeGreaterThan(0);
      expect(Object.keys(p.ratios as object).sort()).toEqual(['cnn3', 'resnet20']);
      expect(p.waitShare).toBeGreaterThanOrEqual(0);
    }
    expect(r.stdout).toMatch(/loader \(\d+ workers?\) \/ trainer, target >= 10x: cnn3 [\d.]+x/);
  }, 180_000);

  it('rejects an unknown suite, naming it', async () => {
    const r = await runCli(BENCH, ['--suite', 'nope']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--suite: unknown suite "nope"/);
  });

  // The software adapter (Mesa llvmpipe through OpenGL ES) where there is no GPU; skipped where Dawn
  // finds no adapter at all, unless TRICKBENCH_REQUIRE_WEBGPU=1 (then that fails).
  it('--backend webgpu: the same JSON plus the adapter it trained on', async (ctx) => {
    const r = await runCli(BENCH, ['--suite', 'trainer', '--backend', 'webgpu', '--case', 'cnn3 28x28x1 b64', '--reps', '1', '--steps', '1', '--warmup', '0', '--no-torch']);
    if (r.code !== 0 && /backend 'webgpu' is not available/.test(r.stderr) && process.env.TRICKBENCH_REQUIRE_WEBGPU !== '1') ctx.skip();
    expect(r.code, r.stderr).toBe(0);
    const last = r.last as Record<string, Record<string, unknown>>;
    expect(Object.keys(last).sort()).toEqual(['adapter', 'cnn3 28x28x1 b64']);
    expect(last['cnn3 28x28x1 b64']!.imgPerSec).toBeGreaterThan(0);
    expect(last['cnn3 28x28x1 b64']!.tflops).toMatchObject({ ours: expect.any(Number) });
    expect(last.adapter).toMatchObject({ api: expect.any(String), software: expect.any(Boolean), label: expect.stringContaining('WebGPU') });
  }, 120_000);

  it.runIf(hasTorch)('runs the same case in PyTorch (1 thread and all cores) and prints the ratios', async () => {
    const r = await runCli(BENCH, ['--suite', 'trainer', '--case', 'cnn3 28x28x1 b64', '--reps', '1', '--steps', '1', '--warmup', '0']);
    expect(r.code, r.stderr).toBe(0);
    const c = (r.last as Record<string, Record<string, number>>)['cnn3 28x28x1 b64']!;
    expect(c.torch1).toBeGreaterThan(0);
    expect(c.torchAll).toBeGreaterThan(0);
    expect(c.ratioAll).toBeCloseTo(c.imgPerSec! / c.torchAll!, 1);
  });
});
