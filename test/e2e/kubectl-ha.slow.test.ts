// HA: two `skiff server`s on one etcd (sharing the cluster PKI, as HA servers must) serve one
// cluster: writes through either are read and watched through the other, a CRD registered through
// one is served by both, and bootstrap objects are created once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startEtcd, type Etcd } from '../fixtures/etcd.js';
import { KUBECTL, sleep, startSkiffServer, suffix, type SkiffServer } from './kubectl-harness.js';

describe('two skiff servers on one etcd', () => {
  let etcd: Etcd, a: SkiffServer, b: SkiffServer;
  before(async () => {
    etcd = await startEtcd();
    a = await startSkiffServer('etcd', { etcd });
    b = await startSkiffServer('etcd', { etcd, pkiFrom: join(a.dir, 'pki') });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await etcd?.stop();
  });

  it('serve one cluster', async () => {
    const ns = `ha-${suffix()}`;
    assert.equal((await a.kubectl(['create', 'namespace', ns])).code, 0);
    const watch = spawn(
      KUBECTL,
      [
        '--kubeconfig',
        b.kubeconfig,
        '--cache-dir',
        join(b.dir, 'kube-cache'),
        'get',
        'cm',
        '-n',
        ns,
        '-w',
        '--output-watch-events',
      ],
      { env: { ...process.env, HOME: b.dir } },
    );
    let out = '';
    watch.stdout.on('data', (d) => {
      out += d;
    });
    try {
      await sleep(1500);
      assert.equal((await a.kubectl(['create', 'configmap', 'from-a', '-n', ns, '--from-literal=k=v'])).code, 0);
      for (let i = 0; i < 100 && !/ADDED\s+from-a/.test(out); i++) await sleep(50);
      assert.match(out, /ADDED\s+from-a/, 'a write through A is watched through B');
    } finally {
      watch.kill();
    }
    const got = await b.kubectl(['get', 'cm', 'from-a', '-n', ns, '-o', 'jsonpath={.data.k}']);
    assert.equal(got.stdout, 'v');
    assert.equal((await b.kubectl(['create', 'secret', 'generic', 's', '-n', ns, '--from-literal=p=q'])).code, 0);
    const sec = await a.kubectl(['get', 'secret', 's', '-n', ns, '-o', 'jsonpath={.data.p}']);
    assert.equal(
      Buffer.from(sec.stdout, 'base64').toString(),
      'q',
      'a Secret encrypted by B is read by A (shared key)',
    );
    const group = `ha${suffix()}.example.com`;
    const crd = `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: gadgets.${group}}\nspec:\n  group: ${group}\n  scope: Namespaced\n  names: {plural: gadgets, singular: gadget, kind: Gadget}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}\n`;
    assert.equal((await a.kubectl(['apply', '-f', '-'], { input: crd })).code, 0);
    let r = { code: 1, stdout: '', stderr: '' };
    for (let i = 0; i < 40 && r.code !== 0; i++) {
      r = await b.kubectl(['apply', '-f', '-'], {
        input: `apiVersion: ${group}/v1\nkind: Gadget\nmetadata: {name: g1, namespace: ${ns}}\nspec: {x: 1}\n`,
      });
      if (r.code !== 0) await sleep(250);
    }
    assert.equal(r.code, 0, r.stderr);
    assert.match((await a.kubectl(['get', 'gadgets', '-n', ns])).stdout, /^g1\s/m);
    const roles = await a.request(
      'GET',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles?fieldSelector=metadata.name%3Dcluster-admin',
    );
    assert.equal(JSON.parse(roles.body).items.length, 1);
  });
});
