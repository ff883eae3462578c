// A bridge keeps its MAC address while ports come and go. Left to the kernel, a bridge takes the
// lowest MAC of its ports, so a container or pod joining with a lower one (or the lowest one
// leaving) changed the gateway's address under every other member's neighbour entry: their
// traffic through the gateway (DNS to the cluster DNS, for one) was lost until it was probed again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ensureBridge } from './links.js';

const ip = (...a: string[]) => execFileSync('ip', a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const mac = (dev: string) => readFileSync(`/sys/class/net/${dev}/address`, 'utf8').trim();
const assignType = (dev: string) => readFileSync(`/sys/class/net/${dev}/addr_assign_type`, 'utf8').trim();
const del = (dev: string) => {
  try {
    ip('link', 'del', 'dev', dev);
  } catch {
    // already gone
  }
};
/** A veth pair whose bridge end has a MAC lower than any random locally administered one. */
const lowPort = (name: string, bridge: string) => {
  ip('link', 'add', name, 'address', '02:00:00:00:00:01', 'type', 'veth', 'peer', 'name', `${name}p`);
  ip('link', 'set', name, 'master', bridge, 'up');
};

test('a bridge made by ensureBridge keeps its MAC when a port with a lower one joins and leaves', async () => {
  const sfx = randomBytes(3).toString('hex');
  const br = `skbm${sfx}`;
  const port = `skbmv${sfx}`;
  try {
    await ensureBridge(br, `10.251.${randomBytes(1)[0]}.1/24`, 1500);
    const before = mac(br);
    assert.equal(assignType(br), '3', 'the address is set, not the kernel pick');
    lowPort(port, br);
    assert.equal(mac(br), before, 'unchanged when a lower port joins');
    del(port);
    assert.equal(mac(br), before, 'unchanged when it leaves');
  } finally {
    del(port);
    del(br);
  }
});

test('a bridge found without a set address keeps the one it has from then on', async () => {
  const sfx = randomBytes(3).toString('hex');
  const br = `skbm${sfx}`;
  const port = `skbmv${sfx}`;
  try {
    ip('link', 'add', 'name', br, 'type', 'bridge');
    lowPort(port, br);
    assert.equal(mac(br), '02:00:00:00:00:01', 'the kernel gave the bridge its lowest port MAC');
    await ensureBridge(br, `10.251.${randomBytes(1)[0]}.1/24`, 1500);
    assert.equal(assignType(br), '3');
    del(port);
    assert.equal(mac(br), '02:00:00:00:00:01', 'pinned: the port leaving does not change it');
  } finally {
    del(port);
    del(br);
  }
});
