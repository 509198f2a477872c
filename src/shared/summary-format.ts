// The per-arm comparison as a table: rows for CSV, and Markdown and LaTeX versions for papers and
// READMEs (mean ± SD, the paired difference with its 95% CI, significance marks from the paired
// t-test: * p < 0.05, ** p < 0.01, *** p < 0.001).
import type { ArmSummary, ComparisonSummary } from './experiments';

const isShare = (metric: string) => /acc|top5/.test(metric);

/** A value of the metric: accuracies in percent (2 decimals), the rest with 4 significant digits. */
export function formatMetric(metric: string, v: number | null, signed = false): string {
  if (v === null || !Number.isFinite(v)) return '—';
  const s = isShare(metric) ? (100 * v).toFixed(2) : Number(v.toPrecision(4)).toString();
  return signed && v > 0 ? `+${s}` : s;
}

export function formatP(p: number | null): string {
  if (p === null) return '—';
  if (p < 0.001) return '<0.001';
  return p.toFixed(p < 0.01 ? 4 : 3);
}

export function stars(p: number | null): string {
  if (p === null) return '';
  return p < 0.001 ? '***' : p < 0.01 ? '**' : p < 0.05 ? '*' : '';
}

const unit = (metric: string) => (isShare(metric) ? ' (%)' : '');

export const SUMMARY_CSV_COLUMNS = [
  'arm', 'role', 'metric', 'rule', 'n', 'mean', 'std', 'n_pairs', 'delta', 'delta_sd', 'ci95_lo', 'ci95_hi',
  'p_ttest', 'p_wilcoxon', 'better_in', 'worse_in', 'tied_in', 'mean_wall_s', 'cost_ratio', 'notes',
] as const;

/** One CSV row per arm, raw numbers (fractions, not percent); empty where undefined. */
export function summaryCsvRows(s: ComparisonSummary): (string | number)[][] {
  const v = (x: number | null | undefined) => (x === null || x === undefined ? '' : x);
  return s.arms.map((a) => [
    a.name, a.role, s.metric, s.rule, a.n, v(a.mean), v(a.std), v(a.paired?.n), v(a.paired?.delta), v(a.paired?.sdDelta),
    v(a.paired?.ci95?.[0]), v(a.paired?.ci95?.[1]), v(a.paired?.pTTest), v(a.paired?.pWilcoxon), v(a.paired?.betterIn),
    v(a.paired?.worseIn), v(a.paired?.tiedIn), v(a.meanWallS), v(a.costRatio), notes(a).join('; '),
  ]);
}

function notes(a: ArmSummary): string[] {
  return [a.paired?.tTestNote ? `t-test: ${a.paired.tTestNote}` : '', a.paired?.wilcoxonNote ? `Wilcoxon: ${a.paired.wilcoxonNote}` : ''].filter(Boolean);
}

interface Cells {
  arm: string;
  value: string;
  delta: string;
  ci: string;
  pt: string;
  pw: string;
  better: string;
  cost: string;
}

function cells(s: ComparisonSummary, a: ArmSummary, pm: string): Cells {
  const m = s.metric;
  const p = a.paired;
  return {
    arm: a.name,
    value: a.mean === null ? '—' : `${formatMetric(m, a.mean)}${a.std === null ? '' : ` ${pm} ${formatMetric(m, a.std)}`}`,
    delta: p ? `${formatMetric(m, p.delta, true)}${stars(p.pTTest)}` : '',
    ci: p?.ci95 ? `[${formatMetric(m, p.ci95[0], true)}, ${formatMetric(m, p.ci95[1], true)}]` : p ? '—' : '',
    pt: p ? formatP(p.pTTest) : '',
    pw: p ? formatP(p.pWilcoxon) : '',
    better: p ? `${p.betterIn}/${p.n}` : '',
    cost: a.costRatio === null ? '—' : `${a.costRatio.toFixed(2)}x`,
  };
}

function footnote(s: ComparisonSummary): string {
  const rule = s.rule === 'best-val' ? `at the epoch with the best val/acc${s.metric.startsWith('test/') ? ' (best-val checkpoint)' : ''}` : 'at the last epoch';
  const ns = [...new Set(s.arms.map((a) => a.n))];
  return `${s.metric} ${rule}; mean ± SD over seeds (n = ${ns.join('/')}); Δ: paired difference to ${s.baseline} with its 95% CI (t); p: paired t-test and Wilcoxon signed-rank (two-sided); * p < 0.05, ** p < 0.01, *** p < 0.001 (t-test); cost: training wall time relative to ${s.baseline}.`;
}

export function summaryMarkdown(s: ComparisonSummary): string {
  const head = ['Arm', `${s.metric}${unit(s.metric)}`, `Δ vs ${s.baseline}`, '95% CI', 'p (t)', 'p (Wilcoxon)', 'better in', 'cost'];
  const esc = (x: string) => x.replace(/\|/g, '\\|');
  const lines = [`**${esc(s.title)}**`, '', `| ${head.map(esc).join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const a of s.arms) {
    const c = cells(s, a, '±');
    lines.push(`| ${[c.arm, c.value, c.delta, c.ci, c.pt, c.pw, c.better, c.cost].map(esc).join(' | ')} |`);
  }
  const n = s.arms.flatMap((a) => notes(a).map((x) => `${a.name}: ${x}`));
  lines.push('', footnote(s), ...(n.length ? ['', ...n.map((x) => `- ${esc(x)}`)] : []));
  return `${lines.join('\n')}\n`;
}

function tex(x: string): string {
  return x.replace(/\\/g, '\\textbackslash{}').replace(/([&%$#_{}])/g, '\\$1').replace(/~/g, '\\textasciitilde{}').replace(/\^/g, '\\textasciicircum{}');
}

/** Prose for a caption: escaped, with the symbols pdflatex lacks as math. */
function texText(x: string): string {
  return tex(x).replace(/±/g, '$\\pm$').replace(/Δ/g, '$\\Delta$').replace(/</g, '$<$');
}

/** A booktabs table (needs \usepackage{booktabs}); significance stars as superscripts. */
export function summaryLatex(s: ComparisonSummary): string {
  const row = (a: ArmSummary) => {
    const c = cells(s, a, '$\\pm$');
    const st = stars(a.paired?.pTTest ?? null);
    const delta = a.paired ? `${formatMetric(s.metric, a.paired.delta, true)}${st ? `$^{${st}}$` : ''}` : '';
    return `${texText(c.arm)} & ${c.value} & ${delta} & ${c.ci} & ${c.pt.replace('<', '$<$')} & ${c.pw.replace('<', '$<$')} & ${c.better} & ${c.cost.replace('x', '$\\times$')} \\\\`;
  };
  return [
    '% Generated by Trickbench. Needs \\usepackage{booktabs}.',
    '\\begin{table}[t]',
    '\\centering',
    '\\begin{tabular}{lrrrrrrr}',
    '\\toprule',
    `Arm & ${tex(s.metric)}${unit(s.metric).replace('%', '\\%')} & $\\Delta$ vs ${tex(s.baseline)} & 95\\% CI & $p$ (t) & $p$ (W) & better & cost \\\\`,
    '\\midrule',
    ...s.arms.map(row),
    '\\bottomrule',
    '\\end{tabular}',
    `\\caption{${tex(s.title)}: ${texText(footnote(s))}}`,
    '\\end{table}',
    '',
  ].join('\n');
}
