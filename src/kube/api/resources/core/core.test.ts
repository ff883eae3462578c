// core/v1 kinds other than Pod: config, networking, nodes, events, storage, policy.
import assert from 'node:assert/strict';
import type { KubeObject } from '../../types.js';
import { findResource } from '../../index.js';
import { test } from 'node:test';

// ---- config
{
  const now = new Date('2024-01-03T12:00:00Z');
  const meta = (name: string) => ({ name, namespace: 'default', creationTimestamp: '2024-01-01T09:00:00Z' });
  const msgs = (errs: { field: string; message: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);

  test('namespace: defaults, finalizers, table, field selector', () => {
    const ns = findResource('', 'v1', 'Namespace')!;
    assert.equal(ns.nameRule, 'label');
    assert.equal(ns.namespaced, false);
    const o = { metadata: { name: 'team-a', creationTimestamp: '2024-01-01T09:00:00Z' } } as any;
    ns.defaults!(o);
    assert.deepEqual(o.spec, { finalizers: ['kubernetes'] });
    assert.equal(o.status.phase, 'Active');
    assert.equal(o.metadata.labels['kubernetes.io/metadata.name'], 'team-a');
    assert.deepEqual(ns.row(o, now), ['team-a', 'Active', '2d3h']);
    assert.equal(ns.fieldSelectors!['status.phase'](o), 'Active');
    o.spec.finalizers = ['bogus'];
    assert.deepEqual(msgs(ns.validate!(o)), [
      'spec.finalizers[0]: Invalid value: "bogus": name is neither a standard finalizer name nor is it fully qualified',
    ]);
  });

  test('configmap: keys, overlap, size, immutability, table', () => {
    const cm = findResource('', 'v1', 'cm')!;
    const ok: KubeObject = {
      metadata: meta('c'),
      data: { 'a.conf': 'x', b: 'y' },
      binaryData: { c: Buffer.from('z').toString('base64') },
    };
    assert.deepEqual(cm.validate!(ok), []);
    assert.deepEqual(cm.row(ok, now), ['c', 3, '2d3h']);
    const bad: KubeObject = { metadata: meta('c'), data: { 'a b': 'x', k: '1' }, binaryData: { k: 'AA==' } };
    const errs = msgs(cm.validate!(bad));
    assert.equal(errs.length, 2);
    assert.match(errs[0], /^data: Invalid value: "a b": a valid config key must consist of alphanumeric characters/);
    assert.equal(errs[1], 'binaryData: Invalid value: "k": duplicate of key present in data');
    assert.deepEqual(msgs(cm.validate!({ metadata: meta('c'), binaryData: { b: 'not base64!' } })), [
      'binaryData[b]: Invalid value: "<binary data>": illegal base64 data',
    ]);
    const big: KubeObject = { metadata: meta('c'), data: { k: 'x'.repeat(1024 * 1024 + 1) } };
    assert.equal(cm.validate!(big)[0].type, 'FieldValueTooLong');
    const imm = { ...ok, immutable: true };
    assert.deepEqual(msgs(cm.validateUpdate!({ ...imm, data: { a: 'changed' } }, imm)), [
      'data: Forbidden: field is immutable when `immutable` is set',
    ]);
    assert.deepEqual(cm.validateUpdate!({ ...imm, metadata: { ...meta('c'), labels: { x: 'y' } } }, imm), []);
  });

  test('secret: type default, stringData folding, tls requirements, table, field selector', () => {
    const s = findResource('', 'v1', 'secrets')!;
    const o = { metadata: meta('s'), stringData: { password: 'hunter2' } } as any;
    s.defaults!(o);
    assert.equal(o.type, 'Opaque');
    assert.equal(o.data.password, Buffer.from('hunter2').toString('base64'));
    assert.equal(o.stringData, undefined);
    assert.deepEqual(s.validate!(o), []);
    assert.deepEqual(s.row(o, now), ['s', 'Opaque', 1, '2d3h']);
    assert.equal(s.fieldSelectors!.type(o), 'Opaque');
    const tls = { metadata: meta('t'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'AA==' } } as any;
    assert.deepEqual(msgs(s.validate!(tls)), ['data[tls.key]: Required value']);
    const notB64 = { metadata: meta('t'), type: 'Opaque', data: { k: '!!!' } } as any;
    assert.deepEqual(msgs(s.validate!(notB64)), [
      'data[k]: Invalid value: "<secret contents redacted>": illegal base64 data',
    ]);
    const dcj = { metadata: meta('d'), type: 'kubernetes.io/dockerconfigjson', data: {} } as any;
    assert.deepEqual(msgs(s.validate!(dcj)), ['data[.dockerconfigjson]: Required value']);
    assert.deepEqual(msgs(s.validateUpdate!({ ...o, type: 'kubernetes.io/tls' }, o)), [
      'type: Invalid value: "kubernetes.io/tls": field is immutable',
    ]);
  });
}

// ---- network
{
  const now = new Date('2024-01-01T12:00:00Z');
  const msgs = (errs: { field: string; message: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);
  const obj = (name: string, rest: Record<string, unknown>): any => ({
    metadata: { name, namespace: 'default', creationTimestamp: '2024-01-01T11:00:00Z' },
    ...rest,
  });

  test('service: defaults, validation, immutable clusterIP, table', () => {
    const svc = findResource('', 'v1', 'svc')!;
    const s = obj('web', { spec: { selector: { app: 'web' }, ports: [{ port: 80 }], clusterIP: '10.96.0.10' } });
    svc.defaults!(s);
    assert.equal(s.spec.type, 'ClusterIP');
    assert.equal(svc.fieldSelectors!['spec.clusterIP'](s), '10.96.0.10');
    assert.equal(svc.fieldSelectors!['spec.type'](s), 'ClusterIP');
    assert.equal(s.spec.sessionAffinity, 'None');
    assert.equal(s.spec.ports[0].protocol, 'TCP');
    assert.equal(s.spec.ports[0].targetPort, 80);
    assert.deepEqual(s.spec.ipFamilies, ['IPv4']);
    assert.equal(s.spec.ipFamilyPolicy, 'SingleStack');
    assert.equal(s.spec.internalTrafficPolicy, 'Cluster');
    assert.deepEqual(s.spec.clusterIPs, ['10.96.0.10']);
    assert.deepEqual(svc.validate!(s), []);
    assert.deepEqual(svc.row(s, now), ['web', 'ClusterIP', '10.96.0.10', '<none>', '80/TCP', '60m', 'app=web']);

    const bad = obj('web', {
      spec: {
        type: 'ClusterIP',
        sessionAffinity: 'None',
        ports: [
          { port: 0, protocol: 'TCP' },
          { port: 80, protocol: 'TCP', nodePort: 30080 },
        ],
      },
    });
    assert.deepEqual(msgs(svc.validate!(bad)), [
      'spec.ports[0].name: Required value',
      'spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
      'spec.ports[1].name: Required value',
      "spec.ports[1].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
    ]);
    const np = obj('np', {
      spec: { type: 'NodePort', sessionAffinity: 'None', ports: [{ port: 80, protocol: 'TCP', nodePort: 80 }] },
    });
    assert.deepEqual(msgs(svc.validate!(np)), [
      'spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767',
    ]);
    const dns1035 = obj('1web', {
      spec: { type: 'ClusterIP', sessionAffinity: 'None', ports: [{ port: 80, protocol: 'TCP' }] },
    });
    assert.match(
      msgs(svc.validate!(dns1035))[0],
      /^metadata\.name: Invalid value: "1web": a DNS-1035 label must consist of/,
    );
    const headless = obj('h', { spec: { clusterIP: 'None', selector: { app: 'db' } } });
    svc.defaults!(headless);
    assert.deepEqual(svc.validate!(headless), [], 'headless service needs no ports');
    assert.equal(svc.row(headless, now)[2], 'None');

    const changed = structuredClone(s);
    changed.spec.clusterIP = '10.96.0.11';
    assert.deepEqual(msgs(svc.validateUpdate!(changed, s)), [
      'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.10"}: may not change once set',
    ]);
    // Only clusterIP changed: the list follows it before validation, and one error names it (as
    // upstream's normalizeClusterIPs and ValidateServiceUpdate).
    const onlyIP = structuredClone(s);
    onlyIP.spec.clusterIP = '10.96.0.12';
    svc.prepareForUpdate!(onlyIP, s);
    assert.deepEqual(onlyIP.spec.clusterIPs, ['10.96.0.12']);
    assert.deepEqual(msgs([...svc.validate!(onlyIP), ...svc.validateUpdate!(onlyIP, s)]), [
      'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.12"}: may not change once set',
    ]);
    const replaced = structuredClone(s);
    delete replaced.spec.clusterIP;
    delete replaced.spec.clusterIPs;
    svc.prepareForUpdate!(replaced, s);
    assert.equal(replaced.spec.clusterIP, '10.96.0.10');

    const np0 = obj('np', {
      spec: {
        type: 'NodePort',
        clusterIP: '10.96.0.20',
        selector: { app: 'web' },
        ports: [{ port: 80, nodePort: 30080 }],
      },
    });
    svc.defaults!(np0);
    const toClusterIP = structuredClone(np0);
    toClusterIP.spec.type = 'ClusterIP';
    svc.prepareForUpdate!(toClusterIP, np0);
    svc.defaults!(toClusterIP);
    assert.equal(toClusterIP.spec.ports[0].nodePort, undefined, 'unchanged node ports are dropped with the type');
    assert.equal(toClusterIP.spec.externalTrafficPolicy, undefined);
    assert.deepEqual(svc.validate!(toClusterIP), []);
    const toExt = structuredClone(np0);
    toExt.spec.type = 'ExternalName';
    toExt.spec.externalName = 'db.example.com';
    svc.prepareForUpdate!(toExt, np0);
    svc.defaults!(toExt);
    assert.equal(toExt.spec.clusterIP, undefined);
    assert.deepEqual(svc.validate!(toExt), []);
    const lb = obj('lb', { spec: { type: 'LoadBalancer', ports: [{ port: 443, nodePort: 31443 }] } });
    svc.defaults!(lb);
    assert.equal(lb.spec.externalTrafficPolicy, 'Cluster');
    assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
    assert.deepEqual(svc.row(lb, now).slice(1, 5), ['LoadBalancer', '<none>', '<pending>', '443:31443/TCP']);
  });

  test('endpoints: table formatting and ip validation', () => {
    const ep = findResource('', 'v1', 'endpoints')!;
    const e = obj('web', {
      subsets: [
        {
          addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }, { ip: '10.0.0.4' }],
          ports: [{ port: 8080 }],
        },
      ],
    });
    ep.defaults!(e);
    assert.equal(e.subsets[0].ports[0].protocol, 'TCP');
    assert.deepEqual(ep.row(e, now), ['web', '10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 1 more...', '60m']);
    assert.deepEqual(ep.row(obj('none', {}), now)[1], '<none>');
    const bad = obj('web', { subsets: [{ addresses: [{ ip: 'nope' }], ports: [{ port: 70000 }] }] });
    assert.deepEqual(msgs(ep.validate!(bad)), [
      'subsets[0].addresses[0].ip: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
      'subsets[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ]);
  });

  test('node: status, roles, taints, field selector', () => {
    const nodes = findResource('', 'v1', 'nodes')!;
    assert.equal(nodes.namespaced, false);
    const n = {
      metadata: {
        name: 'n1',
        creationTimestamp: '2023-12-30T12:00:00Z',
        labels: { 'node-role.kubernetes.io/control-plane': '' },
      },
      spec: { unschedulable: true, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] },
      status: {
        capacity: { cpu: '2' },
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '192.168.1.5' }],
        nodeInfo: {
          kubeletVersion: 'v1.32.0-skiff',
          osImage: 'Debian',
          kernelVersion: '6.18',
          containerRuntimeVersion: 'skiff://0.1.0',
        },
      },
    } as any;
    nodes.defaults!(n);
    assert.deepEqual(n.status.allocatable, { cpu: '2' });
    assert.deepEqual(nodes.validate!(n), []);
    assert.deepEqual(nodes.row(n, now), [
      'n1',
      'Ready,SchedulingDisabled',
      'control-plane',
      '2d',
      'v1.32.0-skiff',
      '192.168.1.5',
      '<none>',
      'Debian',
      '6.18',
      'skiff://0.1.0',
    ]);
    assert.equal(nodes.fieldSelectors!['spec.unschedulable'](n), 'true');
    n.spec.taints.push({ key: 'x', effect: 'Sometimes' });
    assert.deepEqual(msgs(nodes.validate!(n)), [
      'spec.taints[1].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
    ]);
  });

  test('event: columns, row, involvedObject field selectors, namespace check', () => {
    const ev = findResource('', 'v1', 'events')!;
    assert.deepEqual(
      ev.columns.filter((c) => c.priority === 0).map((c) => c.name),
      ['Last Seen', 'Type', 'Reason', 'Object', 'Message'],
    );
    const e = obj('p.17a', {
      involvedObject: { kind: 'Pod', name: 'p', namespace: 'default', uid: 'u1', fieldPath: 'spec.containers{c}' },
      reason: 'Pulled',
      message: ' Pulled image ',
      type: 'Normal',
      source: { component: 'kubelet', host: 'n1' },
      firstTimestamp: '2024-01-01T11:50:00Z',
      lastTimestamp: '2024-01-01T11:58:00Z',
      count: 3,
    });
    assert.deepEqual(ev.validate!(e), []);
    assert.deepEqual(ev.row(e, now), [
      '2m',
      'Normal',
      'Pulled',
      'pod/p',
      'spec.containers{c}',
      'kubelet, n1',
      'Pulled image',
      '10m',
      3,
      'p.17a',
    ]);
    assert.equal(ev.fieldSelectors!['involvedObject.uid'](e), 'u1');
    assert.equal(ev.fieldSelectors!['involvedObject.kind'](e), 'Pod');
    assert.equal(ev.fieldSelectors!.source(e), 'kubelet');
    e.involvedObject.namespace = 'other';
    assert.deepEqual(msgs(ev.validate!(e)), [
      'involvedObject.namespace: Invalid value: "other": does not match event.namespace',
    ]);
  });

  test('serviceaccount: table', () => {
    const sa = findResource('', 'v1', 'sa')!;
    assert.deepEqual(sa.row(obj('default', { secrets: [{ name: 't' }] }), now), ['default', 1, '60m']);
    assert.deepEqual(msgs(sa.validate!(obj('ci', { imagePullSecrets: [{}] }))), [
      'imagePullSecrets[0].name: Required value',
    ]);
  });
}

// ---- storage
{
  const now = new Date('2024-01-01T12:00:00Z');
  const msgs = (errs: { field: string; message: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);
  const obj = (name: string, rest: Record<string, unknown>): any => ({
    metadata: { name, namespace: 'default', creationTimestamp: '2024-01-01T11:00:00Z' },
    ...rest,
  });

  test('persistentvolume: defaults, validation, table', () => {
    const pv = findResource('', 'v1', 'pv')!;
    const v = obj('pv1', {
      spec: {
        capacity: { storage: '5Gi' },
        accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
        hostPath: { path: '/data' },
        claimRef: { namespace: 'default', name: 'c' },
      },
    });
    delete v.metadata.namespace;
    pv.defaults!(v);
    assert.equal(v.spec.persistentVolumeReclaimPolicy, 'Retain');
    assert.equal(v.spec.volumeMode, 'Filesystem');
    assert.equal(v.status.phase, 'Pending');
    assert.deepEqual(pv.validate!(v), []);
    assert.deepEqual(pv.row(v, now), [
      'pv1',
      '5Gi',
      'RWO,ROX',
      'Retain',
      'Pending',
      'default/c',
      '',
      '<unset>',
      '',
      '60m',
      'Filesystem',
    ]);
    const bad = obj('pv2', {
      spec: { capacity: {}, accessModes: [], hostPath: { path: '/a' }, nfs: { server: 's', path: '/' } },
    });
    assert.deepEqual(msgs(pv.validate!(bad)), [
      'spec.accessModes: Required value: at least 1 access mode is required',
      'spec.capacity: Required value: storage',
      'spec.nfs: Forbidden: may not specify more than 1 volume type',
    ]);
  });

  test('persistentvolumeclaim: validation, immutability, table', () => {
    const pvc = findResource('', 'v1', 'pvc')!;
    const c = obj('data', { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    pvc.defaults!(c);
    assert.equal(c.status.phase, 'Pending');
    assert.deepEqual(pvc.validate!(c), []);
    assert.deepEqual(pvc.row(c, now), ['data', 'Pending', '', '', '', '', '<unset>', '60m', 'Filesystem']);
    const missing = obj('d', { spec: { accessModes: ['ReadWriteSometimes'] } });
    assert.deepEqual(msgs(pvc.validate!(missing)), [
      'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
      'spec.resources[storage]: Required value',
    ]);
    const grown = structuredClone(c);
    grown.spec.resources.requests.storage = '2Gi';
    assert.deepEqual(pvc.validateUpdate!(grown, c), []);
    const modes = structuredClone(c);
    modes.spec.accessModes = ['ReadWriteMany'];
    assert.deepEqual(msgs(pvc.validateUpdate!(modes, c)), [
      'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    ]);
    const bound = structuredClone(c);
    bound.spec.volumeName = 'pv1';
    bound.status = { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] };
    assert.deepEqual(pvc.row(bound, now).slice(1, 5), ['Bound', 'pv1', '1Gi', 'RWO']);
  });

  test('limitrange and resourcequota: defaults, validation, tables', () => {
    const lr = findResource('', 'v1', 'limits')!;
    const l = obj('lr', { spec: { limits: [{ type: 'Container', max: { cpu: '2' }, min: { cpu: '100m' } }] } });
    lr.defaults!(l);
    assert.deepEqual(l.spec.limits[0].default, { cpu: '2' });
    assert.deepEqual(l.spec.limits[0].defaultRequest, { cpu: '2' });
    assert.deepEqual(lr.validate!(l), []);
    assert.deepEqual(lr.row(l, now), ['lr', '2024-01-01T11:00:00Z']);
    const bad = obj('lr', {
      spec: {
        limits: [
          {
            type: 'Container',
            max: { memory: '1Gi' },
            min: { memory: '2Gi' },
            default: { memory: '1Gi' },
            defaultRequest: { memory: '1Gi' },
          },
          { type: 'Node' },
        ],
      },
    });
    assert.deepEqual(msgs(lr.validate!(bad)), [
      'spec.limits[0].min[memory]: Invalid value: "2Gi": min value 2Gi is greater than max value 1Gi',
      'spec.limits[0].defaultRequest[memory]: Invalid value: "1Gi": min value 2Gi is greater than default request value 1Gi',
      'spec.limits[0].default[memory]: Invalid value: "1Gi": min value 2Gi is greater than default value 1Gi',
      'spec.limits[1].type: Unsupported value: "Node": supported values: "Container", "PersistentVolumeClaim", "Pod"',
    ]);
    const rq = findResource('', 'v1', 'quota')!;
    const q = obj('q', {
      spec: { hard: { pods: '10', 'requests.cpu': '4', 'limits.memory': '8Gi' } },
      status: { hard: { pods: '10', 'requests.cpu': '4', 'limits.memory': '8Gi' }, used: { pods: '3' } },
    });
    assert.deepEqual(rq.validate!(q), []);
    assert.deepEqual(rq.row(q, now), ['q', '60m', 'pods: 3/10, requests.cpu: 0/4', 'limits.memory: 0/8Gi']);
    assert.deepEqual(msgs(rq.validate!(obj('q', { spec: { hard: { pods: 'lots' }, scopes: ['Everything'] } }))), [
      'spec.hard[pods]: Invalid value: "lots": must be a valid quantity',
      'spec.scopes[0]: Unsupported value: "Everything": supported values: "BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass", "Terminating"',
    ]);
  });
}

// ---- service allocation
test('service allocation: cluster IPs in range, node ports, conflicts', async () => {
  const { allocateService, firstServiceIP, serviceAllocations } = await import('../../index.js');
  const st = {
    serviceCIDR: '10.96.0.0/30',
    usedIPs: new Set([firstServiceIP('10.96.0.0/30')]),
    usedNodePorts: new Set<string>(),
    random: () => 0,
  };
  assert.equal(firstServiceIP('10.96.0.0/12'), '10.96.0.1');
  const a: any = { spec: { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }] } };
  assert.deepEqual(allocateService(a, st), []);
  assert.equal(a.spec.clusterIP, '10.96.0.2');
  assert.deepEqual(a.spec.clusterIPs, ['10.96.0.2']);
  assert.equal(a.spec.ports[0].nodePort, 30000);
  assert.deepEqual(serviceAllocations(a), { ips: ['10.96.0.2'], nodePorts: ['30000/TCP'] });
  const full: any = { spec: { type: 'ClusterIP', ports: [{ port: 80 }] } };
  assert.deepEqual(
    allocateService(full, st).map((e) => `${e.field}: ${e.message}`),
    ['spec.clusterIPs: Invalid value: []string{}: failed to allocate a serviceIP: range is full'],
  );
  const taken: any = {
    spec: { type: 'NodePort', clusterIP: '10.96.0.2', ports: [{ port: 81, protocol: 'TCP', nodePort: 30000 }] },
  };
  assert.deepEqual(
    allocateService(taken, st).map((e) => `${e.field}: ${e.message}`),
    [
      'spec.clusterIPs: Invalid value: []string{"10.96.0.2"}: failed to allocate IP 10.96.0.2: provided IP is already allocated',
      'spec.ports[0].nodePort: Invalid value: 30000: provided port is already allocated',
    ],
  );
  const headless: any = { spec: { clusterIP: 'None', ports: [] } };
  assert.deepEqual(allocateService(headless, st), []);
  assert.equal(headless.spec.clusterIP, 'None');
});
