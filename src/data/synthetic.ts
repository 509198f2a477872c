// A built-in dataset that needs no files: 10 classes of 32x32 RGB images of noisy sine gratings.
// The class fixes the grating's orientation (5 directions, 36 degrees apart) and frequency (coarse
// or fine); colour, phase, amplitude, and small jitters of angle and frequency are random per image,
// and every pixel gets Gaussian noise, so a model has to learn the spatial pattern. A small CNN
// reaches > 90% in a couple of epochs; an MLP has to work harder. Deterministic from the seed.
import { makeRng } from '../shared/rng';
import { sharedBytes, type Dataset, type ImageSet } from './types';

export const SYNTHETIC_SIZE = 32;
export const SYNTHETIC_TRAIN = 10000;
export const SYNTHETIC_TEST = 2000;
const CLASSES = 10;
const FREQS = [0.09, 0.2]; // cycles per pixel
export const SYNTHETIC_CLASSES = Array.from({ length: CLASSES }, (_, c) => `${(c % 5) * 36}° ${c < 5 ? 'coarse' : 'fine'}`);

function generate(n: number, seed: number, stream: string): ImageSet {
  const rng = makeRng(seed, stream);
  const S = SYNTHETIC_SIZE;
  const images = sharedBytes(n * S * S * 3);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(CLASSES);
    labels[i] = c;
    const theta = (((c % 5) * 36 + rng.uniform(-7, 7)) * Math.PI) / 180;
    const freq = FREQS[c < 5 ? 0 : 1]! * rng.uniform(0.85, 1.15);
    const phase = rng.uniform(0, 2 * Math.PI);
    // A random base colour with the grating added in luminance, strong enough to stay visible
    // under the noise whatever the colour: colour carries no class information, the pattern does.
    const amp = rng.uniform(35, 80);
    const kx = 2 * Math.PI * freq * Math.cos(theta);
    const ky = 2 * Math.PI * freq * Math.sin(theta);
    const base = [rng.uniform(70, 185), rng.uniform(70, 185), rng.uniform(70, 185)];
    let o = i * S * S * 3;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const s = amp * Math.sin(kx * x + ky * y + phase);
        for (let ch = 0; ch < 3; ch++) {
          const v = base[ch]! + s + 30 * rng.normal();
          images[o++] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
      }
    }
  }
  return { images, labels, n };
}

export function loadSynthetic(seed: number): Dataset {
  return {
    name: 'synthetic',
    shape: [SYNTHETIC_SIZE, SYNTHETIC_SIZE, 3],
    numClasses: CLASSES,
    classNames: SYNTHETIC_CLASSES,
    train: generate(SYNTHETIC_TRAIN, seed, 'synthetic-train'),
    test: generate(SYNTHETIC_TEST, seed, 'synthetic-test'),
    source: `generated (seed ${seed})`,
  };
}
