import fs from 'node:fs';
import { SQLITE_BINDING_ENV } from './paths';
import { Store } from './store';

/** Open the store with the native binding the host chose (Electron's ABI under Electron). */
export function openStoreFromEnv(dataDir: string): Store {
  const binding = process.env[SQLITE_BINDING_ENV];
  return new Store(dataDir, binding && fs.existsSync(binding) ? { nativeBinding: binding } : {});
}
