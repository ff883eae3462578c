#!/usr/bin/env node
// Test runner: node's built-in runner over TypeScript test files (loaded through tsx), so CI reads
// its closing summary natively. Unit tests live beside the code (src/**/*.test.ts); integration and
// e2e suites in test/. Files named *.slow.test.ts run only with --slow (`npm run test:slow`).
// Extra arguments that are paths or substrings select test files: `npm test -- runtime`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const slow = args.includes('--slow');
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = [...walk(join(root, 'src')), ...walk(join(root, 'test'))].sort();
files = files.filter((f) => (slow ? f.endsWith('.slow.test.ts') : !f.endsWith('.slow.test.ts')));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  process.stderr.write('no test files matched\n');
  process.exit(1);
}
// The full run also type-checks, enforces the import rules and checks the formatting (the lint step).
if (filters.length === 0 && !process.env.SKIFF_SKIP_LINT) {
  const lint = [
    ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'],
    ['scripts/lint-imports.mjs'],
    ['node_modules/@biomejs/biome/bin/biome', 'format', '.'],
  ];
  for (const cmd of lint) {
    const r = spawnSync(process.execPath, cmd, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write(`lint failed: ${cmd.join(' ')}\n`);
      process.exit(1);
    }
  }
}
const concurrency = process.env.SKIFF_TEST_CONCURRENCY ?? '2';
// SKIFF_TEST_TIMES=FILE also writes each test file's wall time to FILE (scripts/test-times.mjs).
const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout'];
if (process.env.SKIFF_TEST_TIMES) {
  reporters.push(`--test-reporter=${join(root, 'scripts', 'test-times.mjs')}`, '--test-reporter-destination=stderr');
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...reporters, ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, SKIFF_ROOT: root, SKIFF_TEST_CONCURRENCY: concurrency, SKIFF_TEST_FILES: files.join('\n') },
  },
);
process.exit(r.status ?? 1);
