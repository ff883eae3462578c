// The test-hosts harness itself: hosts reach each other and the test over the run's bridge, nothing
// routes out of them, processes run in the host's namespace and cgroup, and cleanup leaves nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHosts, waitFor } from '../fixtures/hosts.js';

test('test hosts: connected, isolated, cleaned up', async () => {
  const run = await createHosts(3);
  try {
    const [a, b, c] = run.hosts;
    for (const [from, to] of [
      [a, b],
      [b, c],
      [c, a],
    ]) {
      const r = await from.exec('busybox', ['ping', '-c', '1', '-W', '2', to.ip]);
      assert.equal(r.code, 0, `${from.name} → ${to.name}: ${r.stderr}`);
    }
    const routes = (await a.exec('ip', ['-4', 'route'])).stdout.trim();
    assert.equal(routes, `${run.subnet} dev eth0 proto kernel scope link src ${a.ip}`, 'only the run subnet');
    const out = await a.exec('busybox', ['ping', '-c', '1', '-W', '1', '192.0.2.1']);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /unreachable/i);
    // A process (and its children) lands in the host's namespace and cgroup.
    const p = a.spawn('sleeper', '/bin/sh', ['-c', 'sleep 300 & sleep 300']);
    await waitFor('the child', () => readFileSync(`/proc/${p.pid}/cgroup`, 'utf8').includes(a.cgroup), 5000);
    const netns = (await a.exec('ip', ['netns', 'identify', String(p.pid)])).stdout.trim();
    assert.equal(netns, a.ns);
    assert.equal((await a.exec('cat', ['/etc/resolv.conf'])).stdout, `nameserver ${run.gateway}\n`);
  } finally {
    await run.cleanup();
  }
  assert.deepEqual(await run.leaks(), []);
});
