// Small text helpers of the trick labels (labels.ts reads them too).

/** A number as typed: no float noise (0.30000000000000004 is 0.3). */
export function num(v: number): string {
  return String(Number(v.toPrecision(6)));
}

export const plural = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
