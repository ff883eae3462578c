#!/usr/bin/env node
// `npm run bench -- NAME`: runs bench/NAME.ts (through tsx). Benchmarks print ratios against the
// peer they name, measured in the same run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...rest] = process.argv.slice(2);
const file = name && join(root, 'bench', `${name}.ts`);
if (!file || !existsSync(file)) {
  const have = existsSync(join(root, 'bench'))
    ? readdirSync(join(root, 'bench'))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => f.slice(0, -3))
    : [];
  process.stderr.write(`usage: npm run bench -- NAME   (one of: ${have.join(', ') || 'none yet'})\n`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...rest], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
