// The controllers' event recorder against a scripted API server on a unix socket: a write that is
// never answered gives up at its deadline and is sent again (the writes queued behind it follow);
// a 503 is tried again; a refusal (422) is not; a retried POST whose first attempt was applied
// (AlreadyExists) is not written twice; close() drops what is queued.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../common/index.js';
import { KubeClient } from '../../client/index.js';
import { EventRecorder } from './events.js';

type Step = 'hang' | 503 | 422 | 'apply-then-hang' | 'ok';
let dir: string, server: http.Server, client: KubeClient;
/** What the server does with each POST, in order; then it stores and answers 201. */
let script: Step[] = [];
const stored = new Map<string, string>(); // event name -> reason
const messages = new Map<string, string>(); // event name -> message
const patches: { name: string; body: { count?: number; message?: string } }[] = [];
let posts = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-events-'));
  server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      if (req.method === 'PATCH') {
        patches.push({ name: decodeURIComponent((req.url ?? '').split('/').pop() ?? ''), body: JSON.parse(text) });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{}');
        return;
      }
      posts++;
      const ev = JSON.parse(text) as { metadata: { name: string }; reason: string };
      const step = script.shift();
      if (step === 'hang') return;
      if (step === 503 || step === 422) {
        res.writeHead(step, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', code: step, message: `scripted ${step}` }));
        return;
      }
      if (stored.has(ev.metadata.name)) {
        res.writeHead(409, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', code: 409, reason: 'AlreadyExists', message: 'exists' }));
        return;
      }
      stored.set(ev.metadata.name, ev.reason);
      messages.set(ev.metadata.name, (ev as { message?: string }).message ?? '');
      if (step === 'apply-then-hang') return;
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(join(dir, 'api.sock'), r));
  client = new KubeClient({ socketPath: join(dir, 'api.sock') });
});
after(() => {
  client.close();
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const log = createLogger({}, { level: 'error' });
const owner = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name, namespace: 'default', uid: `uid-${name}` },
});
const reasons = (prefix: string) =>
  [...stored.entries()]
    .filter(([n]) => n.startsWith(`${prefix}.`))
    .map(([, r]) => r)
    .sort();
/** flush(), failing instead of hanging when the writes never end. */
const flushed = (rec: EventRecorder, ms = 5000) =>
  Promise.race([
    rec.flush(),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`writes still pending after ${ms} ms`)), ms).unref()),
  ]);
const recorder = () => new EventRecorder(client, log, Date.now, { writeTimeoutMs: 300, retryPausesMs: [50, 50] });

describe('controller event recorder', () => {
  it('a write never answered is sent again after its deadline; the writes behind it follow', async () => {
    script = ['hang'];
    posts = 0;
    const rec = recorder();
    const sink = rec.for('replicaset-controller');
    for (const i of [1, 2, 3]) sink.event(owner('hang'), 'Normal', 'SuccessfulCreate', `Created pod: p${i}`);
    const t0 = Date.now();
    await flushed(rec);
    assert.deepEqual(reasons('hang'), ['SuccessfulCreate', 'SuccessfulCreate', 'SuccessfulCreate']);
    assert.equal(posts, 4, 'the unanswered POST and its retry, then two');
    assert.ok(Date.now() - t0 < 5000);
    rec.close();
  });

  it('a 503 is tried again; a 422 is not', async () => {
    script = [503, 'ok', 422];
    posts = 0;
    const rec = recorder();
    const sink = rec.for('replicaset-controller');
    sink.event(owner('busy'), 'Normal', 'SuccessfulCreate', 'Created pod: a');
    sink.event(owner('refused'), 'Normal', 'SuccessfulCreate', 'Created pod: b');
    await flushed(rec);
    assert.deepEqual(reasons('busy'), ['SuccessfulCreate']);
    assert.deepEqual(reasons('refused'), []);
    assert.equal(posts, 3);
    rec.close();
  });

  it('a retried POST whose first attempt was applied is not written twice', async () => {
    script = ['apply-then-hang'];
    posts = 0;
    const rec = recorder();
    rec.for('replicaset-controller').event(owner('landed'), 'Normal', 'SuccessfulCreate', 'Created pod: c');
    await flushed(rec);
    assert.equal(posts, 2);
    assert.deepEqual(reasons('landed'), ['SuccessfulCreate']);
    rec.close();
  });

  it('close() drops the writes still queued and ends the one in flight', async () => {
    script = ['hang'];
    posts = 0;
    const rec = new EventRecorder(client, log, Date.now, { writeTimeoutMs: 60_000 });
    const sink = rec.for('replicaset-controller');
    sink.event(owner('closed'), 'Normal', 'SuccessfulCreate', 'Created pod: d');
    sink.event(owner('closed'), 'Normal', 'SuccessfulCreate', 'Created pod: e');
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    rec.close();
    await flushed(rec);
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(posts, 1);
    assert.deepEqual(reasons('closed'), []);
  });

  it("combines the tenth distinct message of one object's reason and later ones into one Event, as client-go's aggregator", async () => {
    // (a write deadline no loaded machine reaches: a PATCH given up on makes a new Event)
    const rec = new EventRecorder(client, log, Date.now, { writeTimeoutMs: 60_000 });
    const sink = rec.for('deployment-controller');
    const d = owner('agg');
    for (let i = 1; i <= 12; i++)
      sink.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set agg-x from ${i - 1} to ${i}`);
    // A repeat of a message still among the last nine is that Event's count, not a new one.
    sink.event(d, 'Normal', 'ScalingReplicaSet', 'Scaled up replica set agg-x from 8 to 9');
    await flushed(rec);
    const mine = [...messages.entries()].filter(([n]) => n.startsWith('agg.'));
    assert.equal(mine.length, 10, `9 plain Events and one combined: ${JSON.stringify(mine)}`);
    const combined = mine.filter(([, m]) => m.startsWith('(combined from similar events): '));
    assert.deepEqual(
      combined.map(([, m]) => m),
      ['(combined from similar events): Scaled up replica set agg-x from 9 to 10'],
    );
    // The 11th and 12th went into the combined Event (count 2, 3) with the latest message.
    const onCombined = patches.filter((p) => p.name === combined[0][0]);
    assert.deepEqual(
      onCombined.map((p) => [p.body.count, p.body.message]),
      [
        [2, '(combined from similar events): Scaled up replica set agg-x from 10 to 11'],
        [3, '(combined from similar events): Scaled up replica set agg-x from 11 to 12'],
      ],
    );
    const nine = mine.find(([, m]) => m === 'Scaled up replica set agg-x from 8 to 9');
    assert.deepEqual(
      patches.filter((p) => p.name === nine?.[0]).map((p) => p.body.count),
      [2],
    );
    rec.close();
  });
});
