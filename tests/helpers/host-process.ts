// A host like `serve` in a process of its own, for tests that kill it: the real RunService over
// DATA_DIR, forking the trainer from source, starts one run of CONFIG_JSON and says on stdout,
// one JSON line each, {"started": runId, "host": pid} and {"metrics": runId} when the trainer's
// first metrics reach it (a defined point to kill it at).
// Usage: node --import tsx tests/helpers/host-process.ts DATA_DIR CONFIG_JSON
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunService } from '../../src/main/services/runs';
import { Store } from '../../src/store/store';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [dataDir, configJson] = process.argv.slice(2);
if (!dataDir || !configJson) {
  process.stderr.write('usage: host-process.ts DATA_DIR CONFIG_JSON\n');
  process.exit(2);
}
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
let toldMetrics = false;
const store = new Store(dataDir);
const service = new RunService({
  store,
  dataDir,
  trainerEntry: path.join(ROOT, 'src/trainer/main.ts'),
  execArgv: ['--import', 'tsx'],
  emit(event, payload) {
    if (event === 'runs:metrics' && !toldMetrics) {
      toldMetrics = true;
      say({ metrics: (payload as { runId: number }).runId });
    }
  },
});
const run = service.start(JSON.parse(configJson));
say({ started: run.id, host: process.pid });
