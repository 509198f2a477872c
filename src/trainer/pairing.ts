// Fingerprints of what makes two runs a matched pair, recorded as the `pairing` event at a run's
// start: a hash of every parameter's initial values (after init.fromRun) and of the data the run
// sees (its train/val/test split and the image order of its first epoch, which the loop draws from
// the same stream for every epoch). Arms of one seed must agree on every parameter they share and
// on the data; the comparison view checks it, so a broken pairing is reported, not assumed.
import crypto from 'node:crypto';
import type { Model } from './models/model';
import type { Splits } from '../data/types';
import { epochOrder } from './loop';
import { readAll } from './tf/read';

import type { PairingPayload } from '../shared/experiments';

const hex = (h: crypto.Hash) => h.digest('hex').slice(0, 16);

export async function pairingFingerprint(model: Model, splits: Splits, seed: number): Promise<PairingPayload> {
  const weights: Record<string, string> = {};
  const values = await readAll(model.params.map((p) => p.variable));
  for (const [i, p] of model.params.entries()) {
    const v = values[i]!;
    weights[p.name] = `${p.variable.shape.join('x')}:${hex(crypto.createHash('sha1').update(Buffer.from(v.buffer, v.byteOffset, v.byteLength)))}`;
  }
  const d = crypto.createHash('sha1');
  d.update(`${splits.dataset.name}|${splits.dataset.source}|`);
  for (const a of [splits.train, splits.val, splits.test, epochOrder(seed, 0, splits.train)]) d.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).update('|');
  return { weights, data: hex(d) };
}
