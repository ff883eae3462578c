import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../common/index.js';
import { KubeClient, type RequestOptions } from '../client/index.js';
import { ApiEventRecorder } from './events.js';

/** A client that only records the events POSTed (no server). */
class Posts extends KubeClient {
  names: string[] = [];
  override async request<T = unknown>(method: string, _path: string, opts: RequestOptions = {}): Promise<T> {
    if (method === 'POST') this.names.push((opts.body as { metadata: { name: string } }).metadata.name);
    return {} as T;
  }
}

describe('agent event recorder', () => {
  it('names events so that listing by name keeps the order they were recorded in, within one millisecond too', async () => {
    const client = new Posts({ server: 'https://127.0.0.1:1' });
    const rec = new ApiEventRecorder(client, 'n1', createLogger({}, { level: 'error' }));
    const random = Math.random;
    let r = 0.9;
    Math.random = () => (r -= 0.1); // each random sub-millisecond part below the previous one (three events recorded in one go mostly share a millisecond)
    try {
      const ref = { kind: 'Pod', apiVersion: 'v1', name: 'p', namespace: 'default', uid: 'u' };
      for (const reason of ['Pulled', 'Created', 'Started']) rec.event(ref, 'Normal', reason, reason);
      await rec.flush();
    } finally {
      Math.random = random;
      rec.stop();
    }
    assert.equal(client.names.length, 3);
    assert.deepEqual([...client.names].sort(), client.names);
  });
});

describe('agent event recorder against a server that never answers', () => {
  it('gives up on each write at its deadline, so later events still go out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-agent-events-'));
    const sock = join(dir, 'api.sock');
    const posted: string[] = [];
    // The first four POSTs (as many as the recorder sends at once) are never answered.
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const reason = (JSON.parse(body) as { reason: string }).reason;
        posted.push(reason);
        if (reason.startsWith('Silent')) return;
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    const client = new KubeClient({ socketPath: sock });
    const rec = new ApiEventRecorder(client, 'n1', createLogger({}, { level: 'error' }), 4, 300);
    try {
      const ref = { kind: 'Pod', apiVersion: 'v1', name: 'p', namespace: 'default', uid: 'u' };
      for (const reason of ['Silent1', 'Silent2', 'Silent3', 'Silent4', 'Pulled'])
        rec.event(ref, 'Normal', reason, reason);
      const t0 = Date.now();
      while (!posted.includes('Pulled') && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
      assert.ok(posted.includes('Pulled'), `posted: ${posted.join(', ')}`);
      assert.ok(Date.now() - t0 >= 250, 'the fifth event waited for the unanswered writes to time out');
    } finally {
      rec.stop();
      client.close();
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
