// The embedded DNS on loopback: answers from the table over UDP and TCP, names scoped per network,
// forwarding of unknown names to an upstream (a second DnsServer standing in for the host's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { DnsServer } from './dns.js';

const ips = (r: dnsPacket.Packet): unknown[] => (r.answers ?? []).map((a) => (a as { data?: unknown }).data);
// Below the kernel's ephemeral range (32768+), where outgoing connections of parallel suites take ports.
const port = (): number => 10000 + Math.floor(Math.random() * 20000);

/** A DnsServer listening for `network` on a random port; a port taken meanwhile is retried. */
async function listening(upstreams: string[], network: string, setup: (d: DnsServer) => void): Promise<DnsServer> {
  for (let i = 0; ; i++) {
    const d = new DnsServer(upstreams, port());
    setup(d);
    try {
      await d.listen(network, '127.0.0.1');
      return d;
    } catch (e) {
      await d.close().catch(() => undefined);
      if (i >= 20 || !/EADDRINUSE/.test(String((e as Error).cause ?? e))) throw e;
    }
  }
}

function udpQuery(p: number, name: string, type: 'A' | 'AAAA' = 'A'): Promise<dnsPacket.Packet> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      reject(new Error('timeout'));
    }, 3000);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.send(
      dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }),
      p,
      '127.0.0.1',
    );
  });
}

function tcpQuery(p: number, name: string): Promise<dnsPacket.Packet> {
  return new Promise((resolve, reject) => {
    const q = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name }] });
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    const s = connect({ host: '127.0.0.1', port: p }, () => s.write(Buffer.concat([len, q])));
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.destroy();
        resolve(dnsPacket.decode(buf.subarray(2)));
      }
    });
    s.on('error', reject);
  });
}

test('embedded DNS: table answers (UDP, TCP), per-network scope, forwarding, garbage ignored', async () => {
  const up = await listening([], 'up', (x) => x.setRecords('up', new Map([['example.test', ['192.0.2.55']]])));
  const upPort = (up as unknown as { port: number }).port;
  const d = await listening([`127.0.0.1:${upPort}`], 'a', (x) => {
    x.setRecords('a', new Map([['Web', ['10.1.0.2', '10.1.0.3']]]));
    x.setRecords('b', new Map([['db', ['10.2.0.2']]]));
  });
  const p = (d as unknown as { port: number }).port;
  try {
    const r = await udpQuery(p, 'web');
    assert.deepEqual(ips(r), ['10.1.0.2', '10.1.0.3']);
    assert.equal(r.id, 7);
    assert.deepEqual(ips(await tcpQuery(p, 'WEB.')), ['10.1.0.2', '10.1.0.3']);
    assert.equal((await udpQuery(p, 'web', 'AAAA')).answers?.length, 0, 'known name, no AAAA');
    // `db` lives on network b: not visible from a, so it is forwarded (and unknown upstream)
    const fwd = await udpQuery(p, 'example.test');
    assert.deepEqual(ips(fwd), ['192.0.2.55'], 'forwarded upstream');
    assert.equal(ips(await udpQuery(p, 'db')).length, 0, 'names of another network are not answered');
    const s = createSocket('udp4');
    s.send(Buffer.from('garbage'), p, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 50));
    s.close();
    assert.equal((await udpQuery(p, 'web')).answers?.length, 2, 'still serving after garbage');
  } finally {
    await d.close();
    await up.close();
  }
});
