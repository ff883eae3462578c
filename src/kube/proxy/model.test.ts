import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/index.js';
import { servicePorts, usable, proxied } from './model.js';
import { renderServicePort, diffScript } from './nft.js';

const svc = (spec: Record<string, unknown>, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: 'ns', name: 's', ...(extra.metadata ?? {}) },
  spec,
  ...(extra.status ? { status: extra.status } : {}),
});
const slice = (
  endpoints: unknown[],
  ports: unknown[] = [{ name: 'http', port: 8080, protocol: 'TCP' }],
): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { namespace: 'ns', name: 's-x', labels: { 'kubernetes.io/service-name': 's' } },
  addressType: 'IPv4',
  endpoints,
  ports,
});

test('which Services are proxied', () => {
  assert.equal(proxied(svc({ clusterIP: 'None' })), false);
  assert.equal(proxied(svc({ type: 'ExternalName', externalName: 'x' })), false);
  assert.equal(proxied(svc({ clusterIP: '10.96.0.5' })), true);
  assert.equal(
    proxied(
      svc({ clusterIP: '10.96.0.10' }, { metadata: { name: 'kube-dns', labels: { 'skiff.io/node-local': 'true' } } }),
    ),
    false,
  );
  assert.equal(
    proxied(
      svc(
        { clusterIP: '10.96.0.5' },
        { metadata: { name: 'x', labels: { 'service.kubernetes.io/service-proxy-name': 'other' } } },
      ),
    ),
    false,
  );
});

test('ports match slices by name and protocol; endpoint conditions; local endpoints', () => {
  const sps = servicePorts(
    svc({
      clusterIP: '10.96.0.5',
      ports: [
        { name: 'http', port: 80 },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
    }),
    [
      slice([
        { addresses: ['10.42.0.2'], nodeName: 'me' },
        { addresses: ['10.42.0.3'], nodeName: 'other', conditions: { ready: false, serving: true, terminating: true } },
        { addresses: ['not-an-ip'] },
      ]),
    ],
    'me',
  );
  assert.equal(sps.length, 2);
  assert.deepEqual(
    sps[0].endpoints.map((e) => [e.ip, e.port, e.ready, e.serving, e.terminating, e.local]),
    [
      ['10.42.0.2', 8080, true, true, false, true],
      ['10.42.0.3', 8080, false, true, true, false],
    ],
  );
  assert.deepEqual(sps[1].endpoints, [], 'no slice port named dns/UDP');
  assert.deepEqual(
    usable(sps[0].endpoints, false).map((e) => e.ip),
    ['10.42.0.2'],
  );
  assert.deepEqual(
    usable(sps[0].endpoints.slice(1), false).map((e) => e.ip),
    ['10.42.0.3'],
    'terminating when none ready',
  );
  assert.deepEqual(usable(sps[0].endpoints.slice(1), true), []);
});

test('malformed objects never throw and yield nothing usable', () => {
  const odd: unknown[] = [
    null,
    1,
    'x',
    { ports: 'no' },
    { ports: [{ port: 'NaN' }, { port: 70000 }, { port: 1, protocol: 'ICMP' }] },
  ];
  for (const spec of odd) {
    assert.doesNotThrow(() =>
      servicePorts(
        svc({ clusterIP: '10.96.0.5', ...(spec as object) }),
        [slice([null, { addresses: 5 }], [null])],
        'me',
      ),
    );
  }
  assert.deepEqual(servicePorts(svc({ clusterIP: '10.96.0.5', ports: [{ port: 1, protocol: 'ICMP' }] }), [], 'me'), []);
});

test('rendering: no endpoints → reject; NodePort with policy Local and none here → drop; diffs touch only what changed', () => {
  const cfg = { table: 't', clusterCIDR: '10.42.0.0/16', masqueradeMark: 0x4000 };
  const [none] = servicePorts(
    svc({
      clusterIP: '10.96.0.5',
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      ports: [{ name: 'http', port: 80, nodePort: 30080 }],
    }),
    [],
    'me',
  );
  const r = renderServicePort(cfg, none);
  assert.deepEqual(r.chains, []);
  assert.ok(r.elements.includes('no-endpoint-services|10.96.0.5 . tcp . 80 : goto reject-chain'));
  assert.ok(r.elements.includes('no-endpoint-nodeports|tcp . 30080 : drop'));
  const [one] = servicePorts(
    svc({ clusterIP: '10.96.0.5', ports: [{ name: 'http', port: 80 }] }),
    [slice([{ addresses: ['10.42.0.2'] }])],
    'me',
  );
  const a = renderServicePort(cfg, one);
  const d = diffScript(cfg, [r], [a]);
  assert.match(d, /delete element ip t no-endpoint-services \{ 10\.96\.0\.5 \. tcp \. 80 \}/);
  assert.match(d, /add element ip t service-ips \{ 10\.96\.0\.5 \. tcp \. 80 : goto svc-/);
  assert.equal(
    diffScript(cfg, [a], [a]).includes('add chain'),
    false,
    'an unchanged port only flushes and refills its own chains',
  );
  assert.match(diffScript(cfg, [a], []), /delete chain ip t svc-/);
  // One chain per Service port; the endpoint is picked by rules in it (no chain or set per endpoint).
  assert.deepEqual(
    a.chains.map((c) => c.split('-')[0]),
    ['svc'],
  );
  assert.ok(
    a.body.some((l) => / meta l4proto tcp dnat to 10\.42\.0\.2:\d+$/.test(l)),
    a.body.join('\n'),
  );
  assert.deepEqual(a.shared, ['hairpin|10.42.0.2 . 10.42.0.2']);
  const [two] = servicePorts(
    svc({ clusterIP: '10.96.0.5', ports: [{ name: 'http', port: 80 }] }),
    [slice([{ addresses: ['10.42.0.2'] }, { addresses: ['10.42.0.3'] }])],
    'me',
  );
  const picks = renderServicePort(cfg, two).body.filter((l) => l.includes('dnat to'));
  assert.deepEqual(
    picks.map((l) => / (numgen random mod \d+ 0 )?meta/.exec(l)?.[1] ?? ''),
    ['numgen random mod 2 0 ', ''],
  );
  assert.match(
    diffScript(cfg, [], [], { add: ['hairpin|10.42.0.2 . 10.42.0.2'], del: [] }),
    /add element ip t hairpin \{ 10\.42\.0\.2 \. 10\.42\.0\.2 \}/,
  );
});

test('element claims: the first Service keeps a contested key; the other gets it when it is freed', async () => {
  const { ElementClaims } = await import('./claims.js');
  const c = new ElementClaims();
  const a = c.settle('ns/a', [], ['service-ips|1.2.3.4 . tcp . 80 : goto ext-A', 'cluster-ips|10.96.0.1']);
  assert.equal(a.kept.length, 2);
  const b = c.settle('ns/b', [], ['service-ips|1.2.3.4 . tcp . 80 : goto ext-B', 'cluster-ips|10.96.0.2']);
  assert.deepEqual(b.kept, ['cluster-ips|10.96.0.2']);
  const freed = c.settle('ns/a', a.kept, ['cluster-ips|10.96.0.1']);
  assert.deepEqual(freed.freed, ['ns/b']);
  assert.deepEqual(
    c.settle('ns/b', b.kept, ['service-ips|1.2.3.4 . tcp . 80 : goto ext-B', 'cluster-ips|10.96.0.2']).kept.length,
    2,
  );
});

test('ServiceLB: a LoadBalancer port with an ingress answers on every local address; another class does not', () => {
  const cfg = { table: 't', clusterCIDR: '10.42.0.0/16', masqueradeMark: 0x4000 };
  const lb = (extra: Record<string, unknown>) =>
    servicePorts(
      svc(
        {
          clusterIP: '10.96.0.6',
          type: 'LoadBalancer',
          ports: [{ name: 'http', port: 8082, nodePort: 31000 }],
          ...extra,
        },
        { status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } },
      ),
      [slice([{ addresses: ['10.42.0.2'] }])],
      'me',
    )[0];
  const els = renderServicePort(cfg, lb({})).elements;
  assert.ok(
    els.some((e) => /^service-ips\|192\.0\.2\.10 \. tcp \. 8082 : goto ext-/.test(e)),
    els.join('\n'),
  );
  assert.ok(
    els.some((e) => /^service-nodeports\|tcp \. 8082 : goto ext-/.test(e)),
    els.join('\n'),
  );
  assert.ok(els.some((e) => /^service-nodeports\|tcp \. 31000 : goto ext-/.test(e)));
  // A Service of another load balancer implementation keeps only its ingress IP and node port.
  const other = renderServicePort(cfg, lb({ loadBalancerClass: 'example.com/lb' })).elements;
  assert.equal(
    other.some((e) => e.startsWith('service-nodeports|tcp . 8082')),
    false,
  );
  // No endpoints: refused on those ports too.
  const [none] = servicePorts(
    svc(
      { clusterIP: '10.96.0.6', type: 'LoadBalancer', ports: [{ name: 'http', port: 8082, nodePort: 31000 }] },
      { status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } },
    ),
    [],
    'me',
  );
  assert.ok(renderServicePort(cfg, none).elements.includes('no-endpoint-nodeports|tcp . 8082 : goto reject-chain'));
});
