// Metric histories of the runs that pages are looking at: fetched with 'runs:history', then kept
// live from 'runs:metrics'. Points live in plain (non-reactive) arrays — a long run has tens of
// thousands — and a per-run version number tells Vue when they changed.
import { onScopeDispose, reactive, watch } from 'vue';
import { defineStore } from 'pinia';
import type { MetricPoint } from '@shared/api';
import { api, errorMessage, onReconnect, unwrap } from '../api';

type History = Record<string, MetricPoint[]>;

interface Entry {
  refs: number;
  data: History;
  /** Live points that arrived while the history was being fetched. */
  pending: MetricPoint[] | null;
}

export interface HistoryState {
  loading: boolean;
  error: string | null;
  version: number;
}

function append(data: History, points: readonly MetricPoint[]): void {
  for (const p of points) {
    const arr = (data[p.key] ??= []);
    const last = arr[arr.length - 1];
    if (!last || p.step > last.step) arr.push(p);
    else if (p.step === last.step) arr[arr.length - 1] = p;
    // older points (already in the fetched history) are dropped
  }
}

export const useHistoriesStore = defineStore('histories', () => {
  const entries = new Map<number, Entry>();
  const states = reactive(new Map<number, HistoryState>());

  function bump(id: number): void {
    const s = states.get(id);
    if (s) s.version++;
  }

  async function load(ids: number[]): Promise<void> {
    if (!ids.length) return;
    for (const id of ids) {
      const e = entries.get(id);
      if (e) e.pending ??= [];
      const s = states.get(id);
      if (s) s.loading = true;
    }
    try {
      const result = unwrap(await api.invoke('runs:history', { ids }));
      for (const id of ids) {
        const e = entries.get(id);
        if (!e) continue; // released meanwhile
        const data: History = {};
        for (const [key, pts] of Object.entries(result[id] ?? {})) data[key] = pts.slice();
        if (e.pending) append(data, e.pending);
        e.data = data;
        e.pending = null;
        const s = states.get(id);
        if (s) Object.assign(s, { loading: false, error: null, version: s.version + 1 });
      }
    } catch (err) {
      for (const id of ids) {
        const e = entries.get(id);
        if (e?.pending) append(e.data, e.pending);
        if (e) e.pending = null;
        const s = states.get(id);
        if (s) Object.assign(s, { loading: false, error: errorMessage(err), version: s.version + 1 });
      }
    }
  }

  function acquire(ids: number[]): void {
    const fresh: number[] = [];
    for (const id of ids) {
      const e = entries.get(id);
      if (e) {
        e.refs++;
        continue;
      }
      entries.set(id, { refs: 1, data: {}, pending: [] });
      states.set(id, { loading: true, error: null, version: 0 });
      fresh.push(id);
    }
    void load(fresh);
  }

  function release(ids: number[]): void {
    for (const id of ids) {
      const e = entries.get(id);
      if (!e) continue;
      if (--e.refs <= 0) {
        entries.delete(id);
        states.delete(id);
      }
    }
  }

  /** The history of a watched run (reactive through its version); a fresh object each call. */
  function history(id: number): History {
    void states.get(id)?.version;
    return { ...(entries.get(id)?.data ?? {}) };
  }

  function state(id: number): HistoryState | undefined {
    return states.get(id);
  }

  let started = false;
  function init(): void {
    if (started) return;
    started = true;
    api.on('runs:metrics', ({ runId, points }) => {
      const e = entries.get(runId);
      if (!e) return;
      if (e.pending) e.pending.push(...points);
      else {
        append(e.data, points);
        bump(runId);
      }
    });
    // A resumed run dropped its points after the checkpoint and rewrites them: start over.
    api.on('runs:event', ({ runId, event }) => {
      if (event.kind === 'run.resume' && entries.has(runId)) void load([runId]);
    });
    onReconnect(() => void load([...entries.keys()]));
  }

  return { acquire, release, history, state, init };
});

/** Watch the histories of `ids` for as long as the calling component lives. */
export function useHistories(ids: () => number[]) {
  const store = useHistoriesStore();
  store.init();
  let held: number[] = [];
  watch(
    () => ids().join(','),
    () => {
      const next = [...new Set(ids())];
      store.acquire(next.filter((id) => !held.includes(id)));
      store.release(held.filter((id) => !next.includes(id)));
      held = next;
    },
    { immediate: true },
  );
  onScopeDispose(() => {
    store.release(held);
    held = [];
  });
  return {
    history: (id: number) => store.history(id),
    state: (id: number) => store.state(id),
  };
}
