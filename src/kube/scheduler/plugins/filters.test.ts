// Table-driven tests of the node filters against upstream's semantics and reason strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, filterAll, node, pod, reasons, scoreAll } from '../testing.js';
import { nodeAffinity } from './node-affinity.js';
import { nodeResourcesFit } from './node-resources.js';
import { nodeName, nodePorts, nodeUnschedulable, schedulingGates } from './simple.js';
import { taintToleration } from './taint-toleration.js';
import type { Pod } from '../types.js';
import { PodInfo } from '../nodeinfo.js';
import { CycleState } from '../framework.js';

const one = (p: ReturnType<typeof filterAll>) => reasons([...p.values()][0]);

test('TaintToleration filter: only NoSchedule/NoExecute taints, upstream toleration matching', () => {
  const cases: {
    name: string;
    taints: { key: string; value?: string; effect: string }[];
    tol?: Pod['spec']['tolerations'];
    want: string;
  }[] = [
    { name: 'no taints', taints: [], want: '' },
    {
      name: 'untolerated NoSchedule',
      taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
      want: 'node(s) had untolerated taint {dedicated: gpu}',
    },
    {
      name: 'empty value printed empty',
      taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
      want: 'node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }',
    },
    {
      name: 'PreferNoSchedule does not filter',
      taints: [{ key: 'a', value: 'b', effect: 'PreferNoSchedule' }],
      want: '',
    },
    {
      name: 'Equal with the value tolerates',
      taints: [{ key: 'a', value: 'b', effect: 'NoSchedule' }],
      tol: [{ key: 'a', operator: 'Equal', value: 'b', effect: 'NoSchedule' }],
      want: '',
    },
    {
      name: 'Equal with another value does not',
      taints: [{ key: 'a', value: 'b', effect: 'NoSchedule' }],
      tol: [{ key: 'a', value: 'c' }],
      want: 'node(s) had untolerated taint {a: b}',
    },
    {
      name: 'Exists without key tolerates everything',
      taints: [{ key: 'x', value: 'y', effect: 'NoExecute' }],
      tol: [{ operator: 'Exists' }],
      want: '',
    },
    {
      name: 'effect mismatch',
      taints: [{ key: 'a', effect: 'NoExecute' }],
      tol: [{ key: 'a', operator: 'Exists', effect: 'NoSchedule' }],
      want: 'node(s) had untolerated taint {a: }',
    },
  ];
  for (const c of cases) {
    const cl = cluster([node('n1', { taints: c.taints })]);
    const got = filterAll(cl, taintToleration(), pod('p', { spec: { tolerations: c.tol } }));
    assert.equal(one(got), c.want, c.name);
  }
});

test('TaintToleration score: fewer intolerable PreferNoSchedule taints score higher (reverse normalised)', () => {
  const cl = cluster([
    node('a'),
    node('b', { taints: [{ key: 'k', value: 'v', effect: 'PreferNoSchedule' }] }),
    node('c', {
      taints: [
        { key: 'k', value: 'v', effect: 'PreferNoSchedule' },
        { key: 'k2', value: 'v', effect: 'PreferNoSchedule' },
      ],
    }),
  ]);
  const s = scoreAll(cl, taintToleration(), pod('p'));
  assert.deepEqual([s.get('a'), s.get('b'), s.get('c')], [100, 50, 0]);
  const tolerant = scoreAll(
    cl,
    taintToleration(),
    pod('p', { spec: { tolerations: [{ key: 'k', operator: 'Exists' }] } }),
  );
  assert.deepEqual([tolerant.get('a'), tolerant.get('b'), tolerant.get('c')], [100, 100, 0]);
});

test('NodeUnschedulable and NodeName', () => {
  const cl = cluster([node('n1', { unschedulable: true })]);
  assert.equal(one(filterAll(cl, nodeUnschedulable(), pod('p'))), 'node(s) were unschedulable');
  const tolerating = pod('p', {
    spec: { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] },
  });
  assert.equal(one(filterAll(cl, nodeUnschedulable(), tolerating)), '');
  const cl2 = cluster([node('a'), node('b')]);
  const r = filterAll(cl2, nodeName(), pod('p', { spec: { nodeName: 'b' } }));
  assert.equal(reasons(r.get('a')), "node(s) didn't match the requested node name");
  assert.equal(reasons(r.get('b')), '');
});

test('SchedulingGates keeps gated pods out of the active queue', () => {
  assert.equal(schedulingGates().preEnqueue!(pod('p')), undefined);
  const s = schedulingGates().preEnqueue!(pod('p', { spec: { schedulingGates: [{ name: 'a' }, { name: 'b' }] } }));
  assert.equal(s?.message, 'waiting for scheduling gates: [a b]');
});

test('NodeAffinity filter: nodeSelector and required terms (ORed terms, ANDed requirements)', () => {
  const labels = { zone: 'z1', gen: '5', disk: 'ssd' };
  const req = (...terms: object[]): Pod['spec'] => ({
    containers: [],
    affinity: {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms as never } },
    },
  });
  const e = (key: string, operator: string, values?: string[]) => ({ matchExpressions: [{ key, operator, values }] });
  const cases: { name: string; spec: Partial<Pod['spec']>; fits: boolean }[] = [
    { name: 'nodeSelector match', spec: { nodeSelector: { zone: 'z1' } }, fits: true },
    { name: 'nodeSelector mismatch', spec: { nodeSelector: { zone: 'z2' } }, fits: false },
    { name: 'In', spec: req(e('zone', 'In', ['z1', 'z2'])), fits: true },
    { name: 'NotIn', spec: req(e('zone', 'NotIn', ['z1'])), fits: false },
    { name: 'NotIn on a missing key matches', spec: req(e('rack', 'NotIn', ['r1'])), fits: true },
    { name: 'Exists', spec: req(e('disk', 'Exists')), fits: true },
    { name: 'DoesNotExist', spec: req(e('disk', 'DoesNotExist')), fits: false },
    { name: 'Gt', spec: req(e('gen', 'Gt', ['4'])), fits: true },
    { name: 'Lt', spec: req(e('gen', 'Lt', ['4'])), fits: false },
    { name: 'Gt with a non-integer value never matches', spec: req(e('gen', 'Gt', ['x'])), fits: false },
    { name: 'terms are ORed', spec: req(e('zone', 'In', ['nope']), e('disk', 'In', ['ssd'])), fits: true },
    {
      name: 'requirements in a term are ANDed',
      spec: req({
        matchExpressions: [
          { key: 'zone', operator: 'In', values: ['z1'] },
          { key: 'disk', operator: 'In', values: ['hdd'] },
        ],
      }),
      fits: false,
    },
    { name: 'an empty term matches nothing', spec: req({}), fits: false },
    {
      name: 'matchFields metadata.name',
      spec: req({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }),
      fits: true,
    },
  ];
  for (const c of cases) {
    const cl = cluster([node('n1', { labels })]);
    const got = one(filterAll(cl, nodeAffinity(), pod('p', { spec: c.spec })));
    assert.equal(got, c.fits ? '' : "node(s) didn't match Pod's node affinity/selector", c.name);
  }
});

test('NodeAffinity PreFilter narrows nodes by metadata.name and skips pods without affinity', () => {
  const na = nodeAffinity();
  const byName = (...terms: string[][]) =>
    pod('p', {
      spec: {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: terms.map((values) => ({
                matchFields: [{ key: 'metadata.name', operator: 'In', values }],
              })),
            },
          },
        },
      },
    });
  const r = na.preFilter!(new CycleState(), new PodInfo(byName(['a', 'b'], ['c'])));
  assert.deepEqual([...(r?.nodeNames ?? [])].sort(), ['a', 'b', 'c']);
  assert.equal(na.preFilter!(new CycleState(), new PodInfo(pod('q')))?.status?.code, 'Skip');
});

test('NodeAffinity score: preferred weights, normalised to 100', () => {
  const cl = cluster([
    node('a', { labels: { zone: 'z1', disk: 'ssd' } }),
    node('b', { labels: { zone: 'z1' } }),
    node('c'),
  ]);
  const p = pod('p', {
    spec: {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 2, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] } },
            { weight: 6, preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] } },
          ],
        },
      },
    },
  });
  const s = scoreAll(cl, nodeAffinity(), p);
  assert.deepEqual([s.get('a'), s.get('b'), s.get('c')], [100, 25, 0]);
});

test('NodePorts: a host port conflicts on the same protocol, 0.0.0.0 with every address', () => {
  const withPort = (name: string, hostPort: number, hostIP?: string, protocol = 'TCP', nodeName?: string) =>
    pod(name, {
      node: nodeName,
      containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort, hostIP, protocol }] }],
    });
  const cases = [
    {
      name: 'same port any ip',
      existing: withPort('e', 8080, undefined, 'TCP', 'n1'),
      incoming: withPort('p', 8080),
      conflict: true,
    },
    {
      name: 'other protocol',
      existing: withPort('e', 8080, undefined, 'UDP', 'n1'),
      incoming: withPort('p', 8080),
      conflict: false,
    },
    {
      name: 'different ips',
      existing: withPort('e', 8080, '10.0.0.1', 'TCP', 'n1'),
      incoming: withPort('p', 8080, '10.0.0.2'),
      conflict: false,
    },
    {
      name: 'specific vs any',
      existing: withPort('e', 8080, '0.0.0.0', 'TCP', 'n1'),
      incoming: withPort('p', 8080, '10.0.0.2'),
      conflict: true,
    },
    {
      name: 'other port',
      existing: withPort('e', 8081, undefined, 'TCP', 'n1'),
      incoming: withPort('p', 8080),
      conflict: false,
    },
  ];
  for (const c of cases) {
    const cl = cluster([node('n1')], [c.existing]);
    assert.equal(
      one(filterAll(cl, nodePorts(), c.incoming)),
      c.conflict ? "node(s) didn't have free ports for the requested pod ports" : '',
      c.name,
    );
  }
});

test('NodeResourcesFit: requests with init containers, sidecars and overhead against allocatable', () => {
  const c = (cpu: string, extra: object = {}) => ({
    name: `c${cpu}`,
    image: 'x',
    resources: { requests: { cpu } },
    ...extra,
  });
  const cases: { name: string; spec: Partial<Pod['spec']>; used?: string; want: string }[] = [
    { name: 'fits', spec: { containers: [c('1')] }, want: '' },
    { name: 'too much cpu', spec: { containers: [c('5')] }, want: 'Insufficient cpu' },
    { name: 'used up by others', spec: { containers: [c('1')] }, used: '3500m', want: 'Insufficient cpu' },
    {
      name: 'init container larger than containers counts',
      spec: { containers: [c('1')], initContainers: [c('4500m')] },
      want: 'Insufficient cpu',
    },
    { name: 'init container smaller does not add', spec: { containers: [c('3')], initContainers: [c('2')] }, want: '' },
    {
      name: 'sidecars add to the containers',
      spec: { containers: [c('3')], initContainers: [c('1500m', { restartPolicy: 'Always' })] },
      want: 'Insufficient cpu',
    },
    { name: 'overhead adds', spec: { containers: [c('3')], overhead: { cpu: '1500m' } }, want: 'Insufficient cpu' },
    {
      name: 'memory and extended resources',
      spec: {
        containers: [{ name: 'x', image: 'x', resources: { requests: { memory: '9Gi', 'example.com/gpu': '1' } } }],
      },
      want: 'Insufficient memory; Insufficient example.com/gpu',
    },
  ];
  for (const k of cases) {
    const existing = k.used ? [pod('e', { node: 'n1', cpu: k.used })] : [];
    const cl = cluster([node('n1', { cpu: '4', memory: '8Gi' })], existing);
    assert.equal(one(filterAll(cl, nodeResourcesFit(), pod('p', { spec: k.spec as never }))), k.want, k.name);
  }
  const full = cluster([node('n1', { pods: '1' })], [pod('e', { node: 'n1' })]);
  assert.equal(one(filterAll(full, nodeResourcesFit(), pod('p'))), 'Too many pods');
});

test('NodeResourcesFit score (LeastAllocated) as upstream: differently sized nodes', () => {
  // cpu 3000m / memory 5000 requested: node1 (4000m, 10000) → (25 + 50) / 2; node2 (6000m, 10000) → 50.
  const cl = cluster([node('node1', { cpu: '4', memory: '10000' }), node('node2', { cpu: '6', memory: '10000' })]);
  const s = scoreAll(cl, nodeResourcesFit(), pod('p', { cpu: '3', memory: '5000' }));
  assert.deepEqual([s.get('node1'), s.get('node2')], [37, 50]);
  // A pod without requests counts as 100m / 200Mi (non-zero defaults).
  const big = cluster([node('n', { cpu: '1', memory: `${400 * 1024 * 1024}` })]);
  assert.equal(scoreAll(big, nodeResourcesFit(), pod('p')).get('n'), 70);
});
