// Events as markers on the curves: a vertical line where the event happened, a short label, and the
// details in its tooltip (hover). How each kind is drawn is declared with the kind.
import type { RunEvent } from '../../../shared/api';
import { eventSpec, parseEvent } from '../../../shared/events';
import type { MarkerFormat } from '../../../shared/tricks/types';
import type { AnnotationOptions } from 'chartjs-plugin-annotation';
import { num, pct } from './format';

export interface ChartMarker {
  x: number;
  kind: string;
  /** A word or two drawn on the line. */
  label: string;
  /** Lines shown while the pointer is on the line. */
  detail: string[];
  color: string;
}

/** Numbers as the rest of the app writes them, for the markers' details. */
const FORMAT: MarkerFormat = { num: (v, digits) => num(v, digits), pct };

/** How an event of a kind we do not declare is drawn: what an external script logs (`lr.drop`,
 * `checkpoint`, `nonfinite`), a marker labelled with its kind and its payload in the tooltip. */
const OTHER_COLOR = '#6a3d9a';
const MAX_LABEL = 18;
const MAX_DETAIL = 6;
function otherMarker(e: RunEvent, x: 'epoch' | 'step'): ChartMarker {
  const entries = Object.entries(e.payload ?? {});
  const detail = entries.slice(0, MAX_DETAIL).map(([k, v]) => {
    const s = typeof v === 'number' ? num(v) : typeof v === 'string' ? v : JSON.stringify(v);
    return `${k}: ${s.length > 60 ? `${s.slice(0, 59)}…` : s}`;
  });
  if (entries.length > MAX_DETAIL) detail.push(`… ${entries.length - MAX_DETAIL} more (events list)`);
  const label = e.kind.length > MAX_LABEL ? `${e.kind.slice(0, MAX_LABEL - 1)}…` : e.kind;
  return { x: x === 'epoch' ? e.epoch : e.step, kind: e.kind, label, detail, color: OTHER_COLOR };
}

/** The events drawn as markers: those whose kind declares one (src/shared/events.ts, and each
 * trick's file for its own kinds), and every event of a kind not declared here (an external
 * script's own, or a later version's) as a plain marker named by its kind. Declared kinds without
 * a marker (run.start) and payloads that do not fit their kind's declaration are not drawn. */
export function eventMarkers(events: readonly RunEvent[], x: 'epoch' | 'step'): ChartMarker[] {
  const out: ChartMarker[] = [];
  for (const raw of events) {
    if (!eventSpec(raw.kind)) {
      if (Number.isFinite(x === 'epoch' ? raw.epoch : raw.step)) out.push(otherMarker(raw, x));
      continue;
    }
    const e = parseEvent(raw);
    const marker = e ? eventSpec(e.kind)?.marker : undefined;
    if (!e || !marker) continue;
    out.push({ x: x === 'epoch' ? e.epoch : e.step, kind: e.kind, label: marker.label, detail: marker.detail(e.payload, FORMAT), color: marker.color });
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
