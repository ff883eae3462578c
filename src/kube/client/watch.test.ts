// Watch lines split on bytes: every chunk boundary (inside a UTF-8 character, inside a line, on a
// newline) gives the same events; blank lines are skipped; an ERROR event ends the watch with the
// error it reports, a 410 as Expired.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from './rest.js';
import { EventLines, isExpired, watchEvents } from './watch.js';

const events = [
  { type: 'ADDED', object: { metadata: { name: 'café-ünï', resourceVersion: '1' }, data: { v: '€𝄞✓' } } },
  { type: 'MODIFIED', object: { metadata: { name: 'b', resourceVersion: '2' }, data: { v: 'x'.repeat(300) } } },
  { type: 'DELETED', object: { metadata: { name: '日本', resourceVersion: '3' } } },
];
/** What one more chunk completes. */
function feed(lines: EventLines, chunk: Buffer): unknown[] {
  lines.push(chunk);
  const out = [];
  for (let ev = lines.next(); ev; ev = lines.next()) out.push(ev);
  return out;
}

const bytes = Buffer.from(
  `${JSON.stringify(events[0])}\n\n${JSON.stringify(events[1])}\r\n \n${JSON.stringify(events[2])}\n`,
);

test('every split of the stream into two and three chunks yields the same events', () => {
  const whole = feed(new EventLines(), bytes);
  assert.deepEqual(whole, events);
  const step = 7;
  for (let i = 0; i <= bytes.length; i++) {
    const two = new EventLines();
    assert.deepEqual([...feed(two, bytes.subarray(0, i)), ...feed(two, bytes.subarray(i))], events, `split at ${i}`);
    for (let j = i; j <= bytes.length; j += step) {
      const three = new EventLines();
      const got = [
        ...feed(three, bytes.subarray(0, i)),
        ...feed(three, bytes.subarray(i, j)),
        ...feed(three, bytes.subarray(j)),
      ];
      assert.deepEqual(got, events, `split at ${i} and ${j}`);
    }
  }
  // one byte at a time
  const lines = new EventLines();
  const got = [];
  for (let i = 0; i < bytes.length; i++) got.push(...feed(lines, bytes.subarray(i, i + 1)));
  assert.deepEqual(got, events);
});

test('an unfinished last line yields nothing until its newline', () => {
  const lines = new EventLines();
  const line = Buffer.from(JSON.stringify(events[1]));
  assert.deepEqual(feed(lines, line.subarray(0, 10)), []);
  assert.deepEqual(feed(lines, line.subarray(10)), []);
  assert.deepEqual(feed(lines, Buffer.from('\n')), [events[1]]);
});

test('an ERROR event throws: 410 as Expired, others as Internal with their reason', () => {
  const gone = { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' } };
  assert.throws(
    () => feed(new EventLines(), Buffer.from(`${JSON.stringify(gone)}\n`)),
    (e: Error & { code?: string }) => isExpired(e) && e.code === 'FailedPrecondition' && e.message === 'too old',
  );
  const other = { type: 'ERROR', object: { kind: 'Status', code: 500, reason: 'InternalError', message: 'boom' } };
  assert.throws(
    () => feed(new EventLines(), Buffer.from(`${JSON.stringify(other)}\n`)),
    (e: Error & { code?: string; reason?: string }) => e.code === 'Internal' && e.reason === 'InternalError',
  );
});

test('watchEvents over a socket: chunks written apart arrive as whole events, then a 410 ends the watch', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-watch-'));
  const sock = join(dir, 'api.sock');
  let query = '';
  const server = http.createServer(async (req, res) => {
    query = req.url ?? '';
    res.writeHead(200, { 'Content-Type': 'application/json' });
    // cut inside the first event's "é" (two bytes) and inside the second line
    const cuts = [bytes.indexOf(Buffer.from('é')) + 1, bytes.indexOf('"b"') + 1, bytes.length];
    let from = 0;
    for (const to of cuts) {
      res.write(bytes.subarray(from, to));
      from = to;
      await new Promise((r) => setTimeout(r, 20));
    }
    res.write(`${JSON.stringify({ type: 'ERROR', object: { code: 410, message: 'gone' } })}\n`);
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const c = new KubeClient({ socketPath: sock });
  const got: unknown[] = [];
  try {
    await assert.rejects(
      (async () => {
        for await (const ev of watchEvents(c, '/api/v1/pods', { resourceVersion: '7' })) got.push(ev);
      })(),
      (e: unknown) => isExpired(e),
    );
    assert.deepEqual(got, events);
    assert.equal(query, '/api/v1/pods?resourceVersion=7&watch=1');
  } finally {
    c.close();
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
