// What every webgpu test file shares: one attempt to select the webgpu backend (here: Dawn's
// OpenGL ES backend on Mesa's llvmpipe, a software adapter), and the rule for a missing adapter:
// the file's tests skip with the reason, unless TRICKBENCH_REQUIRE_WEBGPU=1 (CI), where a test
// fails instead; and the closeness check of a result against another backend's.
import { describe, expect, it } from 'vitest';
import { initBackend, type ResolvedBackend } from '../../src/trainer/backend';

export type WebgpuProbe = { ok: true; backend: ResolvedBackend; reason: null } | { ok: false; backend: null; reason: string };

/** Selects webgpu and defines the file's 'WebGPU adapter' block (pass or skip with the reason,
 * or fail where TRICKBENCH_REQUIRE_WEBGPU=1). Call at the top level of a test file. */
export async function webgpuGate(what: string): Promise<WebgpuProbe> {
  const probe: WebgpuProbe = await initBackend('webgpu').then(
    (backend) => ({ ok: true as const, backend, reason: null }),
    (e: unknown) => ({ ok: false as const, backend: null, reason: e instanceof Error ? e.message : String(e) }),
  );
  const required = process.env.TRICKBENCH_REQUIRE_WEBGPU === '1';
  describe('WebGPU adapter', () => {
    if (required) {
      it('is available (TRICKBENCH_REQUIRE_WEBGPU=1)', () => {
        expect(probe.reason, 'initBackend("webgpu") rejected').toBeNull();
      });
    } else if (!probe.ok) {
      console.warn(`${what}: skipped, no WebGPU adapter here (${probe.reason})`);
      it.skip(`no WebGPU adapter here, so ${what} are skipped: ${probe.reason}`, () => {});
    } else {
      it('is available', () => {
        expect(probe.reason).toBeNull();
      });
    }
  });
  return probe;
}

/** Fails unless every element is within tol of the largest |expected| (floored at 1e-3 for
 * tensors that are all ~0); returns the worst relative error. Each caller says why its tol. */
export function expectCloseToScale(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol: number): number {
  expect(actual.length, what).toBe(expected.length);
  let scale = 1e-3;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    const d = Math.abs(actual[i]! - expected[i]!);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  expect(worst / scale, `${what}: max abs error ${worst} at scale ${scale}`).toBeLessThan(tol);
  return worst / scale;
}
