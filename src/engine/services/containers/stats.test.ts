// Stats numbers are integers, as moby's StatsResponse types them (the docker CLI decodes into
// uint64 fields and fails on anything else).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemCpuNs } from './stats.js';

test('system_cpu_usage is an integer number of ns for any tick count', () => {
  // 109966117 ticks gave 1099661169999999.9 through ticks / 100 * 1e9; scan a range of totals too
  const line = (user: number) => `cpu  ${user} 0 0 0 0 0 0 0 0 0\ncpu0 1 2 3\n`;
  assert.equal(systemCpuNs(line(109966117)), 1099661170000000);
  assert.equal(JSON.stringify(systemCpuNs(line(109966117))), '1099661170000000');
  for (let t = 1_000_000; t < 1_020_000; t++) {
    const v = systemCpuNs(line(t));
    if (!Number.isSafeInteger(v)) assert.fail(`${t} ticks → ${JSON.stringify(v)}`);
  }
  assert.equal(systemCpuNs('cpu  1 2 3 4 5 6 7 8 9 10\n'), 28 * 10_000_000, 'user … steal, not guest');
});
