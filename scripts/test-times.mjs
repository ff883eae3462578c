// A node:test reporter that writes, at the end of a run, how long each test file took (wall time
// from when the runner started it to its last event) — to find what makes `npm test` slow.
// Used by scripts/test.mjs when SKIFF_TEST_TIMES names an output file. Files start in list order
// as slots free up, so a file's start is the completion that freed its slot.
import { writeFileSync } from 'node:fs';

export default async function* timesReporter(source) {
  const t0 = Date.now();
  const last = new Map();
  for await (const ev of source) {
    const f = ev.data?.file;
    if (f) last.set(f, Date.now() - t0);
  }
  const slots = Number(process.env.SKIFF_TEST_CONCURRENCY ?? 2);
  const order = (process.env.SKIFF_TEST_FILES ?? '').split('\n').filter(Boolean);
  const done = [...last.values()].sort((a, b) => a - b);
  const rows = order.map((f, i) => {
    const end = [...last.entries()].find(([k]) => k.endsWith(f))?.[1] ?? 0;
    const start = i < slots ? 0 : (done[i - slots] ?? 0);
    return { file: f, seconds: Math.max(0, end - start) / 1000 };
  });
  rows.sort((a, b) => b.seconds - a.seconds);
  const text = rows.map((r) => `${r.seconds.toFixed(1).padStart(7)} ${r.file}`).join('\n');
  writeFileSync(process.env.SKIFF_TEST_TIMES ?? 'test-times.txt', `${text}\n`);
  yield '';
}
