// The control plane's controllers inside a real `startServer` (memory store, HTTPS, PKI),
// driven through the REST client as the admin: garbage collection by ownerReferences
// (background, foreground with blockOwnerDeletion, orphan, dangling owners) and the namespace
// controller (content deleted, Terminating with conditions while finalizers hold, then gone).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startServer, type RunningServer } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/kube/client/index.js';
import { createLogger } from '../../src/common/index.js';

let srv: RunningServer, c: KubeClient, dir: string;
const ns = `gc-${Math.random().toString(36).slice(2, 8)}`;
const CM = `/api/v1/namespaces/${ns}/configmaps`;
const until = async (what: string, f: () => Promise<boolean>, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const gone = async (path: string) => {
  try {
    await c.request('GET', path);
    return false;
  } catch (e) {
    if ((e as { code?: string }).code === 'NotFound') return true;
    throw e;
  }
};
const ref = (o: any, extra: Record<string, unknown> = {}) => ({
  apiVersion: o.apiVersion ?? 'v1',
  kind: o.kind,
  name: o.metadata.name,
  uid: o.metadata.uid,
  ...extra,
});
const cm = (name: string, owners: unknown[] = [], finalizers?: string[]) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ownerReferences: owners, finalizers },
  data: { a: '1' },
});

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-controllers-'));
  srv = await startServer({
    dataDir: dir,
    httpsListen: '127.0.0.1:0',
    datastore: 'memory://',
    log: createLogger({}, { level: (process.env.SKIFF_LOG as never) ?? 'warn' }),
  });
  const kc = parse(readFileSync(srv.kubeconfigPath, 'utf8'));
  const b = (s: string) => Buffer.from(s, 'base64').toString();
  c = new KubeClient({
    server: srv.url,
    ca: b(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b(kc.users[0].user['client-certificate-data']),
    key: b(kc.users[0].user['client-key-data']),
  });
  await c.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
});
after(async () => {
  c?.close();
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('garbage collector', () => {
  it('background: deleting an owner deletes its dependents; a dependent of a missing owner goes too', async () => {
    const owner = await c.request('POST', CM, { body: cm('bg-owner') });
    const dep = await c.request('POST', CM, { body: cm('bg-dep', [ref(owner)]) });
    await c.request('POST', CM, { body: cm('bg-grandchild', [ref(dep)]) });
    await c.request('DELETE', `${CM}/bg-owner`);
    await until('dependents deleted', async () => (await gone(`${CM}/bg-dep`)) && (await gone(`${CM}/bg-grandchild`)));
    await c.request('POST', CM, {
      body: cm('dangling', [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'never', uid: '11111111-2222-3333-4444-555555555555' },
      ]),
    });
    await until('dangling dependent deleted', () => gone(`${CM}/dangling`));
  });

  it('a dependent with one live owner keeps living and loses the reference to the missing one', async () => {
    const live = await c.request('POST', CM, { body: cm('two-live') });
    await c.request('POST', CM, {
      body: cm('two-dep', [
        ref(live),
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'missing', uid: '99999999-2222-3333-4444-555555555555' },
      ]),
    });
    await until(
      'dangling reference dropped',
      async () => (await c.request('GET', `${CM}/two-dep`)).metadata.ownerReferences?.length === 1,
    );
    assert.equal((await c.request('GET', `${CM}/two-dep`)).metadata.ownerReferences[0].uid, live.metadata.uid);
  });

  it('foreground: the owner waits with foregroundDeletion until blocking dependents are gone', async () => {
    const D = `/apis/apps/v1/namespaces/${ns}/deployments`,
      RS = `/apis/apps/v1/namespaces/${ns}/replicasets`;
    const tmpl = { metadata: { labels: { app: 'fg' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    const d = await c.request('POST', D, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'fg' },
        spec: { selector: { matchLabels: { app: 'fg' } }, template: tmpl },
      },
    });
    const rs = await c.request('POST', RS, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'fg-1', ownerReferences: [ref(d, { controller: true, blockOwnerDeletion: true })] },
        spec: { selector: { matchLabels: { app: 'fg' } }, template: tmpl },
      },
    });
    // A finalizer on the grandchild holds the chain so the waiting state can be observed.
    await c.request('POST', CM, { body: cm('fg-held', [ref(rs, { blockOwnerDeletion: true })], ['example.com/hold']) });
    await c.request('DELETE', `${D}/fg`, { body: { propagationPolicy: 'Foreground' } });
    await until('replicaset being deleted in the foreground', async () =>
      Boolean((await c.request('GET', `${RS}/fg-1`)).metadata.deletionTimestamp),
    );
    const waiting = await c.request('GET', `${D}/fg`);
    assert.ok(waiting.metadata.deletionTimestamp);
    assert.deepEqual(waiting.metadata.finalizers, ['foregroundDeletion']);
    assert.deepEqual((await c.request('GET', `${RS}/fg-1`)).metadata.finalizers, ['foregroundDeletion']);
    await c.request('PATCH', `${CM}/fg-held`, {
      body: { metadata: { finalizers: null } },
      contentType: 'application/merge-patch+json',
    });
    await until(
      'whole chain gone',
      async () => (await gone(`${CM}/fg-held`)) && (await gone(`${RS}/fg-1`)) && (await gone(`${D}/fg`)),
    );
  });

  it('orphan: dependents stay without the reference and the owner goes', async () => {
    const owner = await c.request('POST', CM, { body: cm('or-owner') });
    await c.request('POST', CM, { body: cm('or-dep', [ref(owner)]) });
    await c.request('DELETE', `${CM}/or-owner`, { query: { propagationPolicy: 'Orphan' } });
    await until('owner gone', () => gone(`${CM}/or-owner`));
    const dep = await c.request('GET', `${CM}/or-dep`);
    assert.equal(dep.metadata.ownerReferences, undefined);
  });
});

describe('namespace controller', () => {
  it('deletes the content, reports what finalizers hold, then removes the namespace', async () => {
    const n = `${ns}-del`;
    await c.request('POST', '/api/v1/namespaces', { body: { metadata: { name: n } } });
    for (let i = 0; i < 3; i++) await c.request('POST', `/api/v1/namespaces/${n}/configmaps`, { body: cm(`c${i}`) });
    await c.request('POST', `/api/v1/namespaces/${n}/secrets`, {
      body: { metadata: { name: 's' }, stringData: { k: 'v' } },
    });
    await c.request('POST', `/api/v1/namespaces/${n}/configmaps`, { body: cm('held', [], ['example.com/hold']) });
    await c.request('DELETE', `/api/v1/namespaces/${n}`);
    assert.equal((await c.request('GET', `/api/v1/namespaces/${n}`)).status.phase, 'Terminating');
    await until('content deleted, finalizer reported', async () => {
      const o = await c.request('GET', `/api/v1/namespaces/${n}`);
      return (o.status.conditions ?? []).some(
        (x: any) =>
          x.type === 'NamespaceFinalizersRemaining' && x.status === 'True' && /example\.com\/hold/.test(x.message),
      );
    });
    assert.deepEqual(
      (await c.request('GET', `/api/v1/namespaces/${n}/configmaps`)).items.map((o: any) => o.metadata.name),
      ['held'],
    );
    // Upstream's five conditions, in its order and words (found by the controllers differential).
    await until('conditions settled', async () => {
      const o = await c.request('GET', `/api/v1/namespaces/${n}`);
      return (
        JSON.stringify(o.status.conditions.map((x: any) => [x.type, x.status, x.reason, x.message])) ===
        JSON.stringify([
          [
            'NamespaceDeletionDiscoveryFailure',
            'False',
            'ResourcesDiscovered',
            'All resources successfully discovered',
          ],
          [
            'NamespaceDeletionGroupVersionParsingFailure',
            'False',
            'ParsedGroupVersions',
            'All legacy kube types successfully parsed',
          ],
          [
            'NamespaceDeletionContentFailure',
            'False',
            'ContentDeleted',
            'All content successfully deleted, may be waiting on finalization',
          ],
          [
            'NamespaceContentRemaining',
            'True',
            'SomeResourcesRemain',
            'Some resources are remaining: configmaps. has 1 resource instances',
          ],
          [
            'NamespaceFinalizersRemaining',
            'True',
            'SomeFinalizersRemain',
            'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances',
          ],
        ])
      );
    });
    assert.equal((await c.request('GET', `/api/v1/namespaces/${n}/secrets`)).items.length, 0);
    await c.request('PATCH', `/api/v1/namespaces/${n}/configmaps/held`, {
      body: { metadata: { finalizers: null } },
      contentType: 'application/merge-patch+json',
    });
    await until('namespace gone', () => gone(`/api/v1/namespaces/${n}`));
  });
});

describe('kubernetes Service', () => {
  it('default/kubernetes points at the API server from the first service address, and comes back after a delete', async () => {
    const port = Number(new URL(srv.url).port);
    let svc: any;
    await until('kubernetes Service', async () => {
      try {
        svc = await c.request('GET', '/api/v1/namespaces/default/services/kubernetes');
        return true;
      } catch {
        return false;
      }
    });
    assert.equal(svc.spec.clusterIP, '10.96.0.1');
    assert.deepEqual(
      svc.spec.ports.map((p: any) => [p.name, p.port, p.protocol, p.targetPort]),
      [['https', 443, 'TCP', port]],
    );
    assert.deepEqual(svc.metadata.labels, { component: 'apiserver', provider: 'kubernetes' });
    const eps = await c.request('GET', '/api/v1/namespaces/default/endpoints/kubernetes');
    assert.deepEqual(eps.subsets, [
      { addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port, protocol: 'TCP' }] },
    ]);
    await c.request('DELETE', '/api/v1/namespaces/default/services/kubernetes');
    const { reconcileKubernetesService } = await import('../../src/kube/controllers/index.js');
    // The old address is released by the allocator's watch of the delete; until then it is taken.
    await until('recreated', async () => {
      try {
        await reconcileKubernetesService(c, {
          clusterIP: '10.96.0.1',
          endpointIP: '127.0.0.1',
          endpointPort: port,
          log: createLogger({}, { level: 'error' }),
        });
        return true;
      } catch {
        return false;
      }
    });
    assert.equal(
      (await c.request('GET', '/api/v1/namespaces/default/services/kubernetes')).spec.clusterIP,
      '10.96.0.1',
      'recreated with the same address',
    );
  });
});

describe('pod streams without a node agent', () => {
  it('log, exec, attach, portforward answer as upstream does before a node is involved', async () => {
    const P = `/api/v1/namespaces/${ns}/pods`;
    const pod = (name: string, nodeName?: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        nodeName,
        containers: [
          { name: 'a', image: 'busybox' },
          { name: 'b', image: 'busybox' },
        ],
      },
    });
    // (the ServiceAccount admission plugin wants the namespace's `default` account, which the
    // ServiceAccount controller makes in a full cluster; made here in case it does not run)
    await c
      .request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { body: { metadata: { name: 'default' } } })
      .catch(() => undefined);
    await c.request('POST', P, { body: pod('pending') });
    await c.request('POST', P, { body: pod('bound', 'node-x') });
    const err = async (method: string, path: string) => {
      try {
        await c.request(method, path);
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    };
    assert.equal(
      await c.request('GET', `${P}/pending/log`, { query: { container: 'a' } }),
      undefined,
      'empty logs while unscheduled',
    );
    assert.match(
      await err('GET', `${P}/pending/log`),
      /a container name must be specified for pod pending, choose one of: \[a b\]/,
    );
    assert.match(await err('GET', `${P}/pending/log?container=zz`), /container zz is not valid for pod pending/);
    assert.match(
      await err('POST', `${P}/pending/exec?container=a&command=ls`),
      /pod pending does not have a host assigned/,
    );
    assert.match(await err('POST', `${P}/pending/attach?container=b`), /pod pending does not have a host assigned/);
    assert.match(await err('POST', `${P}/pending/portforward`), /pod pending does not have a host assigned/);
    assert.match(await err('GET', `${P}/bound/log?container=a`), /nodes "node-x" not found/);
    assert.match(await err('GET', `${P}/missing/log`), /pods "missing" not found/);
  });
});
