// DaemonSet controller against the in-process API server with simulated nodes (which bind pods
// by their node affinity, as the scheduler would): one pod per eligible node, taints and
// tolerations, node selectors, nodes added and removed, a rolling update within maxUnavailable
// with ControllerRevisions, and status.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Informer } from '../../client/index.js';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let DS: string, P: string;
const ds = (name: string, spec: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'c', image: 'agent:1' }], ...podSpec },
    },
    ...spec,
  },
});
const live = async (app: string) =>
  ((await env.get(`${P}?labelSelector=app%3D${app}`)).items as any[]).filter((p) => !p.metadata.deletionTimestamp);
const nodesOf = async (app: string) => (await live(app)).map((p) => p.spec.nodeName ?? '?').sort();

before(async () => {
  env = await startControllerEnv({
    controllers: ['daemonset'],
    nodes: [
      'n1',
      { name: 'n2', labels: { disk: 'ssd' } },
      { name: 'n3', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] },
    ],
  });
  DS = `/apis/apps/v1/namespaces/${env.ns}/daemonsets`;
  P = `/api/v1/namespaces/${env.ns}/pods`;
});
after(() => env?.close());

describe('daemonset controller', () => {
  it('one pod per eligible node, pinned by node affinity, with the daemon tolerations', async () => {
    await env.post(DS, ds('agent'));
    await until('pods on n1 and n2', async () => JSON.stringify(await nodesOf('agent')) === '["n1","n2"]');
    await until('status', async () => {
      const s = (await env.get(`${DS}/agent`)).status ?? {};
      return (
        s.desiredNumberScheduled === 2 &&
        s.numberReady === 2 &&
        s.numberAvailable === 2 &&
        s.updatedNumberScheduled === 2
      );
    });
    const [p] = await live('agent');
    const terms = p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    assert.deepEqual(terms, [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [p.spec.nodeName] }] }]);
    assert.ok(
      p.spec.tolerations.some((t: any) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute'),
    );
    assert.ok(p.metadata.labels['controller-revision-hash']);
    assert.equal(p.metadata.labels['pod-template-generation'], '1');
    assert.match(p.metadata.name, /^agent-[a-z0-9]{5}$/);
  });

  it('tolerations, node selectors, new and deleted nodes', async () => {
    await env.post(
      DS,
      ds('gpu', {}, { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }),
    );
    await until('all three nodes', async () => JSON.stringify(await nodesOf('gpu')) === '["n1","n2","n3"]');
    await env.patch(
      `${DS}/gpu`,
      { spec: { template: { spec: { nodeSelector: { disk: 'ssd' } } } } },
      'application/strategic-merge-patch+json',
    );
    await until('only n2', async () => JSON.stringify(await nodesOf('gpu')) === '["n2"]');
    await until('desired 1', async () => (await env.get(`${DS}/gpu`)).status?.desiredNumberScheduled === 1);
    await env.post('/api/v1/nodes', { metadata: { name: `${env.ns}-n4`, labels: { disk: 'ssd' } } });
    await until('pod for the new node', async () =>
      (await live('gpu')).some((p) => JSON.stringify(p.spec.affinity).includes(`${env.ns}-n4`)),
    );
    await env.del(`/api/v1/nodes/${env.ns}-n4`);
    await until(
      'its pod deleted',
      async () => !(await live('gpu')).some((p) => JSON.stringify(p.spec.affinity).includes(`${env.ns}-n4`)),
    );
  });

  it('rolls out a new template within maxUnavailable, recording ControllerRevisions', async () => {
    await env.post(
      DS,
      ds(
        'roll',
        { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } } },
        { tolerations: [{ operator: 'Exists' }] },
      ),
    );
    await until('3 available', async () => (await env.get(`${DS}/roll`)).status?.numberAvailable === 3);
    const pods = new Map<string, any>();
    let listed = false;
    let maxMissing = 0;
    const observe = () => {
      if (!listed) return;
      const avail = [...pods.values()].filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
      );
      maxMissing = Math.max(maxMissing, 3 - avail.length);
    };
    const inf = new Informer(
      env.c,
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      {
        add: (p) => {
          pods.set(p.metadata.name!, p);
          observe();
        },
        update: (_o, p) => {
          pods.set(p.metadata.name!, p);
          observe();
        },
        delete: (p) => {
          pods.delete(p.metadata.name!);
          observe();
        },
      },
      { namespace: env.ns, labelSelector: 'app=roll' },
    );
    await inf.start();
    listed = true;
    await env.patch(
      `${DS}/roll`,
      { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } },
      'application/strategic-merge-patch+json',
    );
    await until('rolled out', async () => {
      const d = await env.get(`${DS}/roll`);
      const ps = await live('roll');
      return (
        d.status?.updatedNumberScheduled === 3 &&
        d.status.numberAvailable === 3 &&
        ps.length === 3 &&
        ps.every((p) => p.spec.containers[0].image === 'agent:2')
      );
    });
    inf.stop();
    assert.ok(maxMissing <= 1, `at most maxUnavailable pods missing at once (saw ${maxMissing})`);
    const revs = ((await env.get(`/apis/apps/v1/namespaces/${env.ns}/controllerrevisions`)).items as any[])
      .filter((r) => r.metadata.ownerReferences?.[0]?.name === 'roll')
      .sort((a, b) => a.revision - b.revision);
    assert.deepEqual(
      revs.map((r) => r.revision),
      [1, 2],
    );
    assert.equal(revs[1].data.spec.template.$patch, 'replace');
    assert.equal(revs[1].data.spec.template.spec.containers[0].image, 'agent:2');
    const hash = revs[1].metadata.labels['controller-revision-hash'];
    assert.ok((await live('roll')).every((p) => p.metadata.labels['controller-revision-hash'] === hash));
  });

  it('writes status when its creates are refused (a quota), as upstream, and backs off', async () => {
    const ns = `${env.ns}-q`;
    await env.post('/api/v1/namespaces', { metadata: { name: ns } });
    const q = await env.post(`/api/v1/namespaces/${ns}/resourcequotas`, {
      metadata: { name: 'cpu' },
      spec: { hard: { 'requests.cpu': '1' } },
    });
    // No quota controller runs here: the status it would write, so admission enforces the quota.
    await env.c.request('PUT', `/api/v1/namespaces/${ns}/resourcequotas/cpu/status`, {
      body: { ...q, status: { hard: { 'requests.cpu': '1' }, used: { 'requests.cpu': '0' } } },
    });
    const path = `/apis/apps/v1/namespaces/${ns}/daemonsets`;
    await env.post(path, ds('refused'));
    // Before, a failed create returned before the status write: desiredNumberScheduled stayed 0
    // (the value the API server stores at create).
    const st = (
      await env.watchUntil(
        `${path}/refused`,
        'status with the desired count',
        (d: any) => d.status?.desiredNumberScheduled > 0,
        30_000,
      )
    ).status;
    assert.equal(st.currentNumberScheduled, 0);
    assert.equal(st.numberUnavailable, st.desiredNumberScheduled);
    let writes = 0;
    const inf = new Informer(
      env.c,
      { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true },
      { update: () => void writes++ },
      { namespace: ns },
    );
    await inf.start();
    await new Promise((r) => setTimeout(r, 2000));
    inf.stop();
    assert.ok(writes <= 1, `the DaemonSet was rewritten ${writes} times in 2 s while its creates failed`);
  });
});
