// Hash history: works from file:// in Electron and from the web server alike.
import { createRouter, createWebHashHistory } from 'vue-router';
import RunsView from './views/RunsView.vue';

const ExperimentView = () => import('./views/ExperimentView.vue');
const CompareView = () => import('./views/CompareView.vue');

export const router = createRouter({
  history: createWebHashHistory(),
  // A new page opens at its top (the window scrolls; main is no scroll box of its own); back and
  // forward return where the page was; a change of query alone (filters, picked runs) stays put.
  scrollBehavior(to, from, saved) {
    if (saved) return saved;
    if (to.path === from.path) return false;
    return { top: 0, left: 0 };
  },
  routes: [
    { path: '/', name: 'runs', component: RunsView, meta: { title: 'Runs' } },
    { path: '/new', name: 'new', component: () => import('./views/NewRunView.vue'), meta: { title: 'New run' } },
    { path: '/runs/:id(\\d+)', name: 'run', component: () => import('./views/RunView.vue'), meta: { title: 'Run' } },
    { path: '/presets', name: 'presets', component: () => import('./views/PresetsView.vue'), meta: { title: 'Presets' } },
    { path: '/experiments', name: 'experiments', component: () => import('./views/ExperimentsView.vue'), meta: { title: 'Experiments' } },
    { path: '/experiments/:id(\\d+)', name: 'experiment', component: ExperimentView, meta: { title: 'Experiment' } },
    { path: '/compare', name: 'compare', component: CompareView, meta: { title: 'Compare' } },
    { path: '/datasets', name: 'datasets', component: () => import('./views/DatasetsView.vue'), meta: { title: 'Datasets' } },
    { path: '/datasets/:name', name: 'dataset', component: () => import('./views/DatasetView.vue'), meta: { title: 'Dataset' } },
    { path: '/:pathMatch(.*)*', redirect: '/' },
  ],
});

router.afterEach((to) => {
  const title = typeof to.meta.title === 'string' ? to.meta.title : '';
  document.title = title === 'Run' ? `Run #${String(to.params.id)} · Trickbench` : `${title} · Trickbench`;
});

// The comparison pages carry the charting and statistics code: fetched while the app is idle after
// it started, so opening an experiment does not wait for its code.
router.isReady().then(() => setTimeout(() => void Promise.all([ExperimentView(), CompareView()]).catch(() => undefined), 1000));
