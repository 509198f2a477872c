// The per-arm comparison as a table: rows for CSV, and Markdown and LaTeX versions for papers and
// READMEs (mean ± SD, the paired difference with its 95% CI, significance marks from the paired
// test (adjusted for the family): * p < 0.05, ** p < 0.01, *** p < 0.001), the verdict first, and
// the methods paragraph).
import type { ArmSummary, ComparisonSummary } from './experiments';
import { displayScale, isFraction } from './metrics';

export { displayScale };

/** A value of the metric: accuracies in percent (2 decimals), the rest with 4 significant digits,
 * or with `decimals` (in display units) where a table column fixes them. */
export function formatMetric(metric: string, v: number | null, signed = false, decimals?: number): string {
  if (v === null || !Number.isFinite(v)) return '—';
  const d = v * displayScale(metric);
  let s = decimals !== undefined ? d.toFixed(decimals) : isFraction(metric) ? d.toFixed(2) : Number(v.toPrecision(4)).toString();
  if (/^-0(\.0*)?$/.test(s)) s = s.slice(1); // a value that rounds to zero has no sign
  return signed && v > 0 && !/^0(\.0*)?$/.test(s) ? `+${s}` : s;
}

/** Decimals shared by every cell of a table column (values in raw units): accuracies 2 (in
 * percent, so 0.01 points); other metrics as many as the largest magnitude needs for 3 significant
 * digits, or the smallest non-zero one (an SD, a small difference) for 2, whichever is more, at
 * most 6. */
export function columnDecimals(metric: string, values: Iterable<number | null | undefined>): number {
  if (isFraction(metric)) return 2;
  let hi = 0;
  let lo = Infinity;
  for (const v of values) {
    if (v === null || v === undefined || !Number.isFinite(v) || v === 0) continue;
    const a = Math.abs(v * displayScale(metric));
    hi = Math.max(hi, a);
    lo = Math.min(lo, a);
  }
  if (!hi) return 2;
  const need = (a: number, sig: number) => sig - 1 - Math.floor(Math.log10(a) + 1e-12);
  return Math.min(6, Math.max(0, need(hi, 3), need(lo, 2)));
}

export interface TableDecimals {
  /** Mean ± SD column. */
  value: number;
  /** Differences: Δ and its intervals. */
  delta: number;
}

/** The decimals of a comparison table's columns, from the numbers in them. */
export function tableDecimals(s: Pick<ComparisonSummary, 'metric' | 'arms'>): TableDecimals {
  const value = s.arms.flatMap((a) => [a.mean, a.std]);
  const delta = s.arms.flatMap((a) => {
    const p = a.paired;
    return p ? [p.delta, p.sdDelta, ...(p.ci95 ?? []), ...(p.cs ?? []), ...(p.bootstrap?.ci ?? []), ...(p.testSample?.ci95 ?? [])] : [];
  });
  return { value: columnDecimals(s.metric, value), delta: columnDecimals(s.metric, delta) };
}

/** The unit of a metric's values ("%" for accuracies) and of differences of it ("pp": percentage
 * points); losses and other metrics have none. */
export function metricUnits(metric: string): { value: string; delta: string } {
  return isFraction(metric) ? { value: '%', delta: 'pp' } : { value: '', delta: '' };
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

const unit = (metric: string) => (isFraction(metric) ? ' (%)' : '');

export const SUMMARY_CSV_COLUMNS = [
  'arm', 'role', 'metric', 'unit', 'rule', 'verdict', 'confirmatory', 'reference', 'n', 'completed', 'planned', 'mean', 'std', 'n_pairs', 'exact_counts',
  'delta', 'delta_sd', 'ci95_lo', 'ci95_hi', 'bootstrap_lo', 'bootstrap_hi', 'bootstrap_method', 'cs_lo', 'cs_hi', 'test', 'p_ttest', 'p_wilcoxon',
  'p_adjusted', 'correction', 'p_tost', 'margin', 'better_in', 'worse_in', 'tied_in', 'p_sign', 'p_better_new_seed', 'p_better_lo', 'p_better_hi',
  'test_sample_se', 'ci95_with_test_lo', 'ci95_with_test_hi', 'mde80', 'seeds_needed', 'mean_wall_s', 'cost_ratio', 'cost_ratio_min', 'cost_ratio_max', 'cpu_cost_ratio', 'notes', 'methods',
] as const;

/** One CSV row per arm, raw numbers (fractions, not percent: the unit column says "fraction", for
 * the values and their differences alike); empty where undefined. The methods paragraph is in the
 * first row's last column (a CSV has no place for prose outside a cell). */
export function summaryCsvRows(s: ComparisonSummary): (string | number)[][] {
  const v = (x: number | null | undefined) => (x === null || x === undefined ? '' : x);
  return s.arms.map((a, i) => {
    const p = a.paired;
    return [
      a.name, a.role, s.metric, isFraction(s.metric) ? 'fraction' : '', s.rule, a.verdict?.text ?? 'reference', a.paired ? (a.confirmatory ? 'yes' : 'no') : '', p?.reference ?? '', a.n,
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
export function formatInterval(metric: string, ci: readonly [number, number] | null | undefined, decimals?: number): string {
  if (!ci) return '—';
  if (!Number.isFinite(ci[0]) || !Number.isFinite(ci[1])) return '(unbounded)';
  return `[${formatMetric(metric, ci[0], true, decimals)}, ${formatMetric(metric, ci[1], true, decimals)}]`;
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

function cells(s: ComparisonSummary, a: ArmSummary, pm: string, dec = tableDecimals(s)): Cells {
  const m = s.metric;
  const p = a.paired;
  const pv = shownP(a, s);
  return {
    arm: a.name,
    verdict: a.verdict?.text ?? 'reference',
    value: a.mean === null ? '—' : `${formatMetric(m, a.mean, false, dec.value)}${a.std === null ? '' : ` ${pm} ${formatMetric(m, a.std, false, dec.value)}`}`,
    delta: p ? `${formatMetric(m, p.delta, true, dec.delta)}${s.analysis.fixedNInvalid ? '' : stars(pv, s.analysis.alpha)}` : '',
    ci: p ? formatInterval(m, p.ci95, dec.delta) : '',
    boot: p ? formatInterval(m, p.bootstrap?.ci, dec.delta) : '',
    cs: p ? formatInterval(m, p.cs, dec.delta) : '',
    p: p ? formatP(pv) : '',
    better: p ? `${p.betterIn}/${p.n}${p.signP !== null ? ` (p=${formatP(p.signP)})` : ''}` : '',
    done: `${a.completion.completed}/${a.completion.total}`,
    cost: formatCost(a),
  };
}

const REF = (s: ComparisonSummary) => (s.analysis.reference === 'previous' ? 'previous arm' : s.analysis.reference === 'baseline' ? s.baseline : s.analysis.reference);

/** " (pp)" after a header of differences, " (%)" after one of values; nothing for losses. */
const inUnit = (u: string, more = '') => (u || more ? ` (${[more, u].filter(Boolean).join(', ')})` : '');

function footnote(s: ComparisonSummary, latex = false, done = true): string {
  const rule = s.rule === 'best-val' ? `at the epoch with the best val/acc${s.metric.startsWith('test/') ? ' (best-val checkpoint)' : ''}` : 'at the last epoch';
  const ns = [...new Set(s.arms.map((a) => a.n))];
  const a = s.analysis;
  const u = metricUnits(s.metric);
  const pText = `p: ${a.test === 't' ? 'paired t-test' : 'Wilcoxon signed-rank'} (two-sided), ${a.correction === 'none' ? 'unadjusted' : `${a.correction}-adjusted over ${a.family.length} comparison${a.family.length === 1 ? '' : 's'}`}`;
  const stars_ = a.fixedNInvalid ? 'no stars: fixed-n p-values are not valid here' : starLegend(a.alpha);
  const inPoints = u.delta ? ', in percentage points (pp),' : '';
  const intervals = latex
    ? a.fixedNInvalid
      ? `with its ${csLevelText(a)} confidence sequence (CS; fixed-n intervals are not valid here)`
      : 'with its 95% t-interval'
    : `with its 95% t-interval, BCa bootstrap interval and ${csLevelText(a)} confidence sequence (CS)`;
  const won = latex ? (done ? 'done: runs completed of planned; ' : '') : 'better: seeds won, sign-test p; ';
  const cost = `cost: training wall time relative to the reference, geometric mean of per-seed ratios${latex ? '' : ' (range)'}`;
  return `${s.metric} ${rule}; mean ± SD over seeds (n = ${ns.join('/')}); Δ: paired difference to ${REF(s)}${inPoints} ${intervals}; ${pText}; ${stars_}; ${won}${cost}.${a.exploratory.length ? ` Exploratory: ${a.exploratory.join('; ')}.` : ''}${a.fixedNInvalid ? ` ${a.fixedNInvalid}.` : ''}`;
}

export function summaryMarkdown(s: ComparisonSummary): string {
  const u = metricUnits(s.metric);
  const head = ['Arm', 'Verdict', `${s.metric}${inUnit(u.value)}`, `Δ vs ${REF(s)}${inUnit(u.delta)}`, `95% CI${inUnit(u.delta, 't')}`, `bootstrap${inUnit(u.delta, 'BCa')}`, `CS${inUnit(u.delta)}`, 'p', 'better', 'completed', 'cost'];
  const esc = (x: string) => x.replace(/\|/g, '\\|');
  const lines = [`**${esc(s.title)}**`, '', `| ${head.map(esc).join(' | ')} |`, `|${head.map((_, i) => (i <= 1 ? ' --- ' : ' ---: ')).join('|')}|`];
  const dec = tableDecimals(s);
  for (const a of s.arms) {
    const c = cells(s, a, '±', dec);
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
  return tex(x.replace(/~(?=\d)/g, '≈'))
    .replace(/≈/g, '$\\approx$')
    .replace(/±/g, '$\\pm$')
    .replace(/Δ/g, '$\\Delta$')
    .replace(/α/g, '$\\alpha$')
    .replace(/–/g, '--')
    .replace(/—/g, '---')
    .replace(/</g, '$<$')
    .replace(/≥/g, '$\\geq$');
}

/** Numbers in a LaTeX cell: a real minus sign ($-$), not a hyphen. */
function texNum(x: string): string {
  return x.replace(/(^|[\s[(=])-(?=\d)/g, '$1$-$');
}

/** The verdict as one word for the narrow LaTeX column (the full text goes to the caption). */
const VERDICT_WORD: Record<string, string> = { better: 'better', worse: 'worse', equivalent: 'equiv.', identical: 'identical', undecided: 'undecided', 'no-data': 'no data' };

/** Two lines in one cell, the first on the row's baseline. */
const texStack = (top: string, bottom: string) => (bottom ? `\\begin{tabular}[t]{@{}r@{}}${top}\\\\ {\\footnotesize ${bottom}}\\end{tabular}` : top);

/** A booktabs table that fits \textwidth of a plain article: tabularx (the arm names wrap),
 * \small, the interval under its Δ, a one-word verdict (the full text in the caption), "done"
 * only when a run is missing; the bootstrap interval, sequence and sign test are in the Markdown
 * and CSV exports. Needs \usepackage{booktabs} and \usepackage{tabularx}. Significance stars as
 * superscripts, exploratory verdicts marked with a dagger, the methods paragraph after the table. */
export function summaryLatex(s: ComparisonSummary): string {
  const u = metricUnits(s.metric);
  const dec = tableDecimals(s);
  const useCs = !!s.analysis.fixedNInvalid;
  const showDone = s.arms.some((a) => a.completion.completed < a.completion.total);
  const verdictNotes: string[] = [];
  const row = (a: ArmSummary) => {
    const c = cells(s, a, '$\\pm$', dec);
    const p = a.paired;
    const st = s.analysis.fixedNInvalid ? '' : stars(shownP(a, s), s.analysis.alpha);
    const delta = p ? `${texNum(formatMetric(s.metric, p.delta, true, dec.delta))}${st ? `$^{${st}}$` : ''}` : '';
    const v = a.verdict;
    const word = v ? (VERDICT_WORD[v.kind] ?? v.kind) : 'reference';
    const expl = !!v && /\(exploratory\)$/.test(v.text);
    const full = v?.text.replace(/\s*\(exploratory\)$/, '') ?? '';
    if (v && full !== v.kind) verdictNotes.push(`${a.name}: ${full}`);
    const interval = p ? texNum(useCs ? c.cs : c.ci) : '';
    const cost = a.cost.wall ? `${a.cost.wall.ratio.toFixed(2)}$\\times$` : '---';
    const cols = [texText(c.arm), `${word}${expl ? '$^\\dagger$' : ''}`, texNum(c.value), texStack(delta, interval), c.p.replace('<', '$<$'), ...(showDone ? [c.done] : []), cost];
    return `${cols.join(' & ')} \\\\`;
  };
  const rows = s.arms.map(row);
  const anyExpl = s.arms.some((a) => a.verdict && /\(exploratory\)$/.test(a.verdict.text));
  const extra = [anyExpl ? '$^\\dagger$ exploratory (unadjusted or off the plan)' : '', verdictNotes.length ? `Verdicts: ${texText(verdictNotes.join('; '))}` : ''].filter(Boolean);
  const unitHead = (x: string) => (x ? ` (${x.replace('%', '\\%')})` : '');
  const head = ['Arm', 'Verdict', `${tex(s.metric)}${unitHead(u.value)}`, texStack(`$\\Delta$${unitHead(u.delta)}`, useCs ? 'CS' : '95\\% CI'), '$p$', ...(showDone ? ['done'] : []), 'cost'];
  return [
    '% Generated by Trickbench. Needs \\usepackage{booktabs} and \\usepackage{tabularx}.',
    '\\begin{table}[t]',
    '\\centering',
    '\\small',
    '\\setlength{\\tabcolsep}{4pt}',
    `\\begin{tabularx}{\\textwidth}{@{}>{\\raggedright\\arraybackslash}Xl${'r'.repeat(head.length - 2)}@{}}`,
    '\\toprule',
    `${head.join(' & ')} \\\\`,
    '\\midrule',
    ...rows,
    '\\bottomrule',
    '\\end{tabularx}',
    `\\caption{${tex(s.title)}: ${texText(footnote(s, true, showDone))}${extra.length ? ` ${extra.join('. ')}.` : ''}}`,
    '\\end{table}',
    '',
    `\\paragraph{Methods.} ${texText(s.methods)}`,
    '',
  ].join('\n');
}
