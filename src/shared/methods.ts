// The methods paragraph every export carries: what was compared, how runs were paired and
// selected, which tests, intervals and correction, and what the numbers do not cover — generated
// from the comparison itself, so it cannot drift from what the table shows.
import type { ComparisonSummary } from './experiments';
import { formatMetric } from './summary-format';

const CORRECTION: Record<string, string> = {
  holm: "Holm's step-down method (family-wise error rate)",
  bonferroni: 'the Bonferroni method (family-wise error rate)',
  hochberg: "Hochberg's step-up method (family-wise error rate; assumes independent or positively dependent tests)",
  bh: 'the Benjamini–Hochberg method (false discovery rate, not the family-wise error rate)',
  none: 'no multiplicity correction',
};

function list(xs: readonly string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

export function methodsParagraph(s: ComparisonSummary): string {
  const a = s.analysis;
  const compared = s.arms.filter((x) => x.paired);
  const ns = [...new Set(compared.map((x) => x.paired!.n))].sort((p, q) => p - q);
  const seeds = [...new Set(s.arms.flatMap((x) => x.runs.map((r) => r.seed)))].sort((p, q) => p - q);
  const refText = a.reference === 'previous' ? 'the arm before it (each arm adds to the previous one)' : a.reference === 'baseline' ? s.baseline : a.reference;
  const rule =
    s.rule === 'best-val'
      ? `at the epoch with the best validation accuracy${s.metric.startsWith('test/') ? ' (the test set evaluated with that checkpoint)' : ''}`
      : 'at the last epoch';
  const out: string[] = [];
  out.push(
    `We compared ${compared.length} arm${compared.length === 1 ? '' : 's'} with ${refText} on ${s.metric}, taken ${rule}, over ${seeds.length} seed${seeds.length === 1 ? '' : 's'} (${seeds.join(', ')}); ` +
      `paired comparisons used n = ${ns.join('/') || 0} seeds with both runs completed.`,
  );
  const mismatched = [...new Set(s.pairing.map((p) => p.seed))];
  out.push(
    'The runs of one seed share the initial weights of the layers they have in common, the data split and the data order, so each arm is paired with its reference seed by seed and analysed through the per-seed differences' +
      (mismatched.length ? ` (the pairing check found runs of seed${mismatched.length > 1 ? 's' : ''} ${mismatched.join(', ')} that are not a matched pair).` : '.'),
  );
  if (compared.some((x) => x.paired!.exact)) out.push('Accuracies were compared as exact counts of correctly classified test images, so equal differences and ties are exact.');
  const test = a.test === 't' ? 'the two-sided paired t-test' : 'the two-sided Wilcoxon signed-rank test (exact for small n without ties, permutation with ties, normal approximation above 13 pairs with ties or 50 without)';
  out.push(
    `The primary test was ${test} at α = ${a.alpha}; ` +
      (a.family.length > 1
        ? `the p-values of the confirmatory comparisons (${list(a.family)}) were adjusted with ${CORRECTION[a.correction]}, counting those that have a test (identical differences and single seeds have none)`
        : a.family.length === 1
          ? `the family is one comparison (${a.family[0]}), so no adjustment applies`
          : 'no comparison is confirmatory') +
      (s.arms.some((x) => x.paired && !x.confirmatory) ? '; comparisons outside the family are exploratory and use unadjusted p-values' : '') +
      '.',
  );
  out.push(
    'For each difference we report the 95% t-interval, a bias-corrected and accelerated (BCa) paired bootstrap interval (exact enumeration of resamples up to 9 seeds, otherwise 10,000 resamples with seed 0), ' +
      `and a ${Math.round((1 - a.alpha) * 1000) / 10}% anytime-valid confidence sequence for the mean difference (Lai 1976; level 1 − α/k for the k confirmatory comparisons, a Bonferroni split whatever the correction above), which stays valid when seeds are added after looking.`,
  );
  if (a.margin !== null) out.push(`Equivalence within ±${formatMetric(s.metric, a.margin)} was tested with two one-sided t-tests (TOST), adjusted like the primary test.`);
  out.push(
    'Each arm also gets the sign test of the seeds it wins, the probability of beating its reference on a new seed (with a Clopper–Pearson interval)' +
      (compared.some((x) => x.paired!.mcnemar) ? ", and per seed McNemar's exact test on the test images" : '') +
      '.',
  );
  if (a.fixedNInvalid) out.push(`Verdicts come from the confidence sequence because ${a.fixedNInvalid.split(':')[0]}.`);
  else out.push('Verdicts: better or worse when the (adjusted, for confirmatory arms) p is below α — for the signed-rank test only when its direction agrees with the mean difference; equivalent when the TOST p, adjusted the same way, is below α; otherwise not decided.');
  out.push(
    'The t-test, the t-interval, TOST and the confidence sequence assume roughly normal per-seed differences; a run that collapses in one seed breaks that assumption, which the signed-rank test, the bootstrap interval and the per-seed values help to spot.',
  );
  const dropped = s.arms.filter((x) => x.completion.completed < x.completion.total);
  out.push(
    dropped.length
      ? `Only completed runs count; not completed: ${dropped.map((x) => `${x.name} (${x.completion.text})`).join('; ')}.`
      : 'Every planned run completed.',
  );
  out.push(
    'The test set is the same for every seed, so the intervals cover seed-to-seed variation (initialisation, data order, augmentation), not test-sample variation' +
      (compared.some((x) => x.paired!.testSample)
        ? '; from the stored per-image predictions we also give the standard error of the mean difference over test images and a 95% interval with both parts of the variation.'
        : '.'),
  );
  if (a.exploratory.length) out.push(`Exploratory (off the analysis plan declared before the experiment started): ${a.exploratory.join('; ')}.`);
  else if (a.declared) out.push('This analysis follows the plan declared before the experiment started.');
  return out.join(' ');
}
