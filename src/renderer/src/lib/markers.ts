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

/** The events drawn as markers: those whose kind declares one (src/shared/events.ts, and each
 * trick's file for its own kinds). Kinds this version does not know, and payloads that do not fit
 * their kind's declaration (stored by another version), are not drawn. */
export function eventMarkers(events: readonly RunEvent[], x: 'epoch' | 'step'): ChartMarker[] {
  const out: ChartMarker[] = [];
  for (const raw of events) {
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
