// Kinds beyond the list: Ingress, IngressClass, NetworkPolicy, PDB, StorageClass, PriorityClass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from '../../index.js';

const now = new Date('2024-01-01T12:00:00Z');
const msgs = (errs: { field: string; message: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);
const obj = (name: string, rest: Record<string, unknown>, ns: string | undefined = 'default'): any => ({
  metadata: { name, ...(ns ? { namespace: ns } : {}), creationTimestamp: '2024-01-01T11:00:00Z' },
  ...rest,
});

test('ingress: paths, backends, hosts, table', () => {
  const ing = findResource('networking.k8s.io', 'v1', 'ing')!;
  const ok = obj('web', {
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['a.example.com'], secretName: 'tls' }],
      rules: [
        {
          host: 'a.example.com',
          http: {
            paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } }],
          },
        },
      ],
    },
    status: { loadBalancer: { ingress: [{ ip: '192.168.1.10' }] } },
  });
  assert.deepEqual(ing.validate!(ok), []);
  assert.deepEqual(ing.row(ok, now), ['web', 'nginx', 'a.example.com', '192.168.1.10', '80, 443', '60m']);
  const bad = obj('web', {
    spec: {
      rules: [
        {
          host: '10.0.0.1',
          http: {
            paths: [
              { path: 'api', backend: { service: { name: 'web', port: { name: 'http', number: 80 } } } },
              { path: 'x', pathType: 'Exact', backend: {} },
            ],
          },
        },
      ],
    },
  });
  assert.deepEqual(msgs(ing.validate!(bad)), [
    'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
    'spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified',
    'spec.rules[0].http.paths[0].backend.service.port: Invalid value: "": cannot set both port name & port number',
    'spec.rules[0].http.paths[1].path: Invalid value: "x": must be an absolute path',
    'spec.rules[0].http.paths[1].backend: Invalid value: "": resource or service backend is required',
  ]);
  const ic = findResource('networking.k8s.io', 'v1', 'ingressclasses')!;
  assert.deepEqual(msgs(ic.validate!(obj('c', { spec: {} }, undefined))), ['spec.controller: Required value']);
});

test('networkpolicy: defaults, validation, table', () => {
  const np = findResource('networking.k8s.io', 'v1', 'netpol')!;
  const p = obj('deny', { spec: { podSelector: { matchLabels: { app: 'db' } }, egress: [{ ports: [{ port: 53 }] }] } });
  np.defaults!(p);
  assert.deepEqual(p.spec.policyTypes, ['Ingress', 'Egress']);
  assert.equal(p.spec.egress[0].ports[0].protocol, 'TCP');
  assert.deepEqual(np.row(p, now), ['deny', 'app=db', '60m']);
  const bad = obj('x', {
    spec: {
      podSelector: {},
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0' }, podSelector: {} }], ports: [{ port: 8080, endPort: 80 }] }],
      policyTypes: ['Sideways'],
    },
  });
  assert.deepEqual(msgs(np.validate!(bad)), [
    'spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`',
    'spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer',
    'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    'spec.policyTypes[0]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
  ]);
});

test('pdb, storageclass, priorityclass', () => {
  const pdb = findResource('policy', 'v1', 'pdb')!;
  const b = obj('web', {
    spec: { maxUnavailable: '25%', selector: { matchLabels: { app: 'web' } } },
    status: { disruptionsAllowed: 1 },
  });
  assert.deepEqual(pdb.validate!(b), []);
  assert.deepEqual(pdb.row(b, now), ['web', 'N/A', '25%', 1, '60m']);
  assert.deepEqual(msgs(pdb.validate!(obj('x', { spec: { minAvailable: 1, maxUnavailable: '200%' } }))), [
    'spec: Invalid value: policy.PodDisruptionBudgetSpec{...}: minAvailable and maxUnavailable cannot be both set',
    'spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"200%"}: must not be greater than 100%',
  ]);
  const sc = findResource('storage.k8s.io', 'v1', 'sc')!;
  const c = obj('local-path', { provisioner: 'rancher.io/local-path' }, undefined);
  c.metadata.annotations = { 'storageclass.kubernetes.io/is-default-class': 'true' };
  sc.defaults!(c);
  assert.deepEqual(sc.row(c, now), [
    'local-path (default)',
    'rancher.io/local-path',
    'Delete',
    'Immediate',
    'false',
    '60m',
  ]);
  assert.deepEqual(msgs(sc.validateUpdate!({ ...c, provisioner: 'other' }, c)), [
    'provisioner: Forbidden: updates to provisioner are forbidden.',
  ]);
  const pc = findResource('scheduling.k8s.io', 'v1', 'pc')!;
  const hi = obj('huge', { value: 2000000000 }, undefined);
  assert.deepEqual(msgs(pc.validate!(hi)), [
    'value: Forbidden: maximum allowed value of a user defined priority is 1000000000',
  ]);
  const ok = obj('high', { value: 1000 }, undefined);
  pc.defaults!(ok);
  assert.equal(ok.preemptionPolicy, 'PreemptLowerPriority');
  assert.deepEqual(msgs(pc.validateUpdate!({ ...ok, value: 5 }, ok)), [
    'value: Forbidden: may not be changed in an update.',
  ]);
});
