// Trick events as markers on the curves: a vertical line where the event happened, a short label,
// and the details in its tooltip (hover).
import type { RunEvent } from '@shared/api';
import type { AnnotationOptions } from 'chartjs-plugin-annotation';
import { num, pct } from './format';
import type { XAxis } from './chart';

export interface ChartMarker {
  x: number;
  kind: string;
  /** A word or two drawn on the line. */
  label: string;
  /** Lines shown while the pointer is on the line. */
  detail: string[];
  color: string;
}

const norms = (v: unknown) =>
  Object.entries((v ?? {}) as Record<string, number>)
    .map(([k, n]) => `${k} ${num(n, 3)}`)
    .join(', ');

/** How each marked event kind is drawn; kinds not listed are not marked. */
const KINDS: Record<string, { label: string; color: string; detail: (p: Record<string, unknown>) => string[] }> = {
  'rifle.reinit': {
    label: 'RIFLE',
    color: '#cc79a7',
    detail: (p) => [
      `RIFLE re-initialised ${(p.layers as string[] | undefined)?.join(', ') ?? ''} (${String(p.initializer)}, #${String(p.count)})`,
      `weight norm ${norms(p.weightNormBefore)} → ${norms(p.weightNormAfter)}`,
      ...(typeof p.valAccBefore === 'number' ? [`val/acc before ${pct(p.valAccBefore)}`] : []),
    ],
  },
  'mixup.off': { label: 'mixup off', color: '#e69f00', detail: (p) => [`mixup off for the last ${String(p.offLastEpochs)} epoch(s)`] },
  'repr.prune': {
    label: 'RePr prune',
    color: '#d55e00',
    detail: (p) => [
      `RePr cycle ${String(p.cycle)}: pruned ${String(p.total)} of ${String(p.of)} filters (${String(p.scope)})`,
      ...Object.entries((p.perLayer ?? {}) as Record<string, number>).map(([l, n]) => `${l}: ${n}`),
    ],
  },
  'repr.reinit': {
    label: 'RePr re-init',
    color: '#009e73',
    detail: (p) => [
      `RePr cycle ${String(p.cycle)}: re-initialised ${String(p.total)} filters`,
      ...Object.entries((p.perLayer ?? {}) as Record<string, { count: number; nullSpace: boolean }>).map(
        ([l, v]) => `${l}: ${v.count}${v.nullSpace ? ' in the null space' : ', null space exhausted (uniform)'}`,
      ),
    ],
  },
  'lr.phase': {
    label: 'LR',
    color: '#0072b2',
    detail: (p) => [p.phase === 'warmup end' ? `warmup ends: ${String(p.next)} from lr ${num(Number(p.lr), 4)}` : `step decay at epoch ${String(p.milestone)}: lr ${num(Number(p.lr), 4)}`],
  },
  'distill.teacher': { label: 'teacher', color: '#9c755f', detail: (p) => [`distilling from run ${String(p.teacherRun)} (${String(p.model)}, ${String(p.checkpoint)} checkpoint)`] },
  'run.resume': { label: 'resumed', color: '#8c8c8c', detail: (p) => [`resumed from epoch ${String(p.fromEpoch)}, step ${String(p.fromStep)}`] },
};

export function eventMarkers(events: readonly RunEvent[], x: XAxis): ChartMarker[] {
  const out: ChartMarker[] = [];
  for (const e of events) {
    const k = KINDS[e.kind];
    if (!k) continue;
    out.push({ x: x === 'epoch' ? e.epoch : e.step, kind: e.kind, label: k.label, detail: k.detail(e.payload), color: k.color });
  }
  return out;
}

/** A marker drawn on a chart: a dashed vertical line labelled at the top; hovering it shows the
 * details in the label. */
export function markerAnnotation(m: ChartMarker): AnnotationOptions<'line'> {
  return {
    type: 'line',
    scaleID: 'x',
    value: m.x,
    borderColor: m.color,
    borderWidth: 1.5,
    borderDash: [5, 4],
    label: {
      display: true,
      content: m.label,
      position: 'start',
      backgroundColor: m.color,
      color: '#fff',
      font: { size: 10, weight: 'bold' },
      padding: { x: 4, y: 2 },
      yAdjust: -2,
    },
    enter: ({ element }) => {
      if (element.label) (element.label.options as { content: string | string[] }).content = [m.label, ...m.detail];
      return true;
    },
    leave: ({ element }) => {
      if (element.label) (element.label.options as { content: string | string[] }).content = m.label;
      return true;
    },
  };
}
