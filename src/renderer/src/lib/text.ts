// Short forms of long labels for narrow places (table headers and cells).

/** At most `max` characters, cut in the middle: run names tend to differ at the end (arm, seed,
 * "number 5"), so the end is kept as well as the start. */
export function shortenMiddle(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max || max < 3) return s;
  const keep = max - 1;
  const head = Math.ceil(keep / 2);
  return `${chars.slice(0, head).join('').trimEnd()}…${chars.slice(chars.length - (keep - head)).join('').trimStart()}`;
}
