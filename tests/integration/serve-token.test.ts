// `serve` (the built out/main/serve.js) across restarts: the token is kept in the data dir and
// the port reused, so a tab's address still works; --token / TRICKBENCH_TOKEN set one; a bad
// token, a token file others can read and a taken --port are refused with a line saying why.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SERVE } from '../helpers/e2e';
import { tmpDataDir } from '../helpers/tmp';

const GOOD = 'Chosen_token-0123456789abcdefghijKLMN';
const OTHER = 'Other_token-9876543210zyxwvutsrqpONML';

interface Serving {
  child: ChildProcess;
  url: URL;
  token: string;
  port: number;
  out: string;
}

/** serve with exactly these args (no --port unless given); resolves when it prints its address,
 * rejects with its output when it exits first. */
function serve(dataDir: string, args: string[] = [], env: Record<string, string | undefined> = {}): Promise<Serving> {
  const e = { ...process.env, TRICKBENCH_TOKEN: undefined, ...env };
  const child = spawn(process.execPath, [SERVE, '--data-dir', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: e });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no address:\n${out}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Open: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-zA-Z_-]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const url = new URL(m[1]!);
        resolve({ child, url, token: url.searchParams.get('token')!, port: Number(url.port), out });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`serve exited (${code}):\n${out}`), { code, out }));
    });
  });
}

/** serve is expected to refuse: its exit code and output. */
async function refused(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const e = (await serve(dataDir, args, env).then(
    () => null,
    (err: unknown) => err as { code: number; out: string },
  ))!;
  expect(e, 'serve started but should have refused').not.toBeNull();
  return e;
}

/** SIGTERM and wait for the exit (a child already gone, by exit or by signal, returns at once). */
async function stopServe(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

const ping = (port: number, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${port}/api/ping`, { headers });

let tmp: ReturnType<typeof tmpDataDir>;
let children: ChildProcess[];
beforeAll(() => {
  if (!fs.existsSync(SERVE)) throw new Error(`${SERVE} is missing: build first (electron-vite build)`);
});
beforeEach(() => {
  tmp = tmpDataDir('tb-serve-token-');
  children = [];
});
afterEach(async () => {
  for (const c of children) await stopServe(c);
  tmp.cleanup();
});

const tokenFile = () => path.join(tmp.dir, 'serve-token');

describe('serve restarted on the same data dir', () => {
  it('keeps its token (file 0600) and its port, so the old address still works', async () => {
    const first = await serve(tmp.dir, ['--port', '0']);
    expect(first.out).toContain(`Token: new, kept in ${tokenFile()}`);
    expect(first.token).toMatch(/^[0-9a-f]{48}$/);
    expect(fs.readFileSync(tokenFile(), 'utf8')).toBe(`${first.token}\n`);
    if (process.platform !== 'win32') expect(fs.statSync(tokenFile()).mode & 0o777).toBe(0o600);
    expect(first.out).not.toContain(`Token: ${first.token}`); // the token is in the address only
    await stopServe(first.child); // at once: the signal is handled before the address is printed
    expect([first.child.exitCode, first.child.signalCode]).toEqual([0, null]);

    const second = await serve(tmp.dir); // no --port: the last one
    expect(second.out).toContain(`Token: kept in ${tokenFile()}`);
    expect(second.url.href).toBe(first.url.href);
    expect((await ping(second.port, { 'x-trickbench-token': first.token })).status).toBe(200);
  });

  it('takes --token over TRICKBENCH_TOKEN over the file, and saves neither', async () => {
    const a = await serve(tmp.dir, ['--port', '0'], { TRICKBENCH_TOKEN: GOOD });
    expect(a.token).toBe(GOOD);
    expect(a.out).toContain('Token: from $TRICKBENCH_TOKEN');
    await stopServe(a.child);
    const b = await serve(tmp.dir, ['--port', '0', '--token', OTHER], { TRICKBENCH_TOKEN: GOOD });
    expect(b.token).toBe(OTHER);
    expect(b.out).toContain('Token: from --token');
    expect((await ping(b.port, { 'x-trickbench-token': GOOD })).status).toBe(401);
    await stopServe(b.child);
    const c = await serve(tmp.dir, ['--port', '0']);
    expect([GOOD, OTHER]).not.toContain(c.token);
    expect(fs.readFileSync(tokenFile(), 'utf8').trim()).toBe(c.token);
  });

  it('prefers another port when the last one is taken (no --port given)', async () => {
    const first = await serve(tmp.dir, ['--port', '0']);
    await stopServe(first.child);
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(first.port, '127.0.0.1', r));
    try {
      const second = await serve(tmp.dir);
      expect(second.port).not.toBe(first.port);
      expect(second.token).toBe(first.token);
      expect(fs.readFileSync(path.join(tmp.dir, 'serve-port'), 'utf8').trim()).toBe(String(second.port));
    } finally {
      squatter.close();
    }
  });
});

describe('serve refuses, saying why', () => {
  it('a bad --token or TRICKBENCH_TOKEN, naming it and not echoing it', async () => {
    const r1 = await refused(tmp.dir, ['--port', '0', '--token', 'letmein']);
    expect(r1.code).toBe(1);
    expect(r1.out).toMatch(/^--token: too short \(7 characters; a token is 32 to 256 characters from A-Z a-z 0-9 _ -/m);
    expect(r1.out).not.toContain('letmein');
    const r2 = await refused(tmp.dir, ['--port', '0'], { TRICKBENCH_TOKEN: `${GOOD}?x=1` });
    expect(r2.out).toMatch(/^TRICKBENCH_TOKEN: character 38 is not one of A-Z a-z 0-9 _ -/m);
    expect(r2.out).not.toContain(GOOD);
    expect(fs.existsSync(tokenFile())).toBe(false);
  });

  it.runIf(process.platform !== 'win32')('a token file others can read, naming the file and the fix', async () => {
    fs.writeFileSync(tokenFile(), `${GOOD}\n`);
    fs.chmodSync(tokenFile(), 0o644);
    const r = await refused(tmp.dir, ['--port', '0']);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${tokenFile()} is open to other users (mode 0644; run chmod 600 ${tokenFile()} if nobody else can have read it)`);
    expect(r.out).not.toContain(GOOD);
    expect(r.out).not.toContain('Open:');
    fs.chmodSync(tokenFile(), 0o600);
    expect((await serve(tmp.dir, ['--port', '0'])).token).toBe(GOOD);
  });

  it('a --port that is taken or not a port', async () => {
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const r = await refused(tmp.dir, ['--port', String(port)]);
      expect(r.out).toContain(`--port ${port}: 127.0.0.1:${port} is in use (another serve?)`);
    } finally {
      squatter.close();
    }
    expect((await refused(tmp.dir, ['--port', 'http'])).out).toContain('--port: "http" is not a port');
  });
});

describe("serve's answers about the token", () => {
  it('pings 200 with the token; 401 says missing or wrong (and what to do); another port\'s cookie does not count', async () => {
    const s = await serve(tmp.dir, ['--port', '0']);
    expect((await ping(s.port, { 'x-trickbench-token': s.token })).status).toBe(200);
    expect((await ping(s.port, { cookie: `trickbench_token_${s.port}=${s.token}` })).status).toBe(200);
    const wrong = await ping(s.port, { 'x-trickbench-token': OTHER });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toBe(`wrong token: this serve was started with a different one (restarted with a new token?). Open the address serve printed (http://127.0.0.1:${s.port}/?token=…), or start serve with --token / TRICKBENCH_TOKEN to keep one`);
    const none = await ping(s.port, { 'x-trickbench-token': '' });
    expect(none.status).toBe(401);
    expect(await none.text()).toBe(`missing token: open the address serve printed (http://127.0.0.1:${s.port}/?token=…)`);
    for (const cookie of [`trickbench_token_${s.port + 1}=${s.token}`, `trickbench_token=${s.token}`]) {
      expect((await ping(s.port, { cookie })).status, cookie).toBe(401);
    }
  });
});
