// What serve keeps between starts (src/main/serve-state.ts) and what a token must be
// (src/main/security.ts): the token file is made 0600 from the start, reused, and refused when it
// is a link, not a file, or open to others; --token beats TRICKBENCH_TOKEN beats the file.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenMatches, tokenProblem } from '../../src/main/security';
import { createTokenFile, parsePort, portCandidates, readLastPort, readTokenFile, resolveToken, saveLastPort, TOKEN_FILE } from '../../src/main/serve-state';
import { tmpDataDir } from '../helpers/tmp';

const POSIX = process.platform !== 'win32';
const GOOD = 'Zq3-x_9LmN0pQrStUvWxYz12345678ab';

let tmp: ReturnType<typeof tmpDataDir>;
beforeEach(() => {
  tmp = tmpDataDir('tb-serve-state-');
});
afterEach(() => tmp.cleanup());

const tokenFile = () => path.join(tmp.dir, TOKEN_FILE);
const modeOf = (f: string) => fs.statSync(f).mode & 0o777;

describe('a chosen token', () => {
  it('is 32-256 characters of A-Z a-z 0-9 _ -, varied', () => {
    expect(tokenProblem(GOOD)).toBeNull();
    expect(tokenProblem('0123456789abcdef'.repeat(2))).toBeNull();
    expect(tokenProblem('x'.repeat(31) + 'y')).toMatch(/too predictable \(only 2 different characters/);
    expect(tokenProblem('short1234')).toMatch(/^too short \(9 characters; a token is 32 to 256 characters/);
    expect(tokenProblem(GOOD.repeat(9))).toMatch(/^too long \(288 characters/);
    expect(tokenProblem(`${GOOD.slice(0, 31)}/`)).toMatch(/^character 32 is not one of A-Z a-z 0-9 _ -/);
    expect(tokenProblem(`${GOOD} `)).toMatch(/^character 33 is not one of/);
    expect(tokenProblem(`é${GOOD}`)).toMatch(/^character 1 is not one of/);
    expect(tokenProblem('')).toMatch(/^too short \(0 characters/);
  });
  it('never appears in its own error', () => {
    for (const bad of ['hunter2hunter2', `${GOOD}%`, 'ab'.repeat(20)]) expect(tokenProblem(bad)).not.toContain(bad);
  });
  it('matches only itself (any length presented)', () => {
    expect(tokenMatches(GOOD, GOOD)).toBe(true);
    for (const t of [null, undefined, '', GOOD.slice(0, -1), `${GOOD}a`, GOOD.toUpperCase(), 'x']) expect(tokenMatches(t, GOOD), String(t)).toBe(false);
  });
});

describe('the token serve uses', () => {
  it('is --token, then TRICKBENCH_TOKEN, then the token file; chosen ones are not saved', () => {
    const other = 'AnotherToken_0123456789-abcdefghij';
    expect(resolveToken({ option: GOOD, env: other, dataDir: tmp.dir })).toEqual({ token: GOOD, source: 'option' });
    expect(resolveToken({ env: other, dataDir: tmp.dir })).toEqual({ token: other, source: 'env' });
    expect(fs.existsSync(tokenFile())).toBe(false);
    const first = resolveToken({ env: '', dataDir: tmp.dir }); // an empty variable counts as unset
    expect(first).toMatchObject({ source: 'new', file: tokenFile() });
    expect(first.token).toMatch(/^[0-9a-f]{48}$/);
    expect(resolveToken({ dataDir: tmp.dir })).toEqual({ token: first.token, source: 'file', file: tokenFile() });
    expect(resolveToken({ option: GOOD, dataDir: tmp.dir }).token).toBe(GOOD);
  });
  it('refuses a bad chosen token, naming the option or the variable', () => {
    expect(() => resolveToken({ option: 'abc', dataDir: tmp.dir })).toThrow(/^--token: too short \(3 characters/);
    expect(() => resolveToken({ env: 'abc', dataDir: tmp.dir })).toThrow(/^TRICKBENCH_TOKEN: too short/);
    // a bad --token is refused even when the variable is good: no silent fallback
    expect(() => resolveToken({ option: `${GOOD}!`, env: GOOD, dataDir: tmp.dir })).toThrow(/^--token: character 33/);
    expect(fs.existsSync(tokenFile())).toBe(false);
  });
});

describe('the token file', () => {
  it('is made 0600 whatever the umask, holds only the token, and leaves no temp file', () => {
    const old = process.umask(0); // a umask of 0 would make a plain create 0666
    try {
      const token = createTokenFile(tokenFile());
      if (POSIX) expect(modeOf(tokenFile())).toBe(0o600);
      expect(fs.readFileSync(tokenFile(), 'utf8')).toBe(`${token}\n`);
      expect(fs.readdirSync(tmp.dir)).toEqual([TOKEN_FILE]);
    } finally {
      process.umask(old);
    }
  });
  it('is made in a data dir that does not exist yet', () => {
    const file = path.join(tmp.dir, 'a', 'b', TOKEN_FILE);
    expect(readTokenFile(file)).toBeNull();
    const token = createTokenFile(file);
    expect(readTokenFile(file)).toBe(token);
  });
  it("is not replaced when another serve made it first: theirs is used", () => {
    fs.writeFileSync(tokenFile(), `${GOOD}\n`, { mode: 0o600 });
    expect(createTokenFile(tokenFile())).toBe(GOOD);
    expect(fs.readFileSync(tokenFile(), 'utf8')).toBe(`${GOOD}\n`);
    expect(fs.readdirSync(tmp.dir)).toEqual([TOKEN_FILE]);
  });
  it.runIf(POSIX)('is refused when others may read or write it, with the file and the fix', () => {
    for (const mode of [0o644, 0o640, 0o604, 0o602]) {
      fs.rmSync(tokenFile(), { force: true });
      fs.writeFileSync(tokenFile(), `${GOOD}\n`);
      fs.chmodSync(tokenFile(), mode);
      const m = mode.toString(8).padStart(4, '0');
      expect(() => resolveToken({ dataDir: tmp.dir }), m).toThrow(`${tokenFile()} is open to other users (mode ${m}; run chmod 600 ${tokenFile()} if nobody else can have read it)`);
      // the token is not in the message, and the file is left as it was
      expect(() => resolveToken({ dataDir: tmp.dir })).not.toThrow(GOOD);
      expect(modeOf(tokenFile())).toBe(mode);
    }
    fs.chmodSync(tokenFile(), 0o400); // owner-only, read-only: fine
    expect(resolveToken({ dataDir: tmp.dir })).toMatchObject({ token: GOOD, source: 'file' });
  });
  it.runIf(POSIX)('is refused when it is a symbolic link, even to a good token file', () => {
    const real = path.join(tmp.dir, 'elsewhere');
    fs.writeFileSync(real, `${GOOD}\n`, { mode: 0o600 });
    fs.symlinkSync(real, tokenFile());
    expect(() => resolveToken({ dataDir: tmp.dir })).toThrow(new RegExp(`^${tokenFile().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is a symbolic link: serve keeps its access token there and will not use it. .*delete it`));
    fs.rmSync(tokenFile());
    fs.symlinkSync(path.join(tmp.dir, 'nowhere'), tokenFile()); // dangling: not followed to create one either
    expect(() => resolveToken({ dataDir: tmp.dir })).toThrow(/is a symbolic link/);
    expect(fs.existsSync(path.join(tmp.dir, 'nowhere'))).toBe(false);
  });
  it.runIf(POSIX)('is refused when it is a directory or a FIFO (without hanging)', () => {
    fs.mkdirSync(tokenFile());
    expect(() => resolveToken({ dataDir: tmp.dir })).toThrow(`${tokenFile()} is not a regular file`);
    fs.rmdirSync(tokenFile());
    execFileSync('mkfifo', ['-m', '600', tokenFile()]);
    expect(() => resolveToken({ dataDir: tmp.dir })).toThrow(`${tokenFile()} is not a regular file`);
  });
  it('is refused when it holds no valid token (empty, junk), naming the file', () => {
    fs.writeFileSync(tokenFile(), '', { mode: 0o600 });
    expect(() => resolveToken({ dataDir: tmp.dir })).toThrow(`${tokenFile()} does not hold a valid token (too short (0 characters`);
    fs.writeFileSync(tokenFile(), 'x'.repeat(5000), { mode: 0o600 });
    expect(() => resolveToken({ dataDir: tmp.dir })).toThrow(`${tokenFile()} is 5000 bytes, not a token`);
  });
});

describe('the port', () => {
  it('is the --port given, else the last one, the default, any free one', () => {
    expect(portCandidates({ explicit: 8123, last: 9000, fallback: 7340 })).toEqual([8123]);
    expect(portCandidates({ explicit: 0, last: 9000, fallback: 7340 })).toEqual([0]);
    expect(portCandidates({ last: 9000, fallback: 7340 })).toEqual([9000, 7340, 0]);
    expect(portCandidates({ last: 7340, fallback: 7340 })).toEqual([7340, 0]);
    expect(portCandidates({ last: null, fallback: 7340 })).toEqual([7340, 0]);
  });
  it('is remembered in the data dir; a junk record is ignored', () => {
    expect(readLastPort(tmp.dir)).toBeNull();
    expect(saveLastPort(tmp.dir, 41234)).toBeNull();
    expect(readLastPort(tmp.dir)).toBe(41234);
    for (const junk of ['', 'abc', '0', '70000', '-5', '12 34']) {
      fs.writeFileSync(path.join(tmp.dir, 'serve-port'), junk);
      expect(readLastPort(tmp.dir), junk).toBeNull();
    }
    expect(saveLastPort(path.join(tmp.dir, 'no', 'such', 'dir'), 1)).toBeInstanceOf(Error);
  });
  it('--port is a whole number 0-65535, named when not', () => {
    expect(parsePort('0')).toBe(0);
    expect(parsePort('7340')).toBe(7340);
    for (const bad of ['', 'abc', '-1', '65536', '1.5', '80x']) expect(() => parsePort(bad), bad).toThrow(`--port: "${bad}" is not a port (a whole number 0-65535`);
  });
});
