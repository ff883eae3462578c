// Acceptance: the official Kubernetes Python client (`kubernetes` 22.6, Debian's python3-kubernetes)
// against a real `skiff server` on SQLite, beside kubectl and client-node: CRUD, the patch types it
// picks, the scale subresource, a watch (it sends `watch=True`), and paginated lists.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startSkiffServer, suffix, type SkiffServer } from './kubectl-harness.js';

// Debian's python3 (a pyenv python earlier on PATH would not see Debian's packages).
const PYTHON = '/usr/bin/python3';

let s: SkiffServer;
before(async () => {
  s = await startSkiffServer('sqlite');
});
after(async () => {
  await s?.stop();
});

/** Runs a script with the client configured from the server's kubeconfig; returns its JSON lines. */
function py(code: string, timeoutMs = 60_000): Promise<Record<string, any>[]> {
  const prelude = `
import json, sys, threading, time
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
config.load_kube_config(config_file=${JSON.stringify(s.kubeconfig)})
core = client.CoreV1Api()
apps = client.AppsV1Api()
def out(**kw):
    print(json.dumps(kw, default=str), flush=True)
`;
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', prelude + code], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python failed: ${err.message}\n${stderr}\n${stdout}`));
      resolve(
        stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      );
    });
  });
}

describe('kubernetes Python client 22.6 against skiff server', { concurrency: 1 }, () => {
  const ns = `py-${suffix()}`;

  it('CRUD of namespaces and ConfigMaps, with the errors as ApiException', async () => {
    const r = await py(`
core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=${JSON.stringify(ns)})))
cm = core.create_namespaced_config_map(${JSON.stringify(ns)}, client.V1ConfigMap(metadata=client.V1ObjectMeta(name='one', labels={'app': 'py'}), data={'k': 'v'}))
out(step='create', name=cm.metadata.name, rv=cm.metadata.resource_version, uid=cm.metadata.uid)
got = core.read_namespaced_config_map('one', ${JSON.stringify(ns)})
out(step='read', data=got.data)
got.data['k'] = 'v2'
rep = core.replace_namespaced_config_map('one', ${JSON.stringify(ns)}, got)
out(step='replace', data=rep.data, newer=int(rep.metadata.resource_version) > int(got.metadata.resource_version))
try:
    core.create_namespaced_config_map(${JSON.stringify(ns)}, client.V1ConfigMap(metadata=client.V1ObjectMeta(name='one')))
except ApiException as e:
    out(step='duplicate', status=e.status, reason=json.loads(e.body)['reason'])
try:
    got.metadata.resource_version = '1'
    core.replace_namespaced_config_map('one', ${JSON.stringify(ns)}, got)
except ApiException as e:
    out(step='stale', status=e.status, reason=json.loads(e.body)['reason'])
st = core.delete_namespaced_config_map('one', ${JSON.stringify(ns)})
out(step='delete', status=st.status)
try:
    core.read_namespaced_config_map('one', ${JSON.stringify(ns)})
except ApiException as e:
    out(step='gone', status=e.status)
`);
    assert.equal(r[0].name, 'one');
    assert.match(r[0].rv, /^\d+$/);
    assert.deepEqual(r[1].data, { k: 'v' });
    assert.deepEqual(r[2], { step: 'replace', data: { k: 'v2' }, newer: true });
    assert.deepEqual(r[3], { step: 'duplicate', status: 409, reason: 'AlreadyExists' });
    assert.deepEqual(r[4], { step: 'stale', status: 409, reason: 'Conflict' });
    assert.equal(r[5].status, 'Success');
    assert.deepEqual(r[6], { step: 'gone', status: 404 });
  });

  it('patches (dict → the client’s default patch type, list → JSON patch) and scales a Deployment', async () => {
    const r = await py(`
ns = ${JSON.stringify(ns)}
dep = client.V1Deployment(
    metadata=client.V1ObjectMeta(name='web'),
    spec=client.V1DeploymentSpec(
        replicas=1,
        selector=client.V1LabelSelector(match_labels={'app': 'web'}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={'app': 'web'}),
            spec=client.V1PodSpec(containers=[client.V1Container(name='web', image='nginx:1')]))))
apps.create_namespaced_deployment(ns, dep)
p = apps.patch_namespaced_deployment('web', ns, {'metadata': {'labels': {'tier': 'front'}}, 'spec': {'template': {'spec': {'containers': [{'name': 'web', 'image': 'nginx:2'}]}}}})
out(step='patch', labels=p.metadata.labels, images=[c.image for c in p.spec.template.spec.containers], generation=p.metadata.generation)
j = apps.patch_namespaced_deployment('web', ns, [{'op': 'replace', 'path': '/spec/replicas', 'value': 2}])
out(step='jsonpatch', replicas=j.spec.replicas)
sc = apps.read_namespaced_deployment_scale('web', ns)
out(step='scale', kind=sc.kind, replicas=sc.spec.replicas, selector=sc.status.selector)
sc = apps.patch_namespaced_deployment_scale('web', ns, {'spec': {'replicas': 5}})
out(step='patchscale', replicas=sc.spec.replicas)
sc.spec.replicas = 3
sc = apps.replace_namespaced_deployment_scale('web', ns, sc)
out(step='replacescale', replicas=sc.spec.replicas, stored=apps.read_namespaced_deployment('web', ns).spec.replicas)
try:
    apps.patch_namespaced_deployment('web', ns, {'spec': {'replicas': -1}})
except ApiException as e:
    b = json.loads(e.body)
    out(step='invalid', status=e.status, causes=[c['field'] for c in b['details']['causes']])
`);
    const by = Object.fromEntries(r.map((x) => [x.step, x]));
    assert.deepEqual(by.patch.labels, { tier: 'front' });
    assert.deepEqual(by.patch.images, ['nginx:2']);
    assert.equal(by.patch.generation, 2);
    assert.equal(by.jsonpatch.replicas, 2);
    assert.deepEqual(
      { kind: by.scale.kind, replicas: by.scale.replicas, selector: by.scale.selector },
      { kind: 'Scale', replicas: 2, selector: 'app=web' },
    );
    assert.equal(by.patchscale.replicas, 5);
    assert.deepEqual([by.replacescale.replicas, by.replacescale.stored], [3, 3]);
    assert.deepEqual([by.invalid.status, by.invalid.causes], [422, ['spec.replicas']]);
  });

  it('watches (watch=True): ADDED for the existing state, then MODIFIED and DELETED as they happen', async () => {
    const r = await py(`
ns = ${JSON.stringify(ns)}
core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name='w0'), data={'n': '0'}))
lst = core.list_namespaced_config_map(ns)
def writer():
    time.sleep(1.0)
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name='w1'), data={'n': '1'}))
    core.patch_namespaced_config_map('w1', ns, {'data': {'n': '2'}})
    core.delete_namespaced_config_map('w1', ns)
threading.Thread(target=writer, daemon=True).start()
w = watch.Watch()
seen = []
for ev in w.stream(core.list_namespaced_config_map, ns, timeout_seconds=20):
    if ev['object'].metadata.name == 'kube-root-ca.crt':
        continue  # published into every namespace by the root-CA publisher, as upstream
    seen.append([ev['type'], ev['object'].metadata.name, (ev['object'].data or {}).get('n')])
    if ev['type'] == 'DELETED':
        w.stop()
out(step='fromnow', events=seen)
# From the list's resourceVersion: only what happened after it.
seen = []
for ev in w.stream(core.list_namespaced_config_map, ns, resource_version=lst.metadata.resource_version, timeout_seconds=5):
    if ev['object'].metadata.name == 'kube-root-ca.crt':
        continue
    seen.append([ev['type'], ev['object'].metadata.name])
    if ev['type'] == 'DELETED':
        w.stop()
out(step='fromrv', events=seen)
`);
    const fromNow = r[0].events as string[][];
    assert.deepEqual(fromNow[0], ['ADDED', 'w0', '0']);
    assert.deepEqual(fromNow.slice(-3), [
      ['ADDED', 'w1', '1'],
      ['MODIFIED', 'w1', '2'],
      ['DELETED', 'w1', '2'],
    ]);
    assert.deepEqual(r[1].events, [
      ['ADDED', 'w1'],
      ['MODIFIED', 'w1'],
      ['DELETED', 'w1'],
    ]);
  });

  it('paginates with limit and _continue, each page at the first page’s revision', async () => {
    const r = await py(`
ns = ${JSON.stringify(ns)}
for i in range(7):
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name='p%d' % i, labels={'page': 'yes'})))
names, pages, token, rvs = [], 0, None, set()
while True:
    l = core.list_namespaced_config_map(ns, label_selector='page=yes', limit=3, _continue=token)
    pages += 1
    names += [c.metadata.name for c in l.items]
    rvs.add(l.metadata.resource_version)
    if pages == 1:
        core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name='p9', labels={'page': 'yes'})))
        # (with a selector the remaining count is unknown, as upstream leaves it unset)
        out(step='first', remaining=l.metadata.remaining_item_count)
    token = l.metadata._continue
    if not token:
        break
out(step='all', names=names, pages=pages, revisions=len(rvs))
total = len(core.list_namespaced_config_map(ns).items)
l = core.list_namespaced_config_map(ns, limit=3)
out(step='count', remaining=l.metadata.remaining_item_count, expected=total - 3)
`);
    assert.equal(r[0].remaining, null);
    assert.equal(r[2].remaining, r[2].expected);
    assert.deepEqual(r[1], {
      step: 'all',
      names: ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6'],
      pages: 3,
      revisions: 1,
    });
  });
});
