// A local file server on 127.0.0.1 for download tests: serves in-memory files with Content-Length
// and single-range support (`Range: bytes=N-`), and misbehaves on request, per path, the ways real
// servers do: drops the connection, ignores ranges, serves other bytes, answers an error status,
// or trickles the body slowly.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Misbehaviour {
  /** Close the connection after sending this many body bytes of a response. */
  dropAfter?: number;
  /** Answer 200 with the whole file even to a range request. */
  ignoreRange?: boolean;
  /** Serve bytes that differ from the file's (same length), so its checksum fails. */
  corrupt?: boolean;
  /** Answer this status with no file (404, 500...). */
  status?: number;
  /** Wait this long before each chunk of the body. */
  chunkDelayMs?: number;
  /** Body chunk size in bytes (default 16 KiB). */
  chunkBytes?: number;
}

export interface SeenRequest {
  path: string;
  range: string | null;
  status: number;
}

export class TestFileServer {
  readonly files = new Map<string, Buffer>();
  readonly requests: SeenRequest[] = [];
  private readonly behaviour = new Map<string, Misbehaviour>();
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private baseUrl = '';

  /** Listens on a free port of 127.0.0.1; returns the base URL ("http://127.0.0.1:port"). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  url(p: string): string {
    return `${this.baseUrl}${p}`;
  }

  /** Sets (replaces) how requests for a path misbehave; {} makes it behave again. */
  misbehave(p: string, m: Misbehaviour): void {
    this.behaviour.set(p, m);
  }

  requestsFor(p: string): SeenRequest[] {
    return this.requests.filter((r) => r.path === p);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    const range = req.headers.range ?? null;
    const m = this.behaviour.get(p) ?? {};
    const file = this.files.get(p);
    const seen: SeenRequest = { path: p, range, status: 0 };
    this.requests.push(seen);
    const answer = (status: number, headers: http.OutgoingHttpHeaders = {}): void => {
      seen.status = status;
      res.writeHead(status, headers);
    };
    if (m.status || !file) {
      answer(m.status ?? 404, { 'content-type': 'text/plain' });
      res.end('no such file\n');
      return;
    }
    let body = file;
    if (m.corrupt) {
      body = Buffer.from(file);
      for (let i = 0; i < body.length; i += 997) body[i] = body[i]! ^ 0xff;
    }
    let start = 0;
    const rm = range && !m.ignoreRange ? /^bytes=(\d+)-$/.exec(range) : null;
    if (rm) {
      start = Number(rm[1]);
      if (start >= body.length) {
        answer(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      answer(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'accept-ranges': 'bytes' });
    } else {
      answer(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
    }
    res.flushHeaders(); // like real servers: the status and headers go out before the body
    const chunk = m.chunkBytes ?? 16 * 1024;
    let sent = 0;
    for (let at = start; at < body.length; at += chunk) {
      if (res.destroyed) return; // the client went away (a cancelled download)
      if (m.chunkDelayMs) await new Promise((r) => setTimeout(r, m.chunkDelayMs));
      let piece = body.subarray(at, Math.min(at + chunk, body.length));
      if (m.dropAfter !== undefined && sent + piece.length >= m.dropAfter) {
        piece = piece.subarray(0, m.dropAfter - sent);
        // flush what is allowed, then close the socket mid-body (Content-Length is not reached)
        await new Promise<void>((resolve) => res.write(piece, () => resolve()));
        res.socket?.destroySoon();
        return;
      }
      sent += piece.length;
      const ok = res.write(piece);
      if (!ok) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    res.end();
  }
}
