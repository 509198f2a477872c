// `trickbench preset ID [--seeds 1,2,3] [--epochs N] [--train-subset N] --data-dir DIR` (or
// `--list`): a preset is an experiment file, so this is `trickbench experiment --preset ID`, and
// every other option of `trickbench experiment` passes through.
import { Command, CommanderError } from 'commander';
import { experiment } from './experiment-cli';
import { runIfScript } from '../cli/script';

const EXIT_INVALID = 2;

/** Commander checks the arguments and answers --help; the experiment CLI gets them as given. */
function checked(argv: string[]): number | null {
  const program = new Command('trickbench preset')
    .description("Run a preset's experiment (resources/presets; --list shows them): trickbench experiment --preset ID, with the same options.")
    .argument('[id]', 'the preset (trickbench preset --list)')
    .option('--list', 'list the presets and their arms')
    .option('--data-dir <dir>', 'data dir (default $TRICKBENCH_HOME or ~/.trickbench)')
    .option('--seeds <list>', "seeds instead of the preset's")
    .option('--epochs <n>', 'train every run for this many epochs instead (a quick look)')
    .option('--train-subset <n>', 'use this many training images in every run instead')
    .addHelpText('after', '\nAny other option of `trickbench experiment` (--metric, --rule, --test, --correction, --alpha, ...) is passed on: see trickbench experiment --help.')
    .allowUnknownOption()
    .allowExcessArguments()
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_INVALID;
    throw e;
  }
  return null;
}

async function preset(argv: string[]): Promise<number> {
  const early = checked(argv);
  if (early !== null) return early;
  const id = argv[0] && !argv[0].startsWith('-') ? argv[0] : null;
  const rest = id ? argv.slice(1) : argv;
  if (rest.includes('--list') || !id) {
    const code = await experiment(['--list-presets', ...rest.filter((a) => a !== '--list')]);
    if (!id && !rest.includes('--list')) process.stderr.write('trickbench preset: give a preset id (one of the above), or --list\n');
    return id || rest.includes('--list') ? code : EXIT_INVALID;
  }
  return experiment(['--preset', id, ...rest]);
}

/** `trickbench preset ARGS` (src/cli/script.ts): the experiment CLI's exit status; 2 without a preset id. */
export async function main(argv: string[]): Promise<void> {
  process.exitCode = await preset(argv);
}

runIfScript(import.meta.url, main);
