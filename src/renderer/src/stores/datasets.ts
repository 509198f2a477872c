// The datasets this installation knows (Datasets page, the run form's dataset choice), with live
// download progress. Loading the list also tells the shared config schema each dataset's shape,
// so the form checks classes and the model summary knows the input.
import { computed, reactive, ref } from 'vue';
import { defineStore } from 'pinia';
import type { DatasetSummary, DownloadProgress } from '@shared/api';
import { registerDatasetInfo } from '@shared/models/datasets';
import { api, errorMessage, onReconnect, unwrap } from '../api';

export const useDatasetsStore = defineStore('datasets', () => {
  const list = ref<DatasetSummary[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const downloads = reactive(new Map<string, DownloadProgress>());

  /** Names a run can use now (on this machine or generated). */
  const available = computed(() => list.value.filter((d) => d.origin !== null && !d.problem).map((d) => d.name));

  async function fetchAll(): Promise<void> {
    try {
      const l = unwrap(await api.invoke('datasets:list', undefined));
      for (const d of l) {
        if (d.origin !== null && !d.problem && d.shape && d.classes !== null) {
          registerDatasetInfo(d.name, { shape: d.shape, classes: d.classes, coarseClasses: d.coarseClasses, noTestSet: d.noTestSet, trainImages: d.trainImages, ownVal: d.ownVal });
        }
        if (d.download) downloads.set(d.name, d.download);
      }
      list.value = l;
      loaded.value = true;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  let listening = false;
  function listen(): void {
    if (listening) return;
    listening = true;
    api.on('datasets:download', (p) => downloads.set(p.id, p));
    api.on('datasets:changed', () => void fetchAll());
    onReconnect(() => void fetchAll());
  }

  return { list, loaded, error, downloads, available, fetchAll, listen };
});
