// A clock that ticks every second while the calling component lives (live durations).
import { onScopeDispose, ref } from 'vue';

export function useNow(intervalMs = 1000) {
  const now = ref(Date.now());
  const timer = setInterval(() => (now.value = Date.now()), intervalMs);
  onScopeDispose(() => clearInterval(timer));
  return now;
}
