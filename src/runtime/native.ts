// Locating the native helpers (native/build/*) from source (src/runtime) or the bundle (dist/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { failedPrecondition } from '../common/index.js';

const cache = new Map<string, string>();

export function nativeBinary(name: 'skiff-init' | 'skiff-monitor' | 'skiff-spawn'): string {
  const env =
    process.env[name === 'skiff-init' ? 'SKIFF_INIT' : name === 'skiff-monitor' ? 'SKIFF_MONITOR' : 'SKIFF_SPAWN'];
  if (env) return env;
  const hit = cache.get(name);
  if (hit) return hit;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'native', 'build', name);
    if (existsSync(p)) {
      cache.set(name, p);
      return p;
    }
    dir = dirname(dir);
  }
  throw failedPrecondition(`${name} not found under native/build: run \`npm run build\``);
}
