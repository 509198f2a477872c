// What both importers share: key renames, arm/seed from a name by a pattern, client keys.
import crypto from 'node:crypto';
import { metricSpec } from '../shared/metrics';
import { ImportError, type ImportedRun } from './types';

/** `--key-map old=new` flags as a map (a key named twice is refused). */
export function parseKeyMap(pairs: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0 || i === p.length - 1) throw new ImportError(`--key-map: "${p}" is not old=new`);
    const from = p.slice(0, i);
    if (map.has(from)) throw new ImportError(`--key-map: ${from} is mapped twice`);
    map.set(from, p.slice(i + 1));
  }
  return map;
}

/** A `--pattern`: a regular expression with named groups `arm`, `seed` and optionally
 * `experiment`; other named groups become params. */
export function compilePattern(source: string): RegExp {
  let re: RegExp;
  try {
    re = new RegExp(source);
  } catch (e) {
    throw new ImportError(`--pattern: not a regular expression: ${(e as Error).message}`);
  }
  const groups = new RegExp(`${source}|`).exec('')?.groups ?? {};
  if (!('arm' in groups) && !('seed' in groups) && !('experiment' in groups)) {
    throw new ImportError('--pattern: it has none of the named groups (?<arm>...), (?<seed>...), (?<experiment>...)');
  }
  return re;
}

export interface RunPlacement {
  experiment?: string;
  arm?: string;
  seed: number;
  /** the pattern's other named groups */
  params: Record<string, string>;
}

export interface PlacementOptions {
  pattern?: RegExp;
  experiment?: string;
  baseline?: string;
  /** seed of a run whose name gives none (default 0) */
  seed?: number;
}

/** Where a run goes, from its name (a folder path, a CSV's run column) and the flags; null when the
 * pattern does not match (the caller decides whether that is an error). Throws on a seed that is
 * not an integer and on an arm without an experiment. */
export function placeRun(name: string, o: PlacementOptions): RunPlacement | null {
  const params: Record<string, string> = {};
  let arm: string | undefined;
  let seedText: string | undefined;
  let experiment = o.experiment;
  if (o.pattern) {
    const m = o.pattern.exec(name);
    if (!m) return null;
    for (const [k, v] of Object.entries(m.groups ?? {})) {
      if (v === undefined) continue;
      if (k === 'arm') arm = v;
      else if (k === 'seed') seedText = v;
      else if (k === 'experiment') experiment = experiment ?? v;
      else params[k] = v;
    }
  }
  let seed = o.seed ?? 0;
  if (seedText !== undefined) {
    if (!/^[+-]?\d{1,15}$/.test(seedText)) throw new ImportError(`${name}: the pattern's seed "${seedText}" is not an integer`);
    seed = Number(seedText);
  }
  if (experiment !== undefined) {
    if (arm === undefined || seedText === undefined) {
      throw new ImportError(`${name}: a run of experiment '${experiment}' needs an arm and a seed from --pattern (named groups arm and seed)`);
    }
  } else if (arm !== undefined) {
    throw new ImportError(`${name}: the pattern gives arm '${arm}' but no experiment: give --experiment NAME or an (?<experiment>...) group`);
  }
  return { ...(experiment !== undefined ? { experiment, arm } : {}), seed, params };
}

/** A stable client key: the same source imported again lands on the same run. */
export function clientKey(kind: string, ...parts: string[]): string {
  return `${kind}:${crypto.createHash('sha256').update(parts.join('\0')).digest('hex')}`;
}

/** A run name the store accepts (1-200 characters, no control characters, no outer spaces). */
export function runName(raw: string, fallback: string): string {
  // eslint-disable-next-line no-control-regex
  let n = raw.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (!n) n = fallback;
  return n.length > 200 ? `…${n.slice(-199)}` : n;
}

/** Keys of the runs that no spec says the direction of (metrics.ts): a comparison on them reads a
 * positive difference as a gain. */
export function keysWithoutDirection(runs: readonly ImportedRun[]): string[] {
  const keys = new Set<string>();
  for (const r of runs) {
    for (const p of r.metrics) keys.add(p.key);
    for (const k of Object.keys(r.summary)) keys.add(k);
  }
  return [...keys].filter((k) => metricSpec(k).direction === 'none').sort();
}

/** A metric key made acceptable to the store: renamed by the key map; null with a reason when the
 * store would refuse it. */
export function mapKey(key: string, keyMap: ReadonlyMap<string, string>): string | null {
  const k = keyMap.get(key) ?? key;
  // eslint-disable-next-line no-control-regex
  if (!k || k.length > 200 || /[\u0000-\u001f\u007f]/.test(k) || k.trim() !== k) return null;
  return k;
}
