import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cronError, nextCronTime, parseCron } from './cron.js';

test('accepts standard schedules, names, steps, ranges and descriptors', () => {
  for (const ok of [
    '*/5 * * * *',
    '0 0 * * *',
    '15,45 9-17 * * mon-fri',
    '0 12 1 jan,jul *',
    '0 0 * * SUN',
    '30 2 */2 * ?',
    '@hourly',
    '@daily',
    '@midnight',
    '@weekly',
    '@monthly',
    '@yearly',
    '@annually',
    '@every 1h30m',
    '5/15 * * * *',
    'TZ=UTC 0 * * * *',
  ]) {
    assert.equal(cronError(ok), undefined, ok);
  }
});

test("rejects bad schedules with the parser's words", () => {
  assert.equal(cronError('bad'), 'expected exactly 5 fields, found 1: [bad]');
  assert.equal(cronError('* * * *'), 'expected exactly 5 fields, found 4: [* * * *]');
  assert.equal(cronError('60 * * * *'), 'end of range (60) above maximum (59): 60');
  assert.equal(cronError('0 0 0 * *'), 'beginning of range (0) below minimum (1): 0');
  assert.equal(cronError('5-1 * * * *'), 'beginning of range (5) beyond end of range (1): 5-1');
  assert.equal(cronError('@fortnightly'), 'unrecognized descriptor: @fortnightly');
  assert.match(cronError('x * * * *')!, /^failed to parse int from x/);
  assert.equal(cronError('*/0 * * * *'), 'step of range should be a positive number: */0');
  assert.equal(cronError('* * * * 7'), 'end of range (7) above maximum (6): 7');
});

test('next activation time', () => {
  const at = (s: string, from: string, tz?: string) => nextCronTime(parseCron(s), new Date(from), tz)?.toISOString();
  assert.equal(at('*/5 * * * *', '2024-01-01T10:02:30Z'), '2024-01-01T10:05:00.000Z');
  assert.equal(at('0 0 * * *', '2024-01-01T10:02:30Z'), '2024-01-02T00:00:00.000Z');
  assert.equal(at('0 9 * * mon', '2024-01-01T10:00:00Z'), '2024-01-08T09:00:00.000Z');
  assert.equal(at('0 0 29 2 *', '2024-03-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
  assert.equal(at('0 9 * * *', '2024-06-01T00:00:00Z', 'Europe/Berlin'), '2024-06-01T07:00:00.000Z');
});
