// The per-arm comparison as a table: rows for CSV, and Markdown and LaTeX versions for papers and
// READMEs (mean ± SD, the paired difference with its 95% CI, significance marks from the paired
// test (adjusted for the family): * p < 0.05, ** p < 0.01, *** p < 0.001), the verdict first, and
// the methods paragraph).
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

/** Significance marks against the analysis' alpha: * p < α, ** p < α/5, *** p < α/50 (at the
 * usual α = 0.05: 0.05, 0.01, 0.001), so a star never disagrees with the verdict's α. */
export function stars(p: number | null, alpha = 0.05): string {
  if (p === null) return '';
  return p < alpha / 50 ? '***' : p < alpha / 5 ? '**' : p < alpha ? '*' : '';
}

/** "* p < 0.05, ** p < 0.01, *** p < 0.001" for the analysis' alpha. */
export function starLegend(alpha: number): string {
  const f = (x: number) => String(+x.toPrecision(3));
  return `* p < ${f(alpha)}, ** p < ${f(alpha / 5)}, *** p < ${f(alpha / 50)}`;
}

/** The confidence sequence's level for confirmatory arms: 1 - alpha/k (Bonferroni over the family). */
export function csLevelText(a: { alpha: number; family: readonly string[] }): string {
  const k = Math.max(1, a.family.length);
  const pct = +(100 * (1 - a.alpha / k)).toPrecision(4);
  return k > 1 ? `${pct}% (1 − α/${k}) anytime-valid` : `${pct}% anytime-valid`;
}

/** How many display units one raw unit is: accuracies show in points (percent). */
export function displayScale(metric: string): number {
  return isShare(metric) ? 100 : 1;
}

const unit = (metric: string) => (isShare(metric) ? ' (%)' : '');

export const SUMMARY_CSV_COLUMNS = [
  'arm', 'role', 'metric', 'rule', 'verdict', 'confirmatory', 'reference', 'n', 'completed', 'planned', 'mean', 'std', 'n_pairs', 'exact_counts',
  'delta', 'delta_sd', 'ci95_lo', 'ci95_hi', 'bootstrap_lo', 'bootstrap_hi', 'bootstrap_method', 'cs_lo', 'cs_hi', 'test', 'p_ttest', 'p_wilcoxon',
  'p_adjusted', 'correction', 'p_tost', 'margin', 'better_in', 'worse_in', 'tied_in', 'p_sign', 'p_better_new_seed', 'p_better_lo', 'p_better_hi',
  'test_sample_se', 'ci95_with_test_lo', 'ci95_with_test_hi', 'mde80', 'seeds_needed', 'mean_wall_s', 'cost_ratio', 'cost_ratio_min', 'cost_ratio_max', 'cpu_cost_ratio', 'notes', 'methods',
] as const;

/** One CSV row per arm, raw numbers (fractions, not percent); empty where undefined. The methods
 * paragraph is in the first row's last column (a CSV has no place for prose outside a cell). */
export function summaryCsvRows(s: ComparisonSummary): (string | number)[][] {
  const v = (x: number | null | undefined) => (x === null || x === undefined ? '' : x);
  return s.arms.map((a, i) => {
    const p = a.paired;
    return [
      a.name, a.role, s.metric, s.rule, a.verdict?.text ?? 'reference', a.paired ? (a.confirmatory ? 'yes' : 'no') : '', p?.reference ?? '', a.n,
      a.completion.completed, a.completion.total, v(a.mean), v(a.std), v(p?.n), p ? (p.exact ? 'yes' : 'no') : '',
      v(p?.delta), v(p?.sdDelta), v(p?.ci95?.[0]), v(p?.ci95?.[1]), v(p?.bootstrap?.ci[0]), v(p?.bootstrap?.ci[1]), p?.bootstrap?.method ?? '',
      v(finite(p?.cs?.[0])), v(finite(p?.cs?.[1])), s.analysis.test, v(p?.pTTest), v(p?.pWilcoxon), v(p?.pAdjusted), s.analysis.correction,
      v(p?.tost?.p), v(s.analysis.margin), v(p?.betterIn), v(p?.worseIn), v(p?.tiedIn), v(p?.signP), v(p?.pBetter?.estimate),
      v(p?.pBetter?.ci[0]), v(p?.pBetter?.ci[1]), v(p?.testSample?.se), v(p?.testSample?.ci95[0]), v(p?.testSample?.ci95[1]), v(p?.mde80), v(a.verdict?.seedsNeeded), v(a.meanWallS), v(a.cost.wall?.ratio),
      v(a.cost.wall?.min), v(a.cost.wall?.max), v(a.cost.cpu?.ratio), notes(s, a).join('; '), i === 0 ? s.methods : '',
    ];
  });
}

/** An infinite confidence-sequence end (too few seeds) is not a number a CSV cell can hold. */
function finite(x: number | undefined): number | null {
  return x === undefined || !Number.isFinite(x) ? null : x;
}

function notes(s: ComparisonSummary, a: ArmSummary): string[] {
  const p = a.paired;
  return [
    a.completion.completed < a.completion.total ? a.completion.text : '',
    a.failsWhereReferenceDoesNot.length ? `fails where ${p?.reference ?? 'the reference'} does not: seed ${a.failsWhereReferenceDoesNot.join(', ')}` : '',
    p?.tTestNote && !p.identical ? `t-test: ${p.tTestNote}` : '',
    p?.wilcoxonNote && !p.identical ? `Wilcoxon: ${p.wilcoxonNote}` : '',
    ...a.cost.loadWarnings.map((w) => `cost: ${w}`),
    ...s.pairing.filter((x) => x.arm === a.name).map((x) => `seed ${x.seed} not a matched pair: ${x.problem}`),
  ].filter(Boolean);
}

/** "[+0.12, +0.80]"; a confidence sequence too wide to bound is "(unbounded)". */
export function formatInterval(metric: string, ci: readonly [number, number] | null | undefined): string {
  if (!ci) return '—';
  if (!Number.isFinite(ci[0]) || !Number.isFinite(ci[1])) return '(unbounded)';
  return `[${formatMetric(metric, ci[0], true)}, ${formatMetric(metric, ci[1], true)}]`;
}

/** The cost cell: the geometric mean of per-seed ratios and their range. */
export function formatCost(a: ArmSummary): string {
  const w = a.cost.wall;
  if (!w) return '—';
  return w.n > 1 ? `${w.ratio.toFixed(2)}x (${w.min.toFixed(2)}–${w.max.toFixed(2)})` : `${w.ratio.toFixed(2)}x`;
}

interface Cells {
  arm: string;
  verdict: string;
  value: string;
  delta: string;
  ci: string;
  boot: string;
  cs: string;
  p: string;
  better: string;
  done: string;
  cost: string;
}

/** The p shown for the plan's test: adjusted when the arm is in the family. */
/** The p a table shows for an arm: the planned test's, adjusted for confirmatory arms; none for
 * identical differences or the reference. */
export function shownP(a: ArmSummary, s: Pick<ComparisonSummary, 'analysis'>): number | null {
  const p = a.paired;
  if (!p || p.identical) return null;
  if (a.confirmatory) return p.pAdjusted;
  return s.analysis.test === 't' ? p.pTTest : p.pWilcoxon;
}

function cells(s: ComparisonSummary, a: ArmSummary, pm: string): Cells {
  const m = s.metric;
  const p = a.paired;
  const pv = shownP(a, s);
  return {
    arm: a.name,
    verdict: a.verdict?.text ?? 'reference',
    value: a.mean === null ? '—' : `${formatMetric(m, a.mean)}${a.std === null ? '' : ` ${pm} ${formatMetric(m, a.std)}`}`,
    delta: p ? `${formatMetric(m, p.delta, true)}${s.analysis.fixedNInvalid ? '' : stars(pv, s.analysis.alpha)}` : '',
    ci: p ? formatInterval(m, p.ci95) : '',
    boot: p ? formatInterval(m, p.bootstrap?.ci) : '',
    cs: p ? formatInterval(m, p.cs) : '',
    p: p ? formatP(pv) : '',
    better: p ? `${p.betterIn}/${p.n}${p.signP !== null ? ` (p=${formatP(p.signP)})` : ''}` : '',
    done: `${a.completion.completed}/${a.completion.total}`,
    cost: formatCost(a),
  };
}

const REF = (s: ComparisonSummary) => (s.analysis.reference === 'previous' ? 'previous arm' : s.analysis.reference === 'baseline' ? s.baseline : s.analysis.reference);

function footnote(s: ComparisonSummary): string {
  const rule = s.rule === 'best-val' ? `at the epoch with the best val/acc${s.metric.startsWith('test/') ? ' (best-val checkpoint)' : ''}` : 'at the last epoch';
  const ns = [...new Set(s.arms.map((a) => a.n))];
  const a = s.analysis;
  const pText = `p: ${a.test === 't' ? 'paired t-test' : 'Wilcoxon signed-rank'} (two-sided), ${a.correction === 'none' ? 'unadjusted' : `${a.correction}-adjusted over ${a.family.length} comparison${a.family.length === 1 ? '' : 's'}`}`;
  const stars_ = a.fixedNInvalid ? 'no stars: fixed-n p-values are not valid here' : starLegend(a.alpha);
  return `${s.metric} ${rule}; mean ± SD over seeds (n = ${ns.join('/')}); Δ: paired difference to ${REF(s)} with its 95% t-interval, BCa bootstrap interval and ${csLevelText(a)} confidence sequence (CS); ${pText}; ${stars_}; better: seeds won, sign-test p; cost: training wall time relative to the reference, geometric mean of per-seed ratios (range).${a.exploratory.length ? ` Exploratory: ${a.exploratory.join('; ')}.` : ''}${a.fixedNInvalid ? ` ${a.fixedNInvalid}.` : ''}`;
}

export function summaryMarkdown(s: ComparisonSummary): string {
  const head = ['Arm', 'Verdict', `${s.metric}${unit(s.metric)}`, `Δ vs ${REF(s)}`, '95% CI (t)', 'bootstrap (BCa)', 'CS', 'p', 'better', 'completed', 'cost'];
  const esc = (x: string) => x.replace(/\|/g, '\\|');
  const lines = [`**${esc(s.title)}**`, '', `| ${head.map(esc).join(' | ')} |`, `|${head.map((_, i) => (i <= 1 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const a of s.arms) {
    const c = cells(s, a, '±');
    lines.push(`| ${[c.arm, c.verdict, c.value, c.delta, c.ci, c.boot, c.cs, c.p, c.better, c.done, c.cost].map(esc).join(' | ')} |`);
  }
  const n = s.arms.flatMap((a) => notes(s, a).map((x) => `${a.name}: ${x}`));
  lines.push('', footnote(s), ...(n.length ? ['', ...n.map((x) => `- ${esc(x)}`)] : []), '', `*Methods.* ${s.methods}`);
  return `${lines.join('\n')}\n`;
}

function tex(x: string): string {
  return x.replace(/\\/g, '\\textbackslash{}').replace(/([&%$#_{}])/g, '\\$1').replace(/~/g, '\\textasciitilde{}').replace(/\^/g, '\\textasciicircum{}');
}

/** Prose for a caption: escaped, with the symbols pdflatex lacks as math. */
function texText(x: string): string {
  return tex(x)
    .replace(/±/g, '$\\pm$')
    .replace(/Δ/g, '$\\Delta$')
    .replace(/α/g, '$\\alpha$')
    .replace(/–/g, '--')
    .replace(/—/g, '---')
    .replace(/</g, '$<$')
    .replace(/≥/g, '$\\geq$');
}

/** A booktabs table (needs \usepackage{booktabs}); significance stars as superscripts; the
 * methods paragraph follows the table as a comment-free paragraph. */
export function summaryLatex(s: ComparisonSummary): string {
  const row = (a: ArmSummary) => {
    const c = cells(s, a, '$\\pm$');
    const st = s.analysis.fixedNInvalid ? '' : stars(shownP(a, s), s.analysis.alpha);
    const delta = a.paired ? `${formatMetric(s.metric, a.paired.delta, true)}${st ? `$^{${st}}$` : ''}` : '';
    return `${texText(c.arm)} & ${texText(c.verdict)} & ${c.value} & ${delta} & ${c.ci} & ${c.cs} & ${c.p.replace('<', '$<$')} & ${texText(c.better)} & ${c.done} & ${texText(c.cost).replace(/x/g, '$\\times$')} \\\\`;
  };
  return [
    '% Generated by Trickbench. Needs \\usepackage{booktabs}.',
    '\\begin{table}[t]',
    '\\centering',
    '\\begin{tabular}{llrrrrrrrr}',
    '\\toprule',
    `Arm & Verdict & ${tex(s.metric)}${unit(s.metric).replace('%', '\\%')} & $\\Delta$ vs ${tex(REF(s))} & 95\\% CI & CS & $p$ & better & done & cost \\\\`,
    '\\midrule',
    ...s.arms.map(row),
    '\\bottomrule',
    '\\end{tabular}',
    `\\caption{${tex(s.title)}: ${texText(footnote(s))}}`,
    '\\end{table}',
    '',
    `\\paragraph{Methods.} ${texText(s.methods)}`,
    '',
  ].join('\n');
}
