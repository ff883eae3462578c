// `skiff engine --bridge NAME` when NAME already exists (left by an earlier engine with another
// --data-root, or by a crash): the real engine adopts a bridge whose address fits, as dockerd adopts
// docker0, and refuses to start with what conflicts and what to do when --bip asks for another
// address. Bridges are uniquely named and removed here; addresses come from 10.152.0.0/15.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

if (process.getuid?.() !== 0) throw new Error('engine-bridge e2e needs root (bridges, containers)');
const rand = randomBytes(3).toString('hex');
const made: string[] = [];
const engines: EngineFixture[] = [];
after(async () => {
  for (const e of engines) await e.stop();
  for (const l of made) spawnSync('ip', ['link', 'del', l]);
});

function freeSubnet(): { net: string; gw: string } {
  const routes = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (let i = 0; i < 200; i++) {
    const b = 152 + (randomBytes(1)[0] % 2);
    const c = randomBytes(1)[0];
    if (!routes.includes(`10.${b}.${c}.`)) return { net: `10.${b}.${c}.0/24`, gw: `10.${b}.${c}.1` };
  }
  throw new Error('no free test subnet');
}
function bridgeWith(name: string, addr: string): void {
  execFileSync('ip', ['link', 'add', name, 'type', 'bridge']);
  made.push(name);
  execFileSync('ip', ['addr', 'add', addr, 'dev', name]);
}

test('an existing bridge with a fitting address is adopted: the engine starts and containers use it', async () => {
  const s = freeSubnet();
  const br = `skw${rand}a`;
  bridgeWith(br, `${s.gw}/24`);
  const e = await startEngine({ bridge: br });
  engines.push(e);
  const ipam = JSON.parse(e.docker(['network', 'inspect', 'bridge', '--format', '{{json .IPAM.Config}}']));
  assert.deepEqual(ipam, [{ Subnet: s.net, Gateway: s.gw }]);
  const out = e.docker([
    'run',
    '--rm',
    'busybox',
    'sh',
    '-c',
    `ip -4 -o addr show eth0; ping -c1 -W2 ${s.gw} >/dev/null && echo gw-ok`,
  ]);
  assert.match(out, new RegExp(`inet ${s.gw.replace(/1$/, '')}\\d+/24`));
  assert.match(out, /gw-ok/);
});

test('an existing bridge whose address does not match --bip: the engine refuses, says what and what to do', async () => {
  const s = freeSubnet();
  const br = `skw${rand}b`;
  bridgeWith(br, `${s.gw}/24`);
  const other = s.gw.replace(/1$/, '9');
  await assert.rejects(startEngine({ bridge: br, args: ['--bip', `${other}/24`] }), (err: Error) => {
    assert.match(
      err.message,
      new RegExp(
        `interface ${br} already exists on the host with address ${s.gw}/24, not the configured ${other}/24 \\(--bip\\): start with --bip ${s.gw}/24, delete it \\(ip link delete ${br}\\), or give the engine a bridge of its own \\(--bridge NAME\\)`,
      ),
    );
    return true;
  });
  const addrs = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', br], { encoding: 'utf8' });
  assert.match(addrs, new RegExp(`inet ${s.gw}/24`), 'the bridge is left as found');
  assert.doesNotMatch(addrs, new RegExp(`inet ${other}/`));
});
