// How a CLI module runs. Each CLI (src/main/serve.ts, src/trainer/cli.ts, ...) is a module exporting
// `main(argv)`: argv is what follows its name (`trickbench train --epochs 2` gives ['--epochs', '2']),
// it writes its human output and its last JSON line itself, and it sets process.exitCode. The
// `trickbench` bin (src/cli/index.ts) imports the module and calls main; the same module also runs
// as a script (`node --import tsx src/trainer/cli.ts ...` in the tests, `node out/main/serve.js`),
// through runIfScript.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export type CliMain = (argv: string[]) => Promise<void>;

/** True when the module at `moduleUrl` (its import.meta.url) is the script node was started with.
 * False for a module a bundle's chunk holds or another module imported. */
export function isScript(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script || !moduleUrl.startsWith('file:')) return false;
  try {
    return fs.realpathSync(script) === fs.realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Flush stdout and stderr, then exit with process.exitCode. A finished command exits even when a
 * worker thread, a tfjs backend or a timer would keep the event loop alive. */
export async function exitWhenFlushed(): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
  process.exit();
}

/** A reader that stops early (`trickbench --help | head`) closes the pipe: stop there, quietly,
 * instead of dying on an unhandled EPIPE. */
let pipeGuarded = false;
export function exitOnClosedPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit();
    });
  }
}

/** Run `main` with the arguments after the command's name; an error it did not handle is printed
 * (with its stack: it is a bug, or a failure the command should have named) and exits 1. */
export async function runMain(main: CliMain, argv: string[]): Promise<never> {
  exitOnClosedPipe();
  try {
    await main(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
  return exitWhenFlushed();
}

/** Run the module as a script when it is one (see isScript). */
export function runIfScript(moduleUrl: string, main: CliMain): void {
  if (isScript(moduleUrl)) void runMain(main, process.argv.slice(2));
}
