// The numbers the README states about the code match the code (see counts.ts; fix with
// `node scripts/doc-counts.mjs --write`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCounts } from './counts.js';

test('doc counts match the code', () => {
  for (const r of checkCounts())
    assert.equal(
      r.stated,
      r.computed,
      `${r.file} says ${r.stated}, the code has ${r.computed}: run node scripts/doc-counts.mjs --write`,
    );
});
