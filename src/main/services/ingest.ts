// The ingest channels (ingest:*): runs logged by other scripts (the Python client, curl, a cluster
// job's journal). The store checks and writes (store/external-repo.ts); this pushes what changed to
// the pages, so an external run's curves are live like ours.
import type { Handlers } from '../handlers';
import type { RunService } from './runs';

type IngestChannel = 'ingest:create' | 'ingest:metrics' | 'ingest:events' | 'ingest:summary' | 'ingest:finish' | 'ingest:heartbeat';

export function ingestHandlers(runs: RunService): Pick<Handlers, IngestChannel> {
  const external = runs.store.external;
  return {
    'ingest:create': (a) => {
      const made = external.create(a);
      if (made.created) runs.externalChanged(made.runId);
      return made;
    },
    'ingest:metrics': (a) => {
      const points = external.logMetrics(a.runId, a.points);
      runs.broadcast('runs:metrics', { runId: a.runId, points });
      return { written: points.length };
    },
    'ingest:events': (a) => {
      const events = external.logEvents(a.runId, a.events);
      for (const event of events) runs.broadcast('runs:event', { runId: a.runId, event });
      return { written: events.length };
    },
    'ingest:summary': (a) => ({ written: external.setSummary(a.runId, a.values) }),
    'ingest:finish': (a) => {
      external.finish(a.runId, a.status, a.error ?? null);
      runs.externalChanged(a.runId);
      return runs.summary(a.runId);
    },
    'ingest:heartbeat': (a) => ({ status: external.heartbeat(a.runId) }),
  };
}
