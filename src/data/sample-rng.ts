// The per-sample generator of augmentation: a counter-seeded sfc32 whose stream is a pure
// function of (run seed, epoch, position in the epoch).
import type { Rng } from '../shared/rng';

// One small generator per sample: seeding seedrandom's alea from a string costs several
// microseconds, as much as augmenting a CIFAR image, so samples get their own counter-seeded
// generator instead: Chris Doty-Humphrey's sfc32, its 128-bit state set from (seed, epoch, index)
// each scrambled by murmur3's 32-bit finaliser (a bijection: distinct triples give distinct
// states, so distinct streams), then 15 rounds discarded (the author's advice for seeding).
const fmix32 = (x: number) => {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) | 0;
};

export class SampleRng implements Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private spare = NaN;

  constructor(seed: number, epoch: number, index: number) {
    this.reseed(seed, epoch, index);
  }

  /** Start the stream of another sample (no allocation). */
  reseed(seed: number, epoch: number, index: number): this {
    this.a = fmix32(seed ^ 0x243f6a88);
    this.b = fmix32(epoch ^ 0x6a09e667);
    this.c = fmix32(index ^ 0x3c6ef372);
    this.d = 1;
    this.spare = NaN;
    for (let i = 0; i < 15; i++) this.u32();
    return this;
  }

  private u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const v = this.next();
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** The rng of one sample: a pure function of (run seed, epoch, position in the epoch), so that
 * worker threads, resumed runs and the arms of a matched pair augment identically. Pass `reuse`
 * to reseed an existing one instead of allocating. */
export function sampleRng(seed: number, epoch: number, index: number, reuse?: SampleRng): SampleRng {
  return reuse ? reuse.reseed(seed, epoch, index) : new SampleRng(seed, epoch, index);
}
