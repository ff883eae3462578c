#!/usr/bin/env node
// Code-shape rules that the type checker and the import rules do not cover (run by `npm run lint`
// and by the lint step of the full `npm test`):
//  - errors: `throw new Error(` in src/ is reported; components throw the closed set of
//    src/common/errors.ts so that each API edge maps them to a status once. A throw that truly must
//    stay a plain Error carries `lint-allow-error` in a comment on its line or the line above.
//  - swallowed errors: `.catch(() => undefined)` (or `.catch(() => {})`) in src/ needs a comment (on its line, or a comment
//    line right above, or above a run of such lines) that says why ignoring the failure is right;
//  - small files: no hand-written source file in src/ or native/ is over 500 lines (generated code
//    under src/cri/generated/ is exempt).
// Test code under src/ (`*.test.ts`, `*.suite.ts`: shared conformance suites) is exempt from the first
// two rules: a failed assertion there is meant to be a plain Error.
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_LINES = 500;
const GENERATED = ['src/cri/generated/'];
// The two spellings of a swallowed rejection.
const SWALLOWS = ['.catch(() => undefined)', '.catch(() => {})'];
const swallows = (line) => SWALLOWS.some((x) => line.includes(x));

function walk(dir, exts, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, exts, out);
    else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
  }
  return out;
}

const isComment = (line) => /^\s*(\/\/|\/\*|\*)/.test(line);
const hasComment = (lines, i, marker) => {
  const here = lines[i];
  const above = i > 0 ? lines[i - 1] : '';
  if (marker) return here.includes(marker) || (isComment(above) && above.includes(marker));
  if (/\/\/|\/\*/.test(here.slice(here.indexOf('.catch('))) || isComment(above)) return true;
  // A run of consecutive swallowing lines (kill, then kill harder) shares the comment above the run.
  return swallows(above) && hasComment(lines, i - 1);
};

const problems = [];
const files = [...walk(join(root, 'src'), ['.ts']), ...walk(join(root, 'native'), ['.c', '.h'])];
for (const file of files) {
  const rel = relative(root, file);
  if (GENERATED.some((g) => rel.startsWith(g))) continue;
  const lines = readFileSync(file, 'utf8').split('\n');
  const count = lines.at(-1) === '' ? lines.length - 1 : lines.length;
  if (count > MAX_LINES) problems.push(`${rel}: ${count} lines (at most ${MAX_LINES}; split it along a real seam)`);
  if (!rel.endsWith('.ts') || rel.endsWith('.test.ts') || rel.endsWith('.suite.ts')) continue;
  lines.forEach((line, i) => {
    if (line.includes('throw new Error(') && !isComment(line) && !hasComment(lines, i, 'lint-allow-error'))
      problems.push(`${rel}:${i + 1}: throw new Error( — throw a typed error from src/common/errors.ts`);
    if (swallows(line) && !hasComment(lines, i))
      problems.push(`${rel}:${i + 1}: a swallowed rejection (.catch(() => undefined|{})) without a comment saying why`);
  });
}
if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\nlint-code: ${problems.length} problem(s)\n`);
  process.exit(1);
}
process.stdout.write('code rules: ok\n');
