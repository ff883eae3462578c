// Endpoints controller against the in-process API server with simulated nodes: ready and
// not-ready addresses, named target ports resolved per pod (pods without the name grouped apart),
// terminating pods left out, publishNotReadyAddresses, the headless label, selector-less
// Services left to the user, and the Endpoints removed with their Service.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let P: string, S: string, E: string;
const pod = (
  name: string,
  labels: Record<string, string>,
  ports = [{ name: 'web', containerPort: 8080 }],
  finalizers?: string[],
) => ({
  metadata: { name, labels, finalizers },
  spec: { containers: [{ name: 'c', image: 'busybox', ports }] },
});

before(async () => {
  env = await startControllerEnv({
    controllers: ['endpoints'],
    nodes: ['n1'],
    sim: { behavior: (p: any) => (p.metadata.labels?.ready === 'no' ? 'unready' : 'ready') },
  });
  P = `/api/v1/namespaces/${env.ns}/pods`;
  S = `/api/v1/namespaces/${env.ns}/services`;
  E = `/api/v1/namespaces/${env.ns}/endpoints`;
});
after(() => env?.close());

const podIP = async (name: string) => (await env.get(`${P}/${name}`)).status?.podIP as string | undefined;

describe('endpoints controller', () => {
  it('lists ready and not-ready pods per resolved port set', async () => {
    await env.post(S, {
      metadata: { name: 'svc', labels: { tier: 'x' } },
      spec: {
        selector: { app: 'ep' },
        ports: [
          { name: 'http', port: 80, targetPort: 'web' },
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 },
        ],
      },
    });
    await env.post(P, pod('a', { app: 'ep' }));
    await env.post(P, pod('b', { app: 'ep', ready: 'no' }));
    await env.post(P, pod('c', { app: 'ep' }, [{ name: 'other', containerPort: 9 }]));
    await env.post(P, pod('x', { app: 'other' }));
    for (const n of ['a', 'b', 'c']) await until(`${n} has an IP`, async () => Boolean(await podIP(n)));
    const ips = { a: await podIP('a'), b: await podIP('b'), c: await podIP('c') };
    await until('endpoints complete', async () => {
      const e = await env.maybe(`${E}/svc`);
      return (
        (e?.subsets ?? []).flatMap((s: any) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])]).length === 3
      );
    });
    const e = await env.get(`${E}/svc`);
    assert.equal(e.metadata.labels.tier, 'x');
    const both = e.subsets.find((s: any) => s.ports.length === 2);
    const dnsOnly = e.subsets.find((s: any) => s.ports.length === 1);
    assert.deepEqual(both.ports, [
      { name: 'dns', port: 5353, protocol: 'UDP' },
      { name: 'http', port: 8080, protocol: 'TCP' },
    ]);
    assert.deepEqual(
      both.addresses.map((a: any) => [a.ip, a.targetRef.name, a.nodeName]),
      [[ips.a, 'a', 'n1']],
    );
    assert.deepEqual(
      both.notReadyAddresses.map((a: any) => a.ip),
      [ips.b],
    );
    assert.deepEqual(dnsOnly.ports, [{ name: 'dns', port: 5353, protocol: 'UDP' }]);
    assert.deepEqual(
      dnsOnly.addresses.map((a: any) => a.ip),
      [ips.c],
    );
  });

  it('drops terminating pods; publishNotReadyAddresses lists every pod as ready', async () => {
    await env.post(P, pod('held', { app: 'ep' }, undefined, ['example.com/hold']));
    await until('held listed', async () => JSON.stringify(await env.get(`${E}/svc`)).includes('"held"'));
    await env.del(`${P}/held`);
    await until(
      'held dropped while terminating',
      async () => !JSON.stringify(await env.get(`${E}/svc`)).includes('"held"'),
    );
    await env.patch(`${P}/held`, { metadata: { finalizers: null } });

    await env.patch(`${S}/svc`, { spec: { publishNotReadyAddresses: true } });
    await until('all ready', async () => {
      const e = await env.get(`${E}/svc`);
      return (
        e.subsets.every((s: any) => !s.notReadyAddresses) && e.subsets.flatMap((s: any) => s.addresses).length === 3
      );
    });
  });

  it('headless label; selector-less Services are left alone; Endpoints go with the Service', async () => {
    await env.post(S, {
      metadata: { name: 'hl' },
      spec: { clusterIP: 'None', selector: { app: 'ep' }, ports: [{ port: 80 }] },
    });
    await until(
      'headless endpoints',
      async () => (await env.maybe(`${E}/hl`))?.metadata.labels?.['service.kubernetes.io/headless'] === '',
    );
    // As kube-controller-manager 1.32 writes them (found by the controllers differential): the
    // trigger-time annotation, no skip-mirror label, no empty subsets list.
    await env.post(S, { metadata: { name: 'none' }, spec: { selector: { app: 'nobody' }, ports: [{ port: 80 }] } });
    await until('endpoints of nobody', async () => !!(await env.maybe(`${E}/none`)));
    const none = await env.get(`${E}/none`);
    assert.equal(none.subsets, undefined);
    assert.deepEqual(none.metadata.labels ?? {}, {});
    assert.match(none.metadata.annotations['endpoints.kubernetes.io/last-change-trigger-time'], /^\d{4}-\d\d-\d\dT/);
    await env.post(S, { metadata: { name: 'manual' }, spec: { ports: [{ port: 80 }] } });
    await env.post(E, {
      metadata: { name: 'manual' },
      subsets: [{ addresses: [{ ip: '192.0.2.9' }], ports: [{ port: 80 }] }],
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await env.get(`${E}/manual`)).subsets[0].addresses[0].ip, '192.0.2.9');
    await env.del(`${S}/hl`);
    await until('endpoints deleted with the service', async () => !(await env.maybe(`${E}/hl`)));
    // As upstream's syncService: the Endpoints named as a deleted Service go with it, even a
    // user's (the leader-election records aside).
    await env.del(`${S}/manual`);
    await until("the user's Endpoints deleted with its Service", async () => !(await env.maybe(`${E}/manual`)));
  });
});
