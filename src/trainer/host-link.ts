// The forked trainer's messages to its host. The host may die at any moment (kill -9 of `serve`):
// the trainer then goes on alone, writing to the store, and must not die of the broken channel. A
// send without a callback reports a failed write (EPIPE) or a closed channel
// (ERR_IPC_CHANNEL_CLOSED) as an 'error' event on `process`, which nothing handles: the trainer
// crashed with it. So every send has a callback, the channel's errors are handled, and after the
// first failure or 'disconnect' nothing more is sent.
import type { TrainerMessage } from '../shared/protocol';

/** The parts of `process` this uses (a fake one in tests). */
export interface IpcProcess {
  connected?: boolean;
  send?(message: unknown, callback: (error: Error | null) => void): boolean;
  on(event: 'disconnect', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

const GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_IPC_CHANNEL_CLOSED', 'ERR_IPC_DISCONNECTED']);

export interface HostLink {
  send(msg: TrainerMessage): void;
  /** False once the host is known to be gone. */
  readonly open: boolean;
}

export function hostLink(proc: IpcProcess, log: (line: string) => void = () => undefined): HostLink {
  let open = typeof proc.send === 'function';
  const gone = (e: Error | null) => {
    if (!e || !open) return;
    open = false;
    const code = (e as NodeJS.ErrnoException).code;
    if (!code || !GONE.has(code)) log(`trainer: the channel to the host failed (${e.message}); training goes on\n`);
  };
  proc.on('disconnect', () => (open = false));
  proc.on('error', gone);
  return {
    send(msg) {
      if (!open || proc.connected === false) return;
      try {
        proc.send!(msg, gone);
      } catch (e) {
        gone(e as Error); // a message that cannot be serialised, or a channel closed under us
      }
    },
    get open() {
      return open && proc.connected !== false;
    },
  };
}
