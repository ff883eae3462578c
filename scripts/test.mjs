#!/usr/bin/env node
// Test runner: node's built-in runner over TypeScript test files (loaded through tsx), so CI reads
// its closing summary natively. Unit tests live beside the code (src/**/*.test.ts); integration and
// e2e suites in test/. Files named *.slow.test.ts run only with --slow (`npm run test:slow`).
// Extra arguments that are paths or substrings select test files: `npm test -- runtime`.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// The full run also type-checks, enforces the import rules and the code rules (lint-code.mjs) and
// checks the formatting (the lint step).
// The type check runs beside the tests (its output to a file; judged at the end) with its
// incremental state cached per checkout, so a re-run only re-checks what changed.
let typecheck;
if (filters.length === 0 && !process.env.SKIFF_SKIP_LINT) {
  const lint = [
    ['scripts/lint-imports.mjs'],
    ['scripts/lint-code.mjs'],
    ['node_modules/@biomejs/biome/bin/biome', 'format', '.'],
  ];
  for (const cmd of lint) {
    const r = spawnSync(process.execPath, cmd, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write(`lint failed: ${cmd.join(' ')}\n`);
      process.exit(1);
    }
  }
  const cache = '/var/cache/skiff/tsc';
  mkdirSync(cache, { recursive: true });
  const info = join(cache, `${createHash('sha256').update(root).digest('hex').slice(0, 16)}.tsbuildinfo`);
  const out = join(mkdtempSync(join(tmpdir(), 'skiff-tsc-')), 'out.txt');
  const fd = openSync(out, 'w');
  const tsc = ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.', '--incremental', '--tsBuildInfoFile', info];
  const child = spawn(process.execPath, tsc, { cwd: root, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  typecheck = { out, exited: new Promise((res) => child.on('exit', (code) => res(code ?? 1))) };
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
let status = r.status ?? 1;
if (typecheck) {
  const code = await typecheck.exited;
  if (code !== 0) {
    process.stderr.write(`${readFileSync(typecheck.out, 'utf8')}lint failed: tsc --noEmit (exit ${code})\n`);
    status = 1;
  }
  rmSync(dirname(typecheck.out), { recursive: true, force: true });
}
process.exit(status);
