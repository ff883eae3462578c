// Where native/build/skiff-monitor lives, both when running from src/ through tsx and from the
// esbuild bundle in dist/: $SKIFF_NATIVE_DIR, else the nearest ancestor of this module that holds
// package.json, + native/build.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function nativeDir(): string {
  if (process.env.SKIFF_NATIVE_DIR) return process.env.SKIFF_NATIVE_DIR;
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native')))
      return (cached = join(dir, 'native', 'build'));
    const up = dirname(dir);
    if (up === dir) return (cached = join(process.cwd(), 'native', 'build'));
    dir = up;
  }
}

export function monitorBinary(): string {
  return join(nativeDir(), 'skiff-monitor');
}
