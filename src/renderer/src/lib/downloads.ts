// A download's progress reaches the page two ways: as the reply to the Download click (HTTP or
// IPC) and as 'datasets:download' events (the WebSocket). The two are not ordered: on a loaded
// machine events sent after the reply can arrive before it.
import type { DownloadProgress } from '../../../shared/api';

/** What the page shows after the reply to Download (the download's first state, 'queued'):
 * the reply, unless an event replaced what was shown while the request was out. That event left
 * the server after the reply was made (the Download button shows only once the last download's
 * end was seen), so it is newer; taking the reply would go back to 'queued', and stay there when
 * the download has already ended. */
export function afterStartReply(shownBefore: DownloadProgress | undefined, shownNow: DownloadProgress | undefined, reply: DownloadProgress): DownloadProgress {
  return shownNow !== shownBefore && shownNow !== undefined ? shownNow : reply;
}
