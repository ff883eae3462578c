#!/usr/bin/env node
// Rewrites the numbers the docs state about the code (kinds served, …) from the code:
// `node scripts/doc-counts.mjs --write`; without --write it only reports. The list of counts and
// how each is computed is test/docs/counts.ts, which `npm test` also checks.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', join(root, 'test/docs/counts.ts'), ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
process.exit(r.status ?? 1);
