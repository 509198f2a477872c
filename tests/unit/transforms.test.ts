// The augmentation ops against torchvision (tests/reference/transforms_reference.py wrote
// tests/fixtures/transforms_reference.json), their samplers by statistics, and the pipelines:
// shapes, determinism per (seed, epoch, index), cutout's hole, greyscale images, the schema.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AugmentShapeError, augmentSchema, describeAugment, pipelineOutputShape, type AugmentInput } from '../../src/shared/augment';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation, colorJitter, newJitterParams, sampleJitter } from '../../src/data/color';
import { gatherBatch } from '../../src/data/index';
import { sampleRng } from '../../src/data/sample-rng';
import { compilePipeline, hflip, newBox, padCrop, resize, resizedCrop, rotate, sampleCropOffset, sampleResizedCrop, type Shape } from '../../src/data/transforms';
import { makeRng } from '../../src/shared/rng';

interface Stats {
  mean: number;
  std: number;
  min: number;
  max: number;
}
interface Case {
  op: string;
  image: string;
  params: Record<string, number | string | number[]>;
  shape: [number, number, number];
  uint8: number[];
  exact?: number[];
}
const fx = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/transforms_reference.json'), 'utf8')) as {
  images: Record<string, { shape: [number, number, number]; data: number[] }>;
  cases: Case[];
  samplers: ({ kind: 'resizedCrop'; height: number; width: number; scale: [number, number]; ratio: [number, number]; n: number; h: Stats; w: Stats; area: Stats; top: Stats; left: Stats } | { kind: 'crop'; height: number; width: number; outH: number; outW: number; n: number; top: Stats; left: Stats })[];
};

const parse = (a: AugmentInput) => augmentSchema.parse(a);

/** Run one fixture case through our op at the same parameters. */
function runCase(c: Case): Uint8Array {
  const img = fx.images[c.image]!;
  const src = Uint8Array.from(img.data);
  const shape = img.shape as Shape;
  const [oh, ow, oc] = c.shape;
  const dst = new Uint8Array(oh * ow * oc);
  const p = c.params;
  const num = (k: string) => p[k] as number;
  switch (c.op) {
    case 'padCrop':
      padCrop(src, shape, num('top'), num('left'), num('height'), num('width'), num('padding'), p.padMode as 'constant' | 'reflect', num('fill'), dst);
      break;
    case 'hflip':
      hflip(src, shape, dst);
      break;
    case 'resizedCrop':
      resizedCrop(src, shape, num('top'), num('left'), num('height'), num('width'), dst, num('outH'), num('outW'));
      break;
    case 'resize': {
      // the output size of an integer size (shorter side) comes from our shape rule, checked here
      const size = p.size as number | [number, number];
      const [rh, rw] = pipelineOutputShape(shape, parse([{ name: 'resize', size }]));
      expect([rh, rw], `resize ${JSON.stringify(size)} of ${shape.join('x')}`).toEqual([oh, ow]);
      resize(src, shape, dst, oh, ow);
      break;
    }
    case 'rotate':
      rotate(src, shape, num('angle'), num('fill'), dst);
      break;
    case 'brightness':
      adjustBrightness(src, shape, num('factor'), dst);
      break;
    case 'contrast':
      adjustContrast(src, shape, num('factor'), dst);
      break;
    case 'saturation':
      adjustSaturation(src, shape, num('factor'), dst);
      break;
    case 'hue':
      adjustHue(src, shape, num('factor'), dst);
      break;
    default:
      throw new Error(`unknown op ${c.op} in the fixture`);
  }
  return dst;
}

describe('ops against torchvision', () => {
  it('the fixture covers every op', () => {
    const ops = new Set(fx.cases.map((c) => c.op));
    for (const op of ['padCrop', 'hflip', 'resizedCrop', 'resize', 'rotate', 'brightness', 'contrast', 'saturation', 'hue']) expect(ops.has(op), op).toBe(true);
  });

  for (const c of fx.cases) {
    const label = `${c.op} ${c.image} ${JSON.stringify(c.params)}`;
    it(label, () => {
      const ours = runCase(c);
      expect(ours.length).toBe(c.uint8.length);
      if (c.op === 'padCrop' || c.op === 'hflip') {
        // pure copies: must be identical
        expect(Array.from(ours)).toEqual(c.uint8);
        return;
      }
      if (c.op === 'rotate') {
        // Nearest neighbour: identical except where a source coordinate lies within float32 noise
        // of a half-pixel boundary (torch builds its grid in float32, we in float64); with these
        // generic angles that is at most a pixel or two, so more than 1% would be a real error.
        let diff = 0;
        for (let i = 0; i < ours.length; i++) if (ours[i] !== c.uint8[i]) diff++;
        expect(diff / ours.length, label).toBeLessThanOrEqual(0.01);
        return;
      }
      const exact = c.exact!;
      // torchvision's uint8 path truncates each result (it lies in (exact - 1, exact]; ours
      // within 0.5 of exact: they differ by at most 1). Contrast and saturation also blend with a
      // greyscale image it first truncates to uint8 (up to 1 level off, weighted by 1 - factor),
      // which widens the gap to under 1.5 + |1 - factor|. Resize rounds half to even: 1 at most.
      const f = typeof c.params.factor === 'number' ? c.params.factor : 1;
      const vsUint8 = c.op === 'contrast' || c.op === 'saturation' ? 1.5 + Math.abs(1 - f) : 1;
      let ties = 0;
      for (let i = 0; i < ours.length; i++) {
        const v = ours[i]!;
        const e = exact[i]!;
        // We round the exact result: within 0.5 of it (+0.002: the fixture keeps 3 decimals and
        // torch computes in float32, ~1e-5 of a grey level here).
        expect(Math.abs(v - e), `${label} [${i}] vs exact ${e}`).toBeLessThanOrEqual(0.502);
        expect(Math.abs(v - c.uint8[i]!), `${label} [${i}] vs torchvision uint8`).toBeLessThanOrEqual(vsUint8);
        // Exact .5 ties (bilinear weights of 1/2, hue sectors) may round either way, depending
        // on float noise on each side; every other pixel must be the correctly rounded value.
        if (Math.abs(e - Math.floor(e) - 0.5) <= 0.002) ties++;
        else expect(v, `${label} [${i}]: ${e} rounds to ${Math.round(e)}`).toBe(Math.round(e));
      }
      // ties are rare (a few % at most with these sizes): many would mean the test checks nothing
      expect(ties / ours.length, label).toBeLessThanOrEqual(0.1);
    });
  }

  it('colour ops give the same result in place', () => {
    const img = fx.images.rgb!;
    const shape = img.shape as Shape;
    for (const [op, f] of [
      [adjustSaturation, 1.6],
      [adjustHue, -0.3],
      [adjustContrast, 0.4],
      [adjustBrightness, 1.2],
    ] as const) {
      const out = new Uint8Array(img.data.length);
      op(Uint8Array.from(img.data), shape, f, out);
      const inPlace = Uint8Array.from(img.data);
      op(inPlace, shape, f, inPlace);
      expect(inPlace, op.name).toEqual(out);
    }
  });
});

describe('colour jitter', () => {
  it('equals its adjustments applied one after another, in every order', () => {
    // colorJitter composes brightness/contrast tables and takes contrast's mean from histograms;
    // the result must be byte-identical to the separate ops (each rounding to uint8).
    const ops = [adjustBrightness, adjustContrast, adjustSaturation, adjustHue];
    const rng = makeRng(2, 'jitter-orders');
    const p = newJitterParams();
    for (const name of ['rgb', 'grey'] as const) {
      const img = fx.images[name]!;
      const shape = img.shape as Shape;
      const src = Uint8Array.from(img.data);
      for (let trial = 0; trial < 300; trial++) {
        // random order and factors; each adjustment off (NaN) a quarter of the time
        sampleJitter(rng, { brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.5 }, p);
        for (let k = 0; k < 4; k++) if (rng.next() < 0.25) p.factors[k] = NaN;
        const want = Uint8Array.from(src);
        for (const op of p.order) if (!Number.isNaN(p.factors[op]!)) ops[op]!(want, shape, p.factors[op]!, want);
        const got = new Uint8Array(src.length);
        colorJitter(src, shape, p, got);
        expect(got, `${name} order ${p.order.join('')} factors ${p.factors.join(', ')}`).toEqual(want);
      }
    }
  });
});

describe('samplers against torchvision', () => {
  // Means of N draws: ours and torchvision's differ by chance with standard error
  // sqrt(s1^2/N + s2^2/N); 4.5 standard errors leave a correct sampler a ~1e-5 chance of failing
  // per comparison, while a wrong distribution (say, ratio sampled linearly, or scale applied to
  // the side instead of the area) moves these means by many standard errors.
  const sameMean = (ours: number[], ref: Stats, n: number, label: string) => {
    const m = ours.reduce((a, b) => a + b, 0) / ours.length;
    const s = Math.sqrt(ours.reduce((a, b) => a + (b - m) ** 2, 0) / ours.length);
    const se = Math.sqrt((s * s) / ours.length + (ref.std * ref.std) / n);
    expect(Math.abs(m - ref.mean), `${label}: mean ${m} vs torchvision ${ref.mean}`).toBeLessThanOrEqual(4.5 * se + 1e-9);
  };

  for (const s of fx.samplers) {
    if (s.kind === 'resizedCrop') {
      it(`randomResizedCrop ${s.height}x${s.width} scale ${s.scale.join('-')} ratio ${s.ratio.map((r) => r.toFixed(2)).join('-')}`, () => {
        const rng = makeRng(1, 'test-rrc');
        const box = newBox();
        const hs: number[] = [];
        const ws: number[] = [];
        const areas: number[] = [];
        const tops: number[] = [];
        const lefts: number[] = [];
        const total = s.height * s.width;
        for (let i = 0; i < s.n; i++) {
          sampleResizedCrop(rng, s.height, s.width, s.scale, s.ratio, box);
          expect(box.top >= 0 && box.left >= 0 && box.top + box.height <= s.height && box.left + box.width <= s.width).toBe(true);
          hs.push(box.height);
          ws.push(box.width);
          areas.push((box.height * box.width) / total);
          tops.push(box.top);
          lefts.push(box.left);
          const fallback = s.ratio[1] < s.width / s.height && box.height === s.height;
          if (!fallback) {
            // sides are rounded from the exact draw: area and ratio within the ranges up to
            // that rounding (each side off by at most 0.5)
            const [h, w] = [box.height, box.width];
            expect((h + 0.5) * (w + 0.5), 'area within scale').toBeGreaterThanOrEqual(s.scale[0] * total);
            expect((h - 0.5) * (w - 0.5), 'area within scale').toBeLessThanOrEqual(s.scale[1] * total);
            expect((w + 0.5) / (h - 0.5), 'ratio within bounds').toBeGreaterThanOrEqual(s.ratio[0]);
            expect((w - 0.5) / (h + 0.5), 'ratio within bounds').toBeLessThanOrEqual(s.ratio[1]);
          }
        }
        sameMean(hs, s.h, s.n, 'height');
        sameMean(ws, s.w, s.n, 'width');
        sameMean(areas, s.area, s.n, 'area');
        sameMean(tops, s.top, s.n, 'top');
        sameMean(lefts, s.left, s.n, 'left');
      });
    } else {
      it(`randomCrop ${s.outH}x${s.outW} of ${s.height}x${s.width}`, () => {
        const rng = makeRng(1, 'test-crop');
        const box = newBox();
        const tops: number[] = [];
        const lefts: number[] = [];
        for (let i = 0; i < s.n; i++) {
          sampleCropOffset(rng, s.height, s.width, s.outH, s.outW, box);
          tops.push(box.top);
          lefts.push(box.left);
        }
        sameMean(tops, s.top, s.n, 'top');
        sameMean(lefts, s.left, s.n, 'left');
        // every offset is reachable, as torchvision's (its min and max are the extremes)
        expect([Math.min(...tops), Math.max(...tops), Math.min(...lefts), Math.max(...lefts)]).toEqual([s.top.min, s.top.max, s.left.min, s.left.max]);
      });
    }
  }

  it('the resized-crop fallback is torchvision centre crop clamped to the ratio', () => {
    // 12x40 with ratio 0.9-1.1 and area >= 50%: no draw fits, so every sample falls back to the
    // centre 12x13 (13 = round(12 * 1.1)), left (40 - 13) // 2 = 13
    const box = newBox();
    const rng = makeRng(3, 'fallback');
    for (let i = 0; i < 50; i++) expect({ ...sampleResizedCrop(rng, 12, 40, [0.5, 1], [0.9, 1.1], box) }).toEqual({ top: 0, left: 13, height: 12, width: 13 });
  });

  it('colour jitter draws a uniform order and factors in their ranges', () => {
    const rng = makeRng(5, 'jitter');
    const p = newJitterParams();
    const n = 8000;
    const first = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      sampleJitter(rng, { brightness: 0.4, contrast: 1.5, saturation: 0, hue: 0.1 }, p);
      expect([...p.order].sort()).toEqual([0, 1, 2, 3]);
      first[p.order[0]!]!++;
      const [b, c, s, h] = p.factors;
      expect(b! >= 0.6 && b! <= 1.4 && c! >= 0 && c! <= 2.5 && h! >= -0.1 && h! <= 0.1).toBe(true);
      expect(Number.isNaN(s)).toBe(true); // saturation 0 is off, as torchvision's None
    }
    // each op first with probability 1/4: binomial sd sqrt(n p (1 - p)) ~ 39; 5 sd
    for (const k of first) expect(Math.abs(k - n / 4)).toBeLessThanOrEqual(5 * Math.sqrt(n * 0.25 * 0.75));
  });
});

// The seeds' pipeline and the CIFAR recipe (the issue's two configurations).
const SEEDS: AugmentInput = [
  { name: 'colorJitter', brightness: 0.2, contrast: 0.2, saturation: 0.2 },
  { name: 'randomResizedCrop', size: 32, scale: [0.6, 1] },
  { name: 'hflip' },
  { name: 'rotation', degrees: 20 },
];
const CIFAR: AugmentInput = [{ name: 'randomCrop', size: 32, padding: 4 }, { name: 'hflip' }];

function randomImage(shape: Shape, seed: number): Uint8Array {
  const rng = makeRng(seed, 'image');
  return Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, () => rng.int(256));
}

describe('pipelines', () => {
  it('output shapes', () => {
    expect(compilePipeline(parse(SEEDS), [40, 40, 3]).outShape).toEqual([32, 32, 3]);
    expect(compilePipeline(parse(CIFAR), [32, 32, 3]).outShape).toEqual([32, 32, 3]);
    expect(pipelineOutputShape([28, 28, 1], parse([{ name: 'randomCrop', size: 24, padding: 0 }]))).toEqual([24, 24, 1]);
    expect(pipelineOutputShape([28, 28, 1], parse([{ name: 'randomCrop' }]))).toEqual([28, 28, 1]); // size null = input size
    expect(pipelineOutputShape([16, 20, 3], parse([{ name: 'resize', size: 12 }, { name: 'randomResizedCrop', size: 8 }]))).toEqual([8, 8, 3]);
    expect(pipelineOutputShape([16, 20, 3], parse([{ name: 'resize', size: [10, 7] }]))).toEqual([10, 7, 3]);
    expect(pipelineOutputShape([16, 20, 3], [])).toEqual([16, 20, 3]);
  });

  it('a step that cannot apply names itself', () => {
    const err = (a: AugmentInput, shape: Shape) => {
      try {
        pipelineOutputShape(shape, parse(a));
      } catch (e) {
        expect(e).toBeInstanceOf(AugmentShapeError);
        return { path: (e as AugmentShapeError).path, message: (e as Error).message };
      }
      throw new Error('no error');
    };
    expect(err([{ name: 'hflip' }, { name: 'randomCrop', size: 40, padding: 2 }], [32, 32, 3])).toEqual({
      path: [1, 'size'],
      message: 'augment.1.size: crop 40x40 is larger than the padded image 36x36',
    });
    expect(err([{ name: 'randomCrop', padding: 8, padMode: 'reflect' }], [8, 8, 1]).path).toEqual([0, 'padding']);
    expect(() => compilePipeline(parse([{ name: 'cutout' }]), [32, 32, 3])).toThrow(/opts\.mean/);
  });

  it('runs, writes the whole output, and checks buffer sizes', () => {
    const p = compilePipeline(parse(SEEDS), [40, 40, 3]);
    // every output byte is written: the result does not depend on what dst held before
    const img = randomImage([40, 40, 3], 1);
    const zeros = new Uint8Array(32 * 32 * 3);
    const ones = new Uint8Array(32 * 32 * 3).fill(255);
    for (let i = 0; i < 20; i++) {
      p.apply(img, zeros.fill(0), sampleRng(1, 0, i));
      p.apply(img, ones.fill(255), sampleRng(1, 0, i));
      expect(zeros).toEqual(ones);
    }
    const dst = zeros;
    expect(() => p.apply(new Uint8Array(10), dst, sampleRng(1, 0, 0))).toThrow(/expected 40x40x3/);
    expect(() => p.apply(new Uint8Array(40 * 40 * 3), new Uint8Array(5), sampleRng(1, 0, 0))).toThrow(/expected 32x32x3/);
    const none = compilePipeline([], [4, 4, 1]);
    const src = randomImage([4, 4, 1], 2);
    const out = new Uint8Array(16);
    none.apply(src, out, sampleRng(1, 0, 0));
    expect(out).toEqual(src);
  });

  it('is a pure function of (seed, epoch, index)', () => {
    const src = randomImage([40, 40, 3], 3);
    const run = (p: ReturnType<typeof compilePipeline>, seed: number, epoch: number, index: number) => {
      const d = new Uint8Array(32 * 32 * 3);
      p.apply(src, d, sampleRng(seed, epoch, index));
      return d;
    };
    const a = compilePipeline(parse(SEEDS), [40, 40, 3]);
    const b = compilePipeline(parse(SEEDS), [40, 40, 3]); // another thread's copy
    const ref = run(a, 11, 2, 5);
    run(a, 11, 2, 6); // other work in between leaves no state behind
    expect(run(a, 11, 2, 5)).toEqual(ref);
    expect(run(b, 11, 2, 5)).toEqual(ref);
    expect(run(a, 11, 2, 6)).not.toEqual(ref);
    expect(run(a, 11, 3, 5)).not.toEqual(ref);
    expect(run(a, 12, 2, 5)).not.toEqual(ref);
  });

  it('per-sample streams look independent across neighbouring indices and epochs', () => {
    // First draws of consecutive samples: uniform mean 1/2 (sd of the mean sqrt(1/12 / n)) and
    // no lag-1 correlation (sd 1/sqrt(n)); 4.5 sd bounds. Reseeding in place gives the same stream.
    const n = 20000;
    const reuse = sampleRng(0, 0, 0);
    for (const [label, draw] of [
      ['index', (i: number) => sampleRng(7, 3, i).next()],
      ['epoch', (i: number) => sampleRng(7, i, 42).next()],
    ] as const) {
      const u = Array.from({ length: n }, (_, i) => draw(i));
      const m = u.reduce((a, b) => a + b, 0) / n;
      expect(Math.abs(m - 0.5), `${label} mean`).toBeLessThanOrEqual(4.5 * Math.sqrt(1 / 12 / n));
      let cov = 0;
      for (let i = 1; i < n; i++) cov += (u[i]! - m) * (u[i - 1]! - m);
      expect(Math.abs(cov / (n - 1) / (1 / 12)), `${label} lag-1 correlation`).toBeLessThanOrEqual(4.5 / Math.sqrt(n));
    }
    const a = sampleRng(7, 3, 9);
    sampleRng(7, 3, 9, reuse);
    for (let k = 0; k < 5; k++) expect(reuse.next()).toBe(a.next());
  });

  it('flips at rate p across samples', () => {
    // a 1x2 image [1, 2] reads [2, 1] when flipped. Over n samples the flip count is binomial
    // (n, p) if the per-sample rngs are independent: sd = sqrt(n p (1 - p)) ~ 46 for n = 10000,
    // p = 0.3; 4.5 sd. Correlated streams for neighbouring indices would show here.
    const p = compilePipeline(parse([{ name: 'hflip', p: 0.3 }]), [1, 2, 1]);
    const src = Uint8Array.from([1, 2]);
    const dst = new Uint8Array(2);
    const n = 10000;
    let flips = 0;
    for (let i = 0; i < n; i++) {
      p.apply(src, dst, sampleRng(4, 1, i));
      if (dst[0] === 2) flips++;
    }
    expect(Math.abs(flips - 0.3 * n)).toBeLessThanOrEqual(4.5 * Math.sqrt(n * 0.3 * 0.7));
  });

  it('cutout fills a clipped square with the mean, which normalises to 0', () => {
    const shape: Shape = [20, 24, 3];
    const mean = [100.4, 149.6, 30.2];
    const p = compilePipeline(parse([{ name: 'cutout', size: 8 }]), [...shape], { mean });
    const src = new Uint8Array(20 * 24 * 3).fill(255); // no channel of the mean rounds to 255
    const dst = new Uint8Array(src.length);
    const n = 1000;
    let inside = 0;
    for (let i = 0; i < n; i++) {
      p.apply(src, dst, sampleRng(9, 0, i));
      let y0 = 99, y1 = -1, x0 = 99, x1 = -1, count = 0;
      for (let y = 0; y < 20; y++)
        for (let x = 0; x < 24; x++) {
          const o = (y * 24 + x) * 3;
          if (dst[o] === 255) continue;
          expect([dst[o], dst[o + 1], dst[o + 2]]).toEqual([100, 150, 30]);
          count++;
          [y0, y1, x0, x1] = [Math.min(y0, y), Math.max(y1, y), Math.min(x0, x), Math.max(x1, x)];
        }
      const [hh, ww] = [y1 - y0 + 1, x1 - x0 + 1];
      expect(count, 'the hole is a rectangle').toBe(hh * ww);
      expect(hh <= 8 && ww <= 8 && hh >= 4 && ww >= 4, `hole ${hh}x${ww}: 8 clipped at most to its half`).toBe(true);
      if (hh === 8 && ww === 8) inside++;
    }
    // centres uniform over the pixels: the square fits whole for centre rows 4..16 (13 of 20)
    // and columns 4..20 (17 of 24), probability 221/480 = 0.46; binomial sd over n = 1000 is
    // 0.016, 4.5 sd either side
    const pIn = (13 * 17) / 480;
    expect(Math.abs(inside / n - pIn)).toBeLessThanOrEqual(4.5 * Math.sqrt((pIn * (1 - pIn)) / n));
    // after normalisation with the training mean the hole is ~0 (rounding the mean: < 0.5 level)
    const set = { images: dst, labels: new Uint8Array(1), n: 1 };
    const { x } = gatherBatch(set, shape, { mean: mean.map((m) => m / 255), std: [0.2, 0.2, 0.2] }, [0], 0, 1);
    const holes = Array.from(x).filter((v) => Math.abs(v) < 1);
    expect(holes.length).toBeGreaterThan(0);
    for (const v of holes) expect(Math.abs(v)).toBeLessThanOrEqual(0.5 / (255 * 0.2));
  });

  it('cutout with p = 0 leaves images alone', () => {
    const p = compilePipeline(parse([{ name: 'cutout', p: 0 }]), [8, 8, 1], { mean: [50] });
    const src = randomImage([8, 8, 1], 5);
    const dst = new Uint8Array(64);
    for (let i = 0; i < 20; i++) {
      p.apply(src, dst, sampleRng(1, 0, i));
      expect(dst).toEqual(src);
    }
  });

  it('greyscale images: every step runs, saturation and hue leave them alone', () => {
    const shape: Shape = [20, 20, 1];
    const src = randomImage(shape, 6);
    const all = parse([
      { name: 'colorJitter', brightness: 0.3, contrast: 0.3, saturation: 0.5, hue: 0.2 },
      { name: 'randomCrop', size: 18, padding: 2, padMode: 'reflect' },
      { name: 'randomResizedCrop', size: 16 },
      { name: 'rotation', degrees: 30 },
      { name: 'hflip' },
      { name: 'cutout', size: 4 },
      { name: 'resize', size: 12 },
    ]);
    const p = compilePipeline(all, [...shape], { mean: [120] });
    expect(p.outShape).toEqual([12, 12, 1]);
    const dst = new Uint8Array(144);
    p.apply(src, dst, sampleRng(1, 0, 0));
    expect(new Set(dst).size).toBeGreaterThan(20);
    const out = new Uint8Array(src.length);
    adjustSaturation(src, shape, 1.8, out);
    expect(out).toEqual(src);
    adjustHue(src, shape, 0.4, out);
    expect(out).toEqual(src);
    // saturation and hue alone: identity on greyscale
    const sh = compilePipeline(parse([{ name: 'colorJitter', saturation: 0.9, hue: 0.5 }]), [...shape]);
    sh.apply(src, out, sampleRng(1, 0, 1));
    expect(out).toEqual(src);
  });
});

describe('augment schema', () => {
  it('fills defaults and describes pipelines', () => {
    expect(augmentSchema.parse(undefined)).toEqual([]);
    expect(parse([{ name: 'randomCrop' }, { name: 'hflip' }, { name: 'randomResizedCrop', size: 32 }, { name: 'colorJitter' }, { name: 'rotation' }, { name: 'cutout' }])).toEqual([
      { name: 'randomCrop', size: null, padding: 4, padMode: 'constant', fill: 0 },
      { name: 'hflip', p: 0.5 },
      { name: 'randomResizedCrop', size: 32, scale: [0.08, 1], ratio: [3 / 4, 4 / 3] },
      { name: 'colorJitter', brightness: 0, contrast: 0, saturation: 0, hue: 0 },
      { name: 'rotation', degrees: 10, fill: 0 },
      { name: 'cutout', size: 16, p: 1 },
    ]);
    expect(describeAugment(parse(CIFAR))).toBe('crop 32 pad 4, flip');
    expect(describeAugment(parse(SEEDS))).toBe('jitter b0.2 c0.2 s0.2, resized crop 32 scale 0.6-1, flip, rotate ±20°');
    expect(describeAugment(parse([{ name: 'cutout', size: 8, p: 0.5 }, { name: 'resize', size: [40, 48] }]))).toBe('cutout 8 p=0.5, resize 40x48');
    expect(describeAugment([])).toBe('none');
  });

  it('refuses bad options', () => {
    const bad = (a: unknown) => augmentSchema.safeParse(a).success;
    expect(bad([{ name: 'hflip', q: 1 }])).toBe(false); // strict
    expect(bad([{ name: 'colorJitter', hue: 0.6 }])).toBe(false);
    expect(bad([{ name: 'randomResizedCrop', size: 32, scale: [0.9, 0.5] }])).toBe(false);
    expect(bad([{ name: 'randomResizedCrop', size: 32, scale: [0.5, 1.2] }])).toBe(false);
    expect(bad([{ name: 'randomResizedCrop' }])).toBe(false); // size is required
    expect(bad([{ name: 'blur' }])).toBe(false);
    expect(bad([{ name: 'hflip', p: 1.5 }])).toBe(false);
    expect(bad([{ name: 'randomCrop', padMode: 'edge' }])).toBe(false);
  });
});
