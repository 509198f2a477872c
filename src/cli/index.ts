#!/usr/bin/env node
// The `trickbench` command (package.json "bin", built to out/main/cli.js): `trickbench <subcommand>
// [options]` runs that subcommand's module (src/cli/commands.ts) with the arguments after its name;
// `trickbench --help` lists the subcommands, `trickbench <subcommand> --help` shows its options.
import { Command, CommanderError } from 'commander';
import { SUBCOMMANDS } from './commands';
import { exitOnClosedPipe, exitWhenFlushed, runMain } from './script';
import { VERSION } from './version';

const EXIT_USAGE = 2;
const NAMES = SUBCOMMANDS.map((c) => c.name).join(', ');

function program(): Command {
  const p = new Command('trickbench')
    .description('Does a training trick really help? Paired, multi-seed experiments, tracked in a local store.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'this help (each subcommand has its own: trickbench <subcommand> --help)')
    .usage('<subcommand> [options]')
    .exitOverride();
  for (const c of SUBCOMMANDS) p.command(c.name).description(c.summary);
  p.addHelpText('after', '\nThe data dir (--data-dir, else $TRICKBENCH_HOME, else ~/.trickbench) holds trickbench.db and runs/.');
  return p;
}

/** The top level's own arguments: --help, --version; anything else is a usage error (exit 2). */
function topLevel(argv: string[]): number {
  const [first] = argv;
  if (first === undefined) {
    program().outputHelp({ error: true });
    return EXIT_USAGE;
  }
  if (!first.startsWith('-')) {
    process.stderr.write(`trickbench: unknown subcommand '${first}'; the subcommands are: ${NAMES} (trickbench --help says what each does)\n`);
    return EXIT_USAGE;
  }
  try {
    program().parse(argv, { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return e.exitCode === 0 ? 0 : EXIT_USAGE; // --help, --version; commander said what was wrong
  }
  process.stderr.write(`trickbench: give a subcommand first (${NAMES})\n`);
  return EXIT_USAGE;
}

async function dispatch(argv: string[]): Promise<void> {
  exitOnClosedPipe();
  const sub = SUBCOMMANDS.find((c) => c.name === argv[0]);
  if (!sub) {
    process.exitCode = topLevel(argv);
    await exitWhenFlushed();
  }
  const { main } = await sub!.load();
  await runMain(main, argv.slice(1));
}

void dispatch(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
  return exitWhenFlushed();
});
