// Time estimates for the pages: step rates measured from the progress events as they arrive, and
// the timing of the runs this machine has run (src/shared/eta.ts does the arithmetic).
import { computed, ref, toRaw } from 'vue';
import type { RunSummary } from '@shared/api';
import type { RunConfig } from '@shared/config';
import { estimateRun, runTimeLeft, StepRates, timingSample, type Estimate, type TimingSample, type TimeLeft, type WorkItem } from '@shared/eta';
import { api } from '../api';
import { useRunsStore } from '../stores/runs';
import { progressFraction } from './format';

const rates = new StepRates();
/** Bumped at every progress report, so that rates read in a computed stay live. */
const tick = ref(0);
let listening = false;
/** A run's sample per summary object: a progress report replaces only the running run's summary,
 * so the others' samples (and their config keys) are not worked out again at every report. */
const sampleOf = new WeakMap<RunSummary, TimingSample | null>();
function cachedSample(r: RunSummary): TimingSample | null {
  const raw = toRaw(r);
  let s = sampleOf.get(raw);
  if (s === undefined) sampleOf.set(raw, (s = timingSample(raw)));
  return s;
}

export function useEta() {
  if (!listening) {
    listening = true;
    api.on('runs:progress', ({ runId, progress }) => {
      if (progress.phase === 'train') rates.add(runId, progress.step, Date.now());
      tick.value++;
    });
  }
  const store = useRunsStore();
  const samples = computed(() => store.list.flatMap((r) => cachedSample(r) ?? []));
  const stepsPerS = (id: number): number | null => {
    void tick.value;
    return rates.stepsPerS(id);
  };
  const estimate = (c: RunConfig): Estimate | null => estimateRun(c, samples.value);
  const timeLeft = (r: RunSummary): TimeLeft | null => (r.progress && r.config ? runTimeLeft({ progress: r.progress, config: r.config, final: r.final }, stepsPerS(r.id)) : null);
  /** A run as work still to do: a running run by its time left (before anything is measured, its
   * estimate for the part not done), a queued one by its estimate. */
  const workItem = (r: RunSummary): WorkItem => {
    if (r.status === 'running') {
      const fraction = r.progress ? progressFraction(r.progress) : 0;
      const est = r.config ? estimate(r.config) : null; // an external run's length is its script's
      return { status: 'running', fraction, left: timeLeft(r)?.seconds ?? (est ? est.seconds * (1 - fraction) : null) };
    }
    if (r.status === 'queued') return { status: 'queued', left: r.config ? (estimate(r.config)?.seconds ?? null) : null };
    return { status: r.status, left: null };
  };
  return { samples, stepsPerS, estimate, timeLeft, workItem };
}
