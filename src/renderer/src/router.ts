// Hash history: works from file:// in Electron and from the web server alike.
import { createRouter, createWebHashHistory } from 'vue-router';
import RunsView from './views/RunsView.vue';

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', name: 'runs', component: RunsView, meta: { title: 'Runs' } },
    { path: '/new', name: 'new', component: () => import('./views/NewRunView.vue'), meta: { title: 'New run' } },
    { path: '/runs/:id(\\d+)', name: 'run', component: () => import('./views/RunView.vue'), meta: { title: 'Run' } },
    { path: '/presets', name: 'presets', component: () => import('./views/PresetsView.vue'), meta: { title: 'Presets' } },
    { path: '/experiments', name: 'experiments', component: () => import('./views/ExperimentsView.vue'), meta: { title: 'Experiments' } },
    { path: '/experiments/:id(\\d+)', name: 'experiment', component: () => import('./views/ExperimentView.vue'), meta: { title: 'Experiment' } },
    { path: '/compare', name: 'compare', component: () => import('./views/CompareView.vue'), meta: { title: 'Compare' } },
    { path: '/:pathMatch(.*)*', redirect: '/' },
  ],
});

router.afterEach((to) => {
  const title = typeof to.meta.title === 'string' ? to.meta.title : '';
  document.title = title === 'Run' ? `Run #${String(to.params.id)} · Trickbench` : `${title} · Trickbench`;
});
