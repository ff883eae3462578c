// ResourceQuota controller against the in-process API server: status.hard mirrors spec.hard and
// status.used totals pods and their requests/limits (terminal pods not counted), services and
// node ports, configmaps, claims and storage, count/<resource>.<group>, and scopes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let N: string;
const pod = (name: string, resources?: unknown, phase?: string) => ({
  metadata: { name, labels: phase ? { fate: phase } : {} },
  spec: { nodeName: phase ? 'n1' : undefined, containers: [{ name: 'c', image: 'x', resources }] },
});

before(async () => {
  env = await startControllerEnv({
    controllers: ['resourcequota'],
    nodes: ['n1'],
    sim: { bind: false, behavior: (p: any) => (p.metadata.labels?.fate === 'done' ? 'succeed' : 'ready') },
  });
  N = `/api/v1/namespaces/${env.ns}`;
});
after(() => env?.close());

describe('resourcequota controller', () => {
  it('counts what the namespace holds', async () => {
    await env.post(`${N}/resourcequotas`, {
      metadata: { name: 'q' },
      spec: {
        hard: {
          pods: '10',
          'requests.cpu': '4',
          'limits.memory': '8Gi',
          configmaps: '5',
          services: '3',
          'services.nodeports': '4',
          persistentvolumeclaims: '2',
          'requests.storage': '10Gi',
          'count/deployments.apps': '2',
        },
      },
    });
    await env.post(`${N}/resourcequotas`, {
      metadata: { name: 'be' },
      spec: { hard: { pods: '10' }, scopes: ['BestEffort'] },
    });
    await env.post(`${N}/pods`, pod('a', { requests: { cpu: '500m' }, limits: { memory: '1Gi' } }));
    await env.post(`${N}/pods`, pod('b', { requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '512Mi' } }));
    await env.post(`${N}/pods`, pod('c'));
    // Every container names limits.memory: the quota constrains it (ResourceQuota admission refuses
    // a pod that does not, as upstream's).
    await env.post(`${N}/pods`, pod('finished', { requests: { cpu: '1' }, limits: { memory: '1Gi' } }, 'done'));
    await env.post(`${N}/configmaps`, { metadata: { name: 'cm' }, data: {} });
    await env.post(`${N}/services`, {
      metadata: { name: 'np' },
      spec: {
        type: 'NodePort',
        ports: [
          { name: 'a', port: 80 },
          { name: 'b', port: 81 },
        ],
      },
    });
    await env.post(`${N}/persistentvolumeclaims`, {
      metadata: { name: 'pvc' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '3Gi' } } },
    });
    await env.post(`/apis/apps/v1/namespaces/${env.ns}/deployments`, {
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    });
    env.controllers.resync(); // count/… kinds are recounted on resync (no informer of their own)
    const want = {
      pods: '3',
      'requests.cpu': '750m',
      'limits.memory': '1536Mi',
      configmaps: '1',
      services: '1',
      'services.nodeports': '2',
      persistentvolumeclaims: '1',
      'requests.storage': '3Gi',
      'count/deployments.apps': '1',
    };
    await until('used', async () => {
      const st = (await env.get(`${N}/resourcequotas/q`)).status;
      // Admission charges usage as it admits (the finished pod too); the controller's recount, which
      // leaves terminal pods out, is what the test waits for.
      return (
        JSON.stringify(st?.used ?? {}, Object.keys(want).sort()) === JSON.stringify(want, Object.keys(want).sort())
      );
    });
    const st = (await env.get(`${N}/resourcequotas/q`)).status;
    assert.deepEqual(st.used, want);
    assert.equal(st.hard.pods, '10');
    await until('best-effort scope', async () => (await env.get(`${N}/resourcequotas/be`)).status?.used?.pods === '1');
    await env.del(`${N}/pods/a`);
    await until(
      'recounted',
      async () => (await env.get(`${N}/resourcequotas/q`)).status.used['requests.cpu'] === '250m',
    );
  });
});
