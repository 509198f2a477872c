// `npm run preset -- ID [--seeds 1,2,3] [--epochs N] [--train-subset N] --data-dir DIR` (or
// `--list`): a preset is an experiment file, so this is `npm run experiment -- --preset ID`.
import { main } from './experiment-cli';

const args = process.argv.slice(2);
const id = args[0] && !args[0].startsWith('-') ? args[0] : null;
const rest = id ? args.slice(1) : args;
const argv = rest.includes('--list') || !id ? ['--list-presets', ...rest.filter((a) => a !== '--list')] : ['--preset', id, ...rest];
main(argv).then((c) => process.exit(id || args.includes('--list') ? c : 2));
