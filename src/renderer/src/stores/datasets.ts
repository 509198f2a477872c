// The datasets this installation knows (Datasets page, the run form's dataset choice), with live
// download progress, and their facts (shape, classes, sizes: `facts`), which the form validates
// configs with (parseRunConfig(input, facts)), so it checks classes and the model summary knows
// the input.
import { computed, reactive, ref, shallowRef } from 'vue';
import { defineStore } from 'pinia';
import type { DatasetSummary, DownloadProgress } from '@shared/api';
import { BUILTIN_FACTS, datasetFacts, type DatasetFacts, type DatasetInfo } from '@shared/models/datasets';
import { api, errorMessage, onReconnect, unwrap } from '../api';

export const useDatasetsStore = defineStore('datasets', () => {
  const list = ref<DatasetSummary[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const downloads = reactive(new Map<string, DownloadProgress>());
  /** The built-ins and every dataset on this machine the host inspected (as of the last list):
   * what the host's runs:start checks against. Built-ins only until the list is loaded. */
  const facts = shallowRef<DatasetFacts>(BUILTIN_FACTS);

  /** Names a run can use now (on this machine or generated). */
  const available = computed(() => list.value.filter((d) => d.origin !== null && !d.problem).map((d) => d.name));

  async function fetchAll(): Promise<void> {
    try {
      const l = unwrap(await api.invoke('datasets:list', undefined));
      const infos: [string, DatasetInfo][] = [];
      for (const d of l) {
        if (d.origin !== null && !d.problem && d.shape && d.classes !== null) {
          infos.push([d.name, { shape: d.shape, classes: d.classes, coarseClasses: d.coarseClasses, noTestSet: d.noTestSet, trainImages: d.trainImages, ownVal: d.ownVal }]);
        }
        if (d.download) downloads.set(d.name, d.download);
      }
      list.value = l;
      facts.value = datasetFacts(infos);
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

  return { list, loaded, error, downloads, facts, available, fetchAll, listen };
});
