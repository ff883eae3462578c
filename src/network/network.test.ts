// Units below the kernel: CIDR arithmetic, port specs, rule rendering, PortBindings mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr, formatCidr, overlaps, pickSubnet, macFor, parseIp } from './cidr.js';
import { parsePortSpec } from './ports.js';
import { render, chainsFor } from './rules.js';
import { portRequests } from './driver.js';
import { allocate } from './ipam.js';
import type { NetworkState } from './state.js';
import { isSkiffError } from '../common/index.js';

test('cidr parsing, overlap and pool choice', () => {
  assert.equal(formatCidr(parseCidr('10.1.0.0/16')), '10.1.0.0/16');
  assert.throws(
    () => parseCidr('10.1.0.0/33'),
    (e: unknown) => isSkiffError(e, 'InvalidArgument') && e.field === 'subnet',
  );
  assert.throws(() => parseCidr('10.1.0.1/16'), /not a network address/);
  assert.throws(() => parseCidr('nope'), /invalid CIDR/);
  assert.ok(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.5.0.0/16')));
  assert.ok(!overlaps(parseCidr('10.0.0.0/16'), parseCidr('10.1.0.0/16')));
  assert.equal(formatCidr(pickSubnet([parseCidr('172.17.0.0/16'), parseCidr('172.18.0.0/15')])!), '172.20.0.0/16');
  assert.equal(macFor(parseIp('172.17.0.2')), '02:42:ac:11:00:02');
});

test('port specs', () => {
  assert.deepEqual(parsePortSpec('80'), { hostIp: undefined, hostPort: undefined, containerPort: 80, proto: 'tcp' });
  assert.deepEqual(parsePortSpec('127.0.0.1:8080:80/udp'), {
    hostIp: '127.0.0.1',
    hostPort: 8080,
    containerPort: 80,
    proto: 'udp',
  });
  assert.deepEqual(parsePortSpec('8080:80'), { hostIp: undefined, hostPort: 8080, containerPort: 80, proto: 'tcp' });
  assert.throws(() => parsePortSpec('70000'), /invalid port/);
  assert.throws(() => parsePortSpec('80/sctpx'), /invalid protocol/);
  assert.deepEqual(
    portRequests({ '80/tcp': [{ HostIp: '', HostPort: '8080' }] }, true, { '80/tcp': {}, '53/udp': {} }),
    [
      { hostIp: undefined, hostPort: 8080, containerPort: 80, proto: 'tcp' },
      { hostIp: undefined, hostPort: undefined, containerPort: 53, proto: 'udp' },
    ],
  );
  assert.throws(
    () => portRequests({ '80/tcp': [{ HostPort: 'x' }] }),
    (e: unknown) => isSkiffError(e) && e.field === 'HostConfig.PortBindings.80/tcp',
  );
});

const net = (name: string, bridge: string, subnet: string, internal = false): NetworkState => ({
  config: {
    name,
    bridge,
    subnet,
    gateway: subnet.replace(/0\/\d+$/, '1'),
    internal,
    mtu: 1500,
    dns: true,
    labels: {},
    created: '',
  },
  endpoints: {},
});

test('rules: isolation before accepts, no MASQUERADE for internal, DNAT per port', () => {
  const a = net('a', 'bra', '10.1.0.0/24');
  const b = net('b', 'brb', '10.2.0.0/24', true);
  a.endpoints.x = {
    id: 'x',
    name: 'x',
    aliases: [],
    ip: '10.1.0.2',
    mac: '',
    ifname: 'eth0',
    hostVeth: 'v',
    netns: '',
    netnsIno: 1,
    ports: [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, proto: 'tcp' }],
  };
  const r = render(chainsFor('T'), [a, b]);
  const f = r.filter.split('\n');
  assert.ok(f.indexOf('-A T-FORWARD -i bra -o brb -j DROP') < f.indexOf('-A T-FORWARD -i bra -o bra -j ACCEPT'));
  assert.match(r.nat, /-A T-POSTROUTING -s 10\.1\.0\.0\/24 ! -o bra -j MASQUERADE/);
  assert.doesNotMatch(r.nat, /-s 10\.2\.0\.0\/24 ! -o brb/);
  assert.match(r.nat, /-A T-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10\.1\.0\.2:80/);
});

test('ipam: lowest free, gateway skipped, ranges, static conflicts, exhaustion', () => {
  const s = net('a', 'bra', '10.1.0.0/30');
  assert.equal(allocate(s), '10.1.0.2');
  s.endpoints.x = {
    id: 'x',
    name: 'x',
    aliases: [],
    ip: '10.1.0.2',
    mac: '',
    ifname: 'eth0',
    hostVeth: 'v',
    netns: '',
    netnsIno: 1,
    ports: [],
  };
  assert.throws(
    () => allocate(s),
    (e: unknown) => isSkiffError(e, 'Unavailable'),
  );
  assert.throws(
    () => allocate(s, '10.1.0.2'),
    (e: unknown) => isSkiffError(e, 'Conflict'),
  );
  assert.throws(
    () => allocate(s, '10.9.0.2'),
    (e: unknown) => isSkiffError(e, 'InvalidArgument'),
  );
  const r = net('r', 'brr', '10.3.0.0/24');
  r.config.ipRange = '10.3.0.64/26';
  assert.equal(allocate(r), '10.3.0.64');
});
