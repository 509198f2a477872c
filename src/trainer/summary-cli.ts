// `trickbench summary --model resnet20 [--input 32x32x3] [--classes 10] [--set model.variant=d ...]`:
// a model's layer table (output shapes, parameters, multiply-adds per image) and totals, computed
// from the architecture alone (no tfjs). The LAST stdout line is one JSON object
// {model, input, classes, params, flops}. Model options come from the run-config schema, so the
// flags are the train CLI's (--config, --set, --width, --hidden, --dataset, ...).
import { Command } from 'commander';
import { dataShape, formatErrors, parseRunConfig, describeModel } from '../shared/config';
import { BUILTIN_FACTS } from '../shared/models/datasets';
import { formatCount, modelSummary } from '../shared/models/index';
import { formatSummaryTable } from '../shared/models/summary-table';
import { CliInputError, addConfigOptions, configFromOptions } from './cli-config';
import { runIfScript } from '../cli/script';

const EXIT_INVALID = 2;

function parseInput(s: string): [number, number, number] {
  const parts = s.toLowerCase().split('x').map(Number);
  if (parts.length !== 3 || parts.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new CliInputError([{ field: '--input', message: `expected HxWxC (e.g. 32x32x3), got "${s}"` }]);
  }
  return parts as [number, number, number];
}

function parseClasses(s: string): number {
  const k = Number(s);
  if (!Number.isInteger(k) || k < 1) throw new CliInputError([{ field: '--classes', message: `expected a positive integer, got "${s}"` }]);
  return k;
}

function summary(argv: string[]): number {
  const program = new Command('trickbench summary')
    .description("Print a model's layers, parameter count and multiply-adds for an input shape.")
    .option('--input <HxWxC>', "input shape per image (default: the config's dataset, synthetic 32x32x3)")
    .option('--classes <n>', "number of classes (default: the config's dataset)")
    .exitOverride();
  addConfigOptions(program, 'model.variant=d');
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode === 0 ? 0 : EXIT_INVALID;
  }
  const opts = program.opts<Record<string, unknown>>();
  try {
    // The summary reads no data dir: it knows the built-in datasets (--input and --classes for others).
    const parsed = parseRunConfig(configFromOptions(opts), BUILTIN_FACTS);
    if (!parsed.ok) {
      process.stderr.write(`invalid config:\n${formatErrors(parsed.errors)}\n`);
      return EXIT_INVALID;
    }
    const { model, dataset, augment } = parsed.config;
    const info = dataShape(dataset, BUILTIN_FACTS, augment);
    const input = typeof opts.input === 'string' ? parseInput(opts.input) : info.shape;
    const classes = typeof opts.classes === 'string' ? parseClasses(opts.classes) : info.classes;
    let summary;
    try {
      summary = modelSummary(model, input, classes);
    } catch (e) {
      process.stderr.write(`${describeModel(model)} does not fit ${input.join('x')}: ${(e as Error).message}\n`);
      return EXIT_INVALID;
    }
    const lines = [
      formatSummaryTable(describeModel(model), summary),
      `Input: ${input.join('x')}, ${classes} classes`,
      `Total params: ${summary.params.toLocaleString('en-US')} (${formatCount(summary.params)})`,
      `Mult-adds per image: ${summary.flops.toLocaleString('en-US')} (${formatCount(summary.flops)})`,
      JSON.stringify({ model, input, classes, params: summary.params, flops: summary.flops }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (e) {
    if (e instanceof CliInputError) {
      process.stderr.write(`invalid input:\n${e.message}\n`);
      return EXIT_INVALID;
    }
    throw e;
  }
}

/** `trickbench summary ARGS` (src/cli/script.ts): exit 2 for a bad config or shape. */
export async function main(argv: string[]): Promise<void> {
  process.exitCode = summary(argv);
}

runIfScript(import.meta.url, main);
