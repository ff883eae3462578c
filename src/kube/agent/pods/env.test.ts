// Container environments: expansion, valueFrom, envFrom, optional references, service links,
// and upstream's messages for missing references.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod } from '../types.js';
import { ConfigError, containerEnv, expand, serviceEnv, type EnvContext } from './env.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const pod: Pod = {
  metadata: { name: 'web', namespace: 'ns1', uid: 'u-1', labels: { app: 'web', tier: 'a"b' } },
  spec: { nodeName: 'n1', serviceAccountName: 'sa', containers: [] },
};
const ctx = (extra: Partial<EnvContext> = {}): EnvContext => ({
  pod,
  objects: {
    configMap: async (_ns, name) =>
      name === 'cm' ? { metadata: { name }, data: { A: '1', 'bad=key': 'x', B: '2' } } : undefined,
    secret: async (_ns, name) => (name === 's' ? { metadata: { name }, data: { PASS: b64('hunter2') } } : undefined),
  },
  services: [],
  hostIPs: ['192.168.0.5'],
  podIPs: ['10.42.0.7'],
  allocatable: { cpuMilli: 2000, memory: 4 << 30, ephemeralStorage: 1 << 30 },
  ...extra,
});
const env = async (c: Partial<Container>, x?: Partial<EnvContext>) =>
  Object.fromEntries(await containerEnv(ctx(x), { name: 'main', ...c }));

describe('container environment', () => {
  it('expands $(VAR) references to earlier variables, keeps unknown ones, unescapes $$', async () => {
    assert.equal(
      expand('a $(X) $(NOPE) $$(X) $', (n) => (n === 'X' ? 'x' : undefined)),
      'a x $(NOPE) $(X) $',
    );
    const e = await env({
      env: [
        { name: 'A', value: 'one' },
        { name: 'B', value: '$(A)-two' },
      ],
    });
    assert.equal(e.B, 'one-two');
  });

  it('fieldRef and resourceFieldRef', async () => {
    const e = await env({
      resources: { limits: { memory: '64Mi' } },
      env: [
        { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
      ],
    });
    assert.deepEqual(
      [e.NAME, e.NS, e.UID, e.APP, e.NODE, e.IP, e.HOST, e.MEM, e.CPU],
      ['web', 'ns1', 'u-1', 'web', 'n1', '10.42.0.7', '192.168.0.5', '64', '2'],
    );
  });

  it('configMapKeyRef, secretKeyRef and envFrom (prefix, invalid names skipped)', async () => {
    const e = await env({
      envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }, { secretRef: { name: 's' } }],
      env: [
        { name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'B' } } },
        { name: 'P', valueFrom: { secretKeyRef: { name: 's', key: 'PASS' } } },
      ],
    });
    assert.equal(e.CM_A, '1');
    assert.equal(e['CM_bad=key'], undefined);
    assert.equal(e.PASS, 'hunter2');
    assert.equal(e.X, '2');
    assert.equal(e.P, 'hunter2');
  });

  it('missing references: upstream messages, optional ones skipped', async () => {
    const err = async (c: Partial<Container>) => {
      try {
        await env(c);
        return '';
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        return (e as Error).message;
      }
    };
    assert.equal(
      await err({ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }),
      'configmap "nope" not found',
    );
    assert.equal(
      await err({ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } }] }),
      "couldn't find key k in ConfigMap ns1/cm",
    );
    assert.equal(
      await err({ env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }),
      'secret "nope" not found',
    );
    assert.equal(await err({ envFrom: [{ secretRef: { name: 'nope' } }] }), 'secret "nope" not found');
    const ok = await env({
      envFrom: [{ configMapRef: { name: 'nope', optional: true } }],
      env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'zz', optional: true } } }],
    });
    assert.equal(ok.X, undefined);
  });

  it('service links and the kubernetes service; the container own variables win', async () => {
    const svc = { name: 'redis-main', clusterIP: '10.96.0.20', ports: [{ name: 'db', port: 6379, protocol: 'TCP' }] };
    const master = { name: 'kubernetes', clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] };
    const e = await env(
      { env: [{ name: 'REDIS_MAIN_SERVICE_PORT', value: 'mine' }] },
      { services: [svc], masterService: master },
    );
    assert.equal(e.REDIS_MAIN_SERVICE_HOST, '10.96.0.20');
    assert.equal(e.REDIS_MAIN_SERVICE_PORT, 'mine');
    assert.equal(e.REDIS_MAIN_SERVICE_PORT_DB, '6379');
    assert.equal(e.REDIS_MAIN_PORT_6379_TCP, 'tcp://10.96.0.20:6379');
    assert.equal(e.KUBERNETES_SERVICE_HOST, '10.96.0.1');
    assert.equal(e.KUBERNETES_SERVICE_PORT, '443');
    const off = await containerEnv(
      {
        ...ctx({ services: [svc], masterService: master }),
        pod: { ...pod, spec: { ...pod.spec, enableServiceLinks: false } },
      },
      { name: 'm' },
    );
    const o = Object.fromEntries(off);
    assert.equal(o.REDIS_MAIN_SERVICE_HOST, undefined);
    assert.equal(o.KUBERNETES_SERVICE_HOST, '10.96.0.1');
    assert.deepEqual(serviceEnv([{ name: 'headless', clusterIP: 'None', ports: [{ port: 1 }] }]), []);
  });
});
