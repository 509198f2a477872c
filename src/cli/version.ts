// The package's version, as `trickbench --version` and serve's app:info report it (inlined from
// package.json at build time: the bin runs without npm, so $npm_package_version is not set).
import { version } from '../../package.json';

export const VERSION: string = version;
