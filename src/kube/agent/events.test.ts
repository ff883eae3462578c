import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
