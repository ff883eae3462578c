// Numbers the docs state about the code, computed from the code. `node scripts/doc-counts.mjs
// --write` rewrites them; `test/docs/counts.test.ts` (in `npm test`) fails when a doc disagrees.
// A new number in a doc belongs here, or should not be written.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allResources } from '../../src/kube/api/index.js';
import { createApiServer } from '../../src/kube/apiserver/index.js';
import { createMemoryStore } from '../../src/kube/storage/index.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Kinds the API server serves (group + kind; core/v1 and events.k8s.io Events count twice). */
function kindsServed(): number {
  const api = createApiServer({ store: createMemoryStore({ compactIntervalMs: 0 }), resources: allResources() });
  return new Set(api.registry.all().map((d) => `${d.group}/${d.kind}`)).size;
}

export interface DocCount {
  file: string;
  /** Matches once in the file; its first group is the number. */
  pattern: RegExp;
  value: () => number;
}

export const COUNTS: DocCount[] = [
  { file: 'README.md', pattern: /API machinery, auth, (\d+) kinds/, value: kindsServed },
];

/** [file, stated, computed] for every count; throws when a pattern is missing or ambiguous. */
export function checkCounts(write = false): { file: string; stated: number; computed: number }[] {
  return COUNTS.map((c) => {
    const path = join(ROOT, c.file);
    const text = readFileSync(path, 'utf8');
    const all = [...text.matchAll(new RegExp(c.pattern.source, `${c.pattern.flags.replace('g', '')}g`))];
    if (all.length !== 1) throw new Error(`${c.file}: ${c.pattern} matches ${all.length} times (want 1)`);
    const computed = c.value();
    const m = all[0];
    if (write && Number(m[1]) !== computed) {
      const at = m.index! + m[0].indexOf(m[1]);
      writeFileSync(path, text.slice(0, at) + String(computed) + text.slice(at + m[1].length));
    }
    return { file: c.file, stated: Number(m[1]), computed };
  });
}

if (process.argv[1] === import.meta.filename) {
  const write = process.argv.includes('--write');
  for (const r of checkCounts(write))
    process.stdout.write(
      `${r.file}: ${r.stated}${r.stated === r.computed ? ' (matches the code)' : ` → ${r.computed}${write ? ' (rewritten)' : ' (differs; run with --write)'}`}\n`,
    );
}
