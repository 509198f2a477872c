// The parts of downloading one catalog file that need no DownloadManager: checking an HTTP
// (range) response, the stall guard of a transfer, a file's MD5 and the .verified.json record.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { CatalogFile } from './download-catalog';

const VERIFIED_FILE = '.verified.json';

export interface VerifiedRecord {
  size: number;
  mtimeMs: number;
  md5: string;
}

/** Where a 200 or 206 response to a request for bytes offset- starts in the file (0 or offset),
 * and where the file ends when the body is complete (null: unknown); null for a 206 that does not
 * continue at offset. */
export function responseSpan(res: Response, offset: number): { from: number; end: number | null } | null {
  const length = numberOrNull(res.headers.get('content-length'));
  let from = 0;
  let end: number | null = length; // where the file ends when the body is complete
  if (res.status === 206) {
    const range = parseContentRange(res.headers.get('content-range'));
    if (!range || range.start !== offset) return null;
    from = offset;
    end = range.total ?? range.end + 1;
  }
  // A 200 to a range request means the server ignores ranges: the part starts over.
  return { from, end };
}

/** Aborts a request that receives nothing for a while (arm() again on every chunk). */
export class StallGuard {
  private readonly ctl = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  stalled = false;

  constructor(private readonly ms: number) {}

  get signal(): AbortSignal {
    return this.ctl.signal;
  }

  arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.ctl.abort();
    }, this.ms);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

export function interrupted(f: CatalogFile, url: string, got: number, end: number | null, why: string): Error {
  return new Error(
    `${f.name}: the transfer from ${url} broke off after ${got}${end !== null ? ` of ${end}` : ''} bytes (${why}); the ${got} bytes received are kept and the next start resumes from there`,
  );
}

function numberOrNull(s: string | null): number | null {
  if (s === null || !/^\d+$/.test(s.trim())) return null;
  return Number(s);
}

/** "bytes 100-199/1000" (total may be "*"). */
function parseContentRange(s: string | null): { start: number; end: number; total: number | null } | null {
  const m = s ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(s.trim()) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** An error's message with the cause undici hides behind "fetch failed" (ENOTFOUND, ECONNREFUSED). */
export function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause as (Error & { code?: string }) | undefined;
  if (!cause) return e.message;
  const detail = cause.code && !cause.message.includes(cause.code) ? `${cause.code} ${cause.message}` : cause.message;
  return `${e.message}: ${detail}`;
}

export async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

export async function statOrNull(file: string): Promise<fs.Stats | null> {
  try {
    return await fsp.stat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** MD5 of a file, streamed (CIFAR is 170 MB). */
export async function md5File(file: string, signal: AbortSignal): Promise<string> {
  const hash = crypto.createHash('md5');
  for await (const chunk of fs.createReadStream(file, { signal, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function readVerified(dir: string): Promise<Record<string, VerifiedRecord>> {
  try {
    const parsed: unknown = JSON.parse(await fsp.readFile(path.join(dir, VERIFIED_FILE), 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, VerifiedRecord>) : {};
  } catch {
    return {}; // missing or unreadable: files are checked again, which is only slower
  }
}

/** Records a verified file; the record is a cache, so failing to write it is not an error. */
export async function remember(dir: string, verified: Record<string, VerifiedRecord>, name: string, rec: VerifiedRecord): Promise<void> {
  verified[name] = rec;
  const file = path.join(dir, VERIFIED_FILE);
  try {
    await fsp.writeFile(`${file}.tmp`, `${JSON.stringify(verified, null, 2)}\n`);
    await fsp.rename(`${file}.tmp`, file);
  } catch (e) {
    process.stderr.write(`could not record verified files in ${file}: ${describe(e)}\n`);
  }
}
