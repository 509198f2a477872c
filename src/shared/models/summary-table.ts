// A model summary as a text table in the manner of torchinfo: containers (stem, stages, blocks)
// with their totals, and their layers indented under them.
import type { ModelSummary, Shape } from './ops';

export interface SummaryRow {
  depth: number;
  /** The name relative to the enclosing container (`conv1` under `stage1.block0`). */
  label: string;
  name: string;
  type: string;
  outputShape: Shape;
  params: number;
  flops: number;
  container: boolean;
}

const within = (name: string, group: string) => name.startsWith(`${group}.`);

/** Layers in execution order, each container's row just before its first layer. */
export function summaryRows(s: ModelSummary): SummaryRow[] {
  const groups = s.groups.filter((g) => s.layers.some((l) => within(l.name, g.name)));
  const depthOf = (name: string) => groups.filter((g) => within(name, g.name)).length;
  const labelOf = (name: string) => {
    const parent = groups.filter((g) => within(name, g.name)).sort((a, b) => b.name.length - a.name.length)[0];
    return parent ? name.slice(parent.name.length + 1) : name;
  };
  const rows: SummaryRow[] = [];
  const opened = new Set<string>();
  for (const l of s.layers) {
    const enclosing = groups.filter((g) => within(l.name, g.name) && !opened.has(g.name)).sort((a, b) => a.name.length - b.name.length);
    for (const g of enclosing) {
      opened.add(g.name);
      const inside = s.layers.filter((x) => within(x.name, g.name));
      rows.push({
        depth: depthOf(g.name),
        label: labelOf(g.name),
        name: g.name,
        type: g.type,
        outputShape: g.outputShape,
        params: inside.reduce((a, x) => a + x.params, 0),
        flops: inside.reduce((a, x) => a + x.flops, 0),
        container: true,
      });
    }
    rows.push({ depth: depthOf(l.name), label: labelOf(l.name), name: l.name, type: l.type, outputShape: l.outputShape, params: l.params, flops: l.flops, container: false });
  }
  return rows;
}

const num = (n: number) => n.toLocaleString('en-US');

export function formatSummaryTable(title: string, s: ModelSummary): string {
  const rows = summaryRows(s);
  const cells = rows.map((r) => [
    `${'  '.repeat(r.depth)}${r.label} (${r.type})`,
    `[${r.outputShape.join(', ')}]`,
    r.params ? num(r.params) : r.container ? '0' : '--',
    r.flops ? num(r.flops) : '--',
  ]);
  const head = ['Layer (type)', 'Output Shape', 'Param #', 'Mult-Adds'];
  const widths = head.map((h, i) => Math.max(h.length, title.length * +(i === 0), ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('   ');
  const rule = '='.repeat(widths.reduce((a, w) => a + w, 0) + 3 * (widths.length - 1));
  return [rule, line(head), rule, line([title, `[${s.outputShape.join(', ')}]`, num(s.params), num(s.flops)]), ...cells.map(line), rule].join('\n');
}
