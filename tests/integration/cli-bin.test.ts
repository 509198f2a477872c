// The `trickbench` command as installed: the built bin (package.json "bin", out/main/cli.js, run
// with node and no TypeScript loader): its help, its subcommands' help, an unknown subcommand, a
// training run's JSON line, and serve's DATA_DIR/server.json.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tmpDataDir } from '../helpers/tmp';

const ROOT = path.join(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const BIN = path.join(ROOT, pkg.bin.trickbench ?? 'no "trickbench" in package.json "bin"');

/** Each subcommand and options its --help must list. */
const OPTIONS: Record<string, string[]> = {
  serve: ['--data-dir', '--port', '--token', '--concurrency', 'server.json'],
  train: ['--data-dir', '--resume', '--epochs', '--model', '--set'],
  'cluster-task': ['--run-dir'],
  experiment: ['--file', '--preset', '--experiment', '--seeds', '--data-dir'],
  preset: ['--list', '--seeds', '--epochs', '--data-dir'],
  export: ['--out', '--histories', '--events', '--runs', '--data-dir'],
  dataset: ['inspect', 'list', 'download'],
  summary: ['--input', '--classes', '--model'],
  bench: ['--suite', '--backend', '--reps', '--no-torch'],
};

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    // No tsx: what `npx trickbench` or an installed bin runs.
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The subcommand names in `trickbench --help`'s Commands section. */
function listed(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
}

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: build first (electron-vite build)`);
});

describe('trickbench --help and --version', () => {
  it('is an executable node script', () => {
    expect(fs.readFileSync(BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('lists every subcommand with a one-line description; each one answers --help with its options', async () => {
    const top = await run(['--help']);
    expect(top.code, top.stderr).toBe(0);
    const names = listed(top.stdout);
    for (const n of Object.keys(OPTIONS)) expect(names, `${n} in trickbench --help`).toContain(n);
    for (const line of top.stdout.split(/^Commands:$/m)[1]!.split('\n').filter((l) => /^ {2}[a-z]/.test(l))) {
      expect(line.trim().split(/\s{2,}/)[1], `description of ${line}`).toMatch(/\w{3,}/);
    }
    for (const name of names) {
      const r = await run([name, '--help']);
      expect(r.code, `${name} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Usage: trickbench ${name}`);
      // A subcommand added later (import) must list options too; the known ones list theirs.
      for (const o of OPTIONS[name] ?? ['Options:', '--']) expect(r.stdout, `${name} --help`).toContain(o);
    }
  });

  it('prints the version of package.json', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('refuses an unknown subcommand, naming it and listing the subcommands (exit 2)', async () => {
    const r = await run(['trian', '--epochs', '1']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown subcommand 'trian'");
    for (const n of Object.keys(OPTIONS)) expect(r.stderr).toContain(n);
  });

  it('without a subcommand: the help on stderr, exit 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(listed(r.stderr)).toEqual(expect.arrayContaining(Object.keys(OPTIONS)));
  });
});

describe('trickbench train', () => {
  const tmp = tmpDataDir('tb-cli-bin-');
  afterAll(tmp.cleanup);

  it('trains a tiny synthetic run: stdout is one JSON line, exit 0', async () => {
    const r = await run(['train', '--dataset', 'synthetic', '--model', 'mlp', '--train-subset', '128', '--epochs', '1', '--batch-size', '32', '--seed', '3', '--data-dir', tmp.dir]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1); // human output (progress, the backend) goes to stderr
    const out = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(out).toMatchObject({ runId: 1, status: 'completed', error: null });
    expect(typeof (out.metrics as Record<string, unknown>)['test/acc']).toBe('number');
    expect(r.stderr).toContain('run 1:');
    expect(fs.existsSync(path.join(tmp.dir, 'trickbench.db'))).toBe(true);
  });

  it('refuses a bad flag naming the field, exit 2, as from source', async () => {
    const r = await run(['train', '--epochs', '-1', '--data-dir', path.join(tmp.dir, 'bad')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('epochs: must be >= 1, got -1');
    expect(fs.existsSync(path.join(tmp.dir, 'bad', 'trickbench.db'))).toBe(false);
  });
});

describe('trickbench serve and DATA_DIR/server.json', () => {
  let tmp: ReturnType<typeof tmpDataDir>;
  let children: ChildProcess[] = [];
  beforeEach(() => {
    tmp = tmpDataDir('tb-cli-serve-');
    children = [];
  });
  afterEach(async () => {
    for (const c of children) await stop(c);
    tmp.cleanup();
  });

  function serve(dataDir: string): Promise<{ child: ChildProcess; url: URL; out: string }> {
    const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TRICKBENCH_TOKEN: undefined } });
    children.push(child);
    let out = '';
    return new Promise((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Open: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
        if (m) resolve({ child, url: new URL(m[1]!), out });
      });
      child.on('exit', (code) => reject(Object.assign(new Error(`serve exited (${code}):\n${out}`), { code, out })));
    });
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }

  const file = () => path.join(tmp.dir, 'server.json');

  it('writes {url, token, pid} with mode 0600 once it listens, and removes it at SIGTERM', async () => {
    const s = await serve(tmp.dir);
    const entry = JSON.parse(fs.readFileSync(file(), 'utf8')) as Record<string, unknown>;
    expect(entry).toEqual({ url: s.url.origin, token: s.url.searchParams.get('token'), pid: s.child.pid });
    if (process.platform !== 'win32') expect(fs.statSync(file()).mode & 0o777).toBe(0o600);
    // What a client does with it: the base URL and the token reach the API.
    const info = await fetch(`${entry.url as string}/api/invoke/app:info`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-trickbench-token': entry.token as string },
      body: 'null',
    });
    expect(info.status).toBe(200);
    expect(((await info.json()) as { value: { version: string } }).value.version).toBe(pkg.version);
    await stop(s.child);
    expect([s.child.exitCode, s.child.signalCode]).toEqual([0, null]);
    expect(fs.existsSync(file())).toBe(false);
    expect(fs.readdirSync(tmp.dir).filter((f) => f.includes('server.json'))).toEqual([]); // no temp file left
  });

  it('leaves a server.json that names another process at stop', async () => {
    const s = await serve(tmp.dir);
    const other = `${JSON.stringify({ url: 'http://127.0.0.1:1', token: 'x', pid: 1 })}\n`;
    fs.writeFileSync(file(), other); // another serve started on this data dir since
    await stop(s.child);
    expect(s.child.exitCode).toBe(0);
    expect(fs.readFileSync(file(), 'utf8')).toBe(other);
  });

  it.skipIf(process.platform === 'win32')('refuses a symbolic link at server.json, naming it, and writes nothing through it', async () => {
    const target = path.join(tmp.dir, 'elsewhere.txt');
    fs.writeFileSync(target, 'untouched\n');
    fs.symlinkSync(target, file());
    const err = (await serve(tmp.dir).then(
      () => null,
      (e: unknown) => e as { code: number; out: string },
    ))!;
    expect(err, 'serve started through a link').not.toBeNull();
    expect(err.code).toBe(1);
    expect(err.out).toContain(`${file()} is a symbolic link`);
    expect(fs.readFileSync(target, 'utf8')).toBe('untouched\n');
  });
});
