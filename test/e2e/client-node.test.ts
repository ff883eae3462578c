// Acceptance: @kubernetes/client-node 1.4 (typed API + informer) against the API server on SQLite
// and on a real etcd: the informer sees every change, and after a watch resumes from a compacted
// resourceVersion (410 Expired) it relists and catches up (updates, deletions, additions).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createApiServer, type ApiServer } from '../../src/kube/apiserver/index.js';
import { allResources } from '../../src/kube/api/index.js';
import { openStore, type Store } from '../../src/kube/storage/index.js';
import { startEtcd, type Etcd } from '../fixtures/etcd.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

for (const backend of ['sqlite', 'etcd'] as const) {
  describe(`client-node informer against the API server on ${backend}`, () => {
    let dir: string, etcd: Etcd | undefined, store: Store, api: ApiServer, kc: k8s.KubeConfig;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'skiff-client-node-'));
      if (backend === 'etcd') etcd = await startEtcd();
      store = await openStore(backend === 'etcd' ? `etcd://${etcd!.endpoint}` : `sqlite://${join(dir, 'state.db')}`);
      api = createApiServer({ store, resources: allResources() });
      const { url } = await api.listen(0);
      kc = new k8s.KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
        users: [{ name: 'u' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
    });
    after(async () => {
      await api?.close();
      await store?.close();
      await etcd?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('sees every change and recovers after a 410 forced by compaction', async () => {
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const ns = `cn-${Math.random().toString(36).slice(2, 7)}`;
      await core.createNamespace({ body: { metadata: { name: ns } } });
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'pre' }, data: { a: '1' } } });
      const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/configmaps`, () =>
        core.listNamespacedConfigMap({ namespace: ns }),
      );
      const events: string[] = [];
      const errors: unknown[] = [];
      informer.on('add', (o) => events.push(`add ${o.metadata!.name} ${JSON.stringify(o.data ?? {})}`));
      informer.on('update', (o) => events.push(`update ${o.metadata!.name} ${JSON.stringify(o.data ?? {})}`));
      informer.on('delete', (o) => events.push(`delete ${o.metadata!.name}`));
      informer.on('error', (e) => errors.push(e));
      await informer.start();
      await until('initial add', () => events.includes('add pre {"a":"1"}'));

      // Live changes, each seen once and in order.
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'a' }, data: { v: '1' } } });
      await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'a', body: { data: { v: '2' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await core.replaceNamespacedConfigMap({
        namespace: ns,
        name: 'pre',
        body: { metadata: { name: 'pre' }, data: { a: '2' } },
      });
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'a' });
      await until('live events', () => events.includes('delete a'));
      assert.deepEqual(events, [
        'add pre {"a":"1"}',
        'add a {"v":"1"}',
        'update a {"v":"2"}',
        'update pre {"a":"2"}',
        'delete a',
      ]);
      assert.ok(informer.list(ns).some((o) => o.metadata!.name === 'pre'));

      // Disconnect, change things, compact the store past the informer's resourceVersion, reconnect:
      // the watch gets a 410 Expired ERROR event, the informer relists and reports the differences.
      await informer.stop();
      events.length = 0;
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'b' }, data: { v: '1' } } });
      await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'pre', body: { data: { a: '3' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'gone' } } });
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'gone' });
      // A fresh server process (new store client, no watch cache) sees the compacted history.
      const port = Number(new URL(kc.getCurrentCluster()!.server).port);
      await api.close();
      await store.close();
      store = await openStore(backend === 'etcd' ? `etcd://${etcd!.endpoint}` : `sqlite://${join(dir, 'state.db')}`);
      await store.compact(await store.currentRevision());
      api = createApiServer({ store, resources: allResources() });
      await api.listen(port);
      const stale = await fetch(
        `${kc.getCurrentCluster()!.server}/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=1`,
      );
      const first = JSON.parse((await stale.text()).split('\n')[0]) as {
        type: string;
        object: { code: number; reason: string };
      };
      assert.equal(first.type, 'ERROR');
      assert.equal(first.object.code, 410);
      assert.equal(first.object.reason, 'Expired');
      await informer.start();
      await until(
        'relist after 410',
        () => events.includes('add b {"v":"1"}') && events.includes('update pre {"a":"3"}'),
      );
      assert.ok(!events.some((e) => e.includes('gone')), `a created-then-deleted object is never reported: ${events}`);
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'after' } } });
      await until('watching again after relist', () => events.includes('add after {}'));
      assert.deepEqual(
        informer
          .list(ns)
          .map((o) => o.metadata!.name)
          .sort(),
        ['after', 'b', 'pre'],
      );
      // The only errors are the aborts of our own stop() calls.
      assert.deepEqual(
        errors.filter((e) => (e as { type?: string }).type !== 'aborted'),
        [],
      );
      await informer.stop();
    });
  });
}
