// The list of runs, kept live from the back end's events.
import { computed, reactive, ref } from 'vue';
import { defineStore } from 'pinia';
import { FINAL_STATUSES, RESUMABLE_STATUSES } from '@shared/api';
import type { AppInfo, ExportRequest, MetricPoint, Result, RunSummary } from '@shared/api';
import { better, isSummaryKey } from '@shared/metrics';
import { api, errorMessage, onReconnect, unwrap } from '../api';

/** A stopped run with a checkpoint to continue from. */
export function isResumable(r: RunSummary): boolean {
  return RESUMABLE_STATUSES.includes(r.status) && r.checkpoints.includes('last');
}

export const useRunsStore = defineStore('runs', () => {
  const byId = reactive(new Map<number, RunSummary>());
  const loaded = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const info = ref<AppInfo | null>(null);

  const list = computed(() => [...byId.values()].sort((a, b) => b.id - a.id));

  function upsert(run: RunSummary): void {
    const prev = byId.get(run.id);
    // Keep live progress that a summary fetched mid-run may not carry yet.
    if (prev && !run.progress && prev.progress && !FINAL_STATUSES.includes(run.status)) {
      run = { ...run, progress: prev.progress };
    }
    if (FINAL_STATUSES.includes(run.status)) run = { ...run, progress: null };
    byId.set(run.id, run);
  }

  async function fetchAll(): Promise<void> {
    loading.value = true;
    try {
      const runs = unwrap(await api.invoke('runs:list', undefined));
      const seen = new Set(runs.map((r) => r.id));
      for (const id of [...byId.keys()]) if (!seen.has(id)) byId.delete(id);
      for (const r of runs) upsert(r);
      loaded.value = true;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  async function fetchInfo(): Promise<void> {
    try {
      info.value = unwrap(await api.invoke('app:info', undefined));
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  /** One run, from the store or the back end; null when it does not exist. */
  async function fetchOne(id: number): Promise<RunSummary | null> {
    const r = await api.invoke('runs:get', { id });
    if (r.ok) {
      upsert(r.value);
      return byId.get(id) ?? null;
    }
    if (r.error.code === 'not_found') {
      byId.delete(id);
      return null;
    }
    throw new Error(r.error.message);
  }

  async function start(config: unknown): Promise<Result<RunSummary>> {
    const r = await api.invoke('runs:start', { config });
    if (r.ok) upsert(r.value);
    return r;
  }

  /** Ask for each run in turn; returns the errors, one per refused run. */
  async function eachRun(channel: 'runs:cancel' | 'runs:resume', ids: number[]): Promise<string[]> {
    const errors: string[] = [];
    for (const id of ids) {
      const r = await api.invoke(channel, { id });
      if (r.ok) upsert(r.value);
      else errors.push(`#${id}: ${r.error.message}`);
    }
    return errors;
  }

  const cancel = (ids: number[]) => eachRun('runs:cancel', ids);
  /** Continue stopped runs from their last checkpoints. */
  const resume = (ids: number[]) => eachRun('runs:resume', ids);

  async function remove(ids: number[]): Promise<void> {
    const { deleted } = unwrap(await api.invoke('runs:delete', { ids }));
    for (const id of deleted) byId.delete(id);
  }

  /** Returns the saved path (desktop), or null (cancelled, or a browser download). */
  async function exportCsv(req: ExportRequest): Promise<string | null> {
    return unwrap(await api.invoke('export:csv', req)).path;
  }

  /** Live final/best values between the summaries the back end pushes at status changes: the
   * store's summaries kept up to date, by the same table (summary keys, best by direction). */
  function applyMetrics(runId: number, points: MetricPoint[]): void {
    const run = byId.get(runId);
    if (!run) return;
    let final: Record<string, number> | null = null;
    let best: Record<string, number> | null = null;
    for (const p of points) {
      if (!isSummaryKey(p.key)) continue;
      final ??= { ...run.final };
      best ??= { ...run.best };
      final[p.key] = p.value;
      const b = better(p.key, best[p.key], p.value);
      if (b !== undefined) best[p.key] = b;
    }
    if (final && best) byId.set(runId, { ...run, final, best });
  }

  let started = false;
  /** Subscribe to events and load the list; idempotent. */
  function init(): void {
    if (started) return;
    started = true;
    api.on('runs:changed', (run) => upsert(run));
    api.on('runs:deleted', ({ ids }) => {
      for (const id of ids) byId.delete(id);
    });
    api.on('runs:progress', ({ runId, progress }) => {
      const run = byId.get(runId);
      if (!run) {
        void fetchOne(runId).catch(() => undefined);
        return;
      }
      if (FINAL_STATUSES.includes(run.status)) return;
      byId.set(runId, { ...run, status: 'running', progress });
    });
    api.on('runs:metrics', ({ runId, points }) => applyMetrics(runId, points));
    onReconnect(() => void fetchAll());
    void fetchInfo();
    void fetchAll();
  }

  return { byId, list, loaded, loading, error, info, init, fetchAll, fetchOne, start, cancel, resume, remove, exportCsv };
});
