// networking.k8s.io/v1 Ingress, IngressClass and NetworkPolicy.
import { isIP } from 'node:net';
import type { FieldError, KubeObject } from '../../types.js';
import { kindSchema, ref } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, oneOf, validateLabelSelector, type Obj } from '../../validation/fields.js';
import { forbidden, immutable, invalid, notSupported, required } from '../../validation/errors.js';
import { isDNS1123Subdomain, isValidPortName, isValidPortNum } from '../../validation/names.js';
import { formatLabelSelector } from '../../labels/selector.js';
import { resource } from '../shared/define.js';
import { NW } from './schema.js';

const GROUP = 'networking.k8s.io';
const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];

function validateBackend(b: Obj | undefined, p: string): FieldError[] {
  if (!b) return [required(p)];
  const errs: FieldError[] = [];
  if (b.service && b.resource) errs.push(invalid(p, '', 'cannot set both resource and service backends'));
  else if (!b.service && !b.resource) errs.push(invalid(p, '', 'resource or service backend is required'));
  const svc = asObj(b.service);
  if (svc) {
    if (!svc.name) errs.push(required(`${p}.service.name`));
    else errs.push(...isDNS1123Subdomain(String(svc.name)).map((m) => invalid(`${p}.service.name`, svc.name, m)));
    const port = asObj(svc.port);
    if (!port || (port.name === undefined && port.number === undefined))
      errs.push(required(`${p}.service.port`, 'port name or number is required'));
    else if (port.name !== undefined && port.number !== undefined)
      errs.push(invalid(`${p}.service.port`, '', 'cannot set both port name & port number'));
    else if (port.name !== undefined)
      errs.push(...isValidPortName(String(port.name)).map((m) => invalid(`${p}.service.port.name`, port.name, m)));
    else errs.push(...isValidPortNum(port.number).map((m) => invalid(`${p}.service.port.number`, port.number, m)));
  }
  return errs;
}

function validateHost(host: unknown, p: string): FieldError[] {
  if (host === undefined || host === '') return [];
  const h = String(host);
  if (isIP(h)) return [invalid(p, h, 'must be a DNS name, not an IP address')];
  const bare = h.startsWith('*.') ? h.slice(2) : h;
  return isDNS1123Subdomain(bare).map((m) =>
    invalid(
      p,
      h,
      h.startsWith('*.')
        ? `a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain; ${m}`
        : m,
    ),
  );
}

function validateIngress(o: Obj): FieldError[] {
  const s = asObj(o.spec) ?? {};
  const errs: FieldError[] = [];
  const rules = asArr(s.rules);
  if (!rules.length && !s.defaultBackend)
    errs.push(invalid('spec.rules', [], 'either `defaultBackend` or `rules` must be specified'));
  if (s.defaultBackend) errs.push(...validateBackend(asObj(s.defaultBackend), 'spec.defaultBackend'));
  rules.forEach((rule: Obj, i: number) => {
    const p = `spec.rules[${i}]`;
    errs.push(...validateHost(rule?.host, `${p}.host`));
    const http = asObj(rule?.http);
    if (!http) return;
    const paths = asArr(http.paths);
    if (!paths.length) errs.push(required(`${p}.http.paths`));
    paths.forEach((pt: Obj, j: number) => {
      const pp = `${p}.http.paths[${j}]`;
      if (!pt?.pathType) errs.push(required(`${pp}.pathType`, 'pathType must be specified'));
      else if (!PATH_TYPES.includes(pt.pathType)) errs.push(notSupported(`${pp}.pathType`, pt.pathType, PATH_TYPES));
      else if (pt.pathType !== 'ImplementationSpecific' && !String(pt.path ?? '').startsWith('/'))
        errs.push(invalid(`${pp}.path`, pt.path ?? '', 'must be an absolute path'));
      errs.push(...validateBackend(asObj(pt?.backend), `${pp}.backend`));
    });
  });
  asArr(s.tls).forEach((t: Obj, i: number) =>
    asArr(t?.hosts).forEach((h: unknown, j: number) => errs.push(...validateHost(h, `spec.tls[${i}].hosts[${j}]`))),
  );
  if (s.ingressClassName !== undefined)
    errs.push(
      ...isDNS1123Subdomain(String(s.ingressClassName)).map((m) =>
        invalid('spec.ingressClassName', s.ingressClassName, m),
      ),
    );
  return errs;
}

export const ingress = resource({
  group: GROUP,
  version: 'v1',
  kind: 'Ingress',
  plural: 'ingresses',
  singular: 'ingress',
  namespaced: true,
  shortNames: ['ing'],
  hasGeneration: true,
  subresources: { status: true },
  schema: kindSchema(
    { group: GROUP, version: 'v1', kind: 'Ingress' },
    'Ingress is a collection of rules that allow inbound HTTP(S) connections to reach services.',
    {
      spec: ref(NW('IngressSpec'), 'The desired state of the Ingress.'),
      status: ref(NW('IngressStatus'), 'The current state of the Ingress. Read-only.'),
    },
  ),
  defaults(obj: KubeObject) {
    // Structs upstream: `status: {loadBalancer: {}}` until a controller reports an address.
    const o = obj as Obj;
    o.status = asObj(o.status) ?? {};
    o.status.loadBalancer = asObj(o.status.loadBalancer) ?? {};
  },
  validate: (o: KubeObject) => validateIngress(o as Obj),
  columns: [
    nameColumn,
    col('Class', 'string', 'The ingress class.'),
    col('Hosts', 'string', 'Hosts the rules apply to.'),
    col('Address', 'string', 'Addresses of the load balancer.'),
    col('Ports', 'string', 'Ports served.'),
    ageColumn,
  ],
  row(obj, now) {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {};
    const hosts = asArr(s.rules).map((r) => r?.host || '*');
    const addrs = asArr(asObj(asObj(o.status)?.loadBalancer)?.ingress)
      .map((i) => i?.ip || i?.hostname)
      .filter(Boolean);
    return [
      obj.metadata.name,
      s.ingressClassName ?? '<none>',
      hosts.length ? hosts.join(',') : '*',
      addrs.join(','),
      asArr(s.tls).length ? '80, 443' : '80',
      age(obj.metadata.creationTimestamp, now),
    ];
  },
});

export const ingressClass = resource({
  group: GROUP,
  version: 'v1',
  kind: 'IngressClass',
  plural: 'ingressclasses',
  singular: 'ingressclass',
  namespaced: false,
  hasGeneration: true,
  schema: kindSchema(
    { group: GROUP, version: 'v1', kind: 'IngressClass' },
    'IngressClass names the controller that implements Ingresses of this class (spec.ingressClassName).',
    {
      spec: ref(NW('IngressClassSpec'), 'The IngressClass specification.'),
    },
  ),
  validate(obj: KubeObject) {
    const s = asObj((obj as Obj).spec) ?? {};
    const errs: FieldError[] = [];
    if (!s.controller) errs.push(required('spec.controller'));
    else if (String(s.controller).length > 250)
      errs.push({
        type: 'FieldValueTooLong',
        field: 'spec.controller',
        message: 'Too long: may not be more than 250 bytes',
      });
    const par = asObj(s.parameters);
    if (par && par.scope !== undefined)
      errs.push(...oneOf(par.scope, 'spec.parameters.scope', ['Cluster', 'Namespace']));
    if (par?.scope === 'Namespace' && !par.namespace)
      errs.push(required('spec.parameters.namespace', "`parameters.scope` is set to 'Namespace'"));
    return errs;
  },
  validateUpdate: (o: KubeObject, old: KubeObject) =>
    immutable('spec.controller', asObj((o as Obj).spec)?.controller, asObj((old as Obj).spec)?.controller),
  columns: [
    nameColumn,
    col('Controller', 'string', 'The controller implementing the class.'),
    col('Parameters', 'string', 'The parameters object.'),
    ageColumn,
  ],
  row(obj, now) {
    const s = asObj((obj as Obj).spec) ?? {},
      p = asObj(s.parameters);
    return [
      obj.metadata.name,
      s.controller ?? '',
      p ? `${p.kind}/${p.name}` : '<none>',
      age(obj.metadata.creationTimestamp, now),
    ];
  },
});

function validatePeers(peers: unknown, p: string): FieldError[] {
  const errs: FieldError[] = [];
  asArr(peers).forEach((peer: Obj, i: number) => {
    const pp = `${p}[${i}]`;
    const ip = asObj(peer?.ipBlock);
    if (ip && (peer.podSelector || peer.namespaceSelector))
      errs.push(forbidden(pp, 'may not specify both ipBlock and another peer'));
    if (!ip && !peer?.podSelector && !peer?.namespaceSelector) errs.push(required(pp, 'must specify a peer'));
    errs.push(
      ...validateLabelSelector(peer?.podSelector, `${pp}.podSelector`),
      ...validateLabelSelector(peer?.namespaceSelector, `${pp}.namespaceSelector`),
    );
    if (ip) {
      const [addr, bits] = String(ip.cidr ?? '').split('/');
      if (!ip.cidr) errs.push(required(`${pp}.ipBlock.cidr`));
      else if (!isIP(addr) || !/^\d+$/.test(bits ?? ''))
        errs.push(
          invalid(`${pp}.ipBlock.cidr`, ip.cidr, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'),
        );
    }
  });
  return errs;
}

function validatePorts(ports: unknown, p: string): FieldError[] {
  const errs: FieldError[] = [];
  asArr(ports).forEach((pt: Obj, i: number) => {
    const pp = `${p}[${i}]`;
    if (pt?.protocol !== undefined) errs.push(...oneOf(pt.protocol, `${pp}.protocol`, ['TCP', 'UDP', 'SCTP']));
    if (typeof pt?.port === 'number')
      errs.push(...isValidPortNum(pt.port).map((m) => invalid(`${pp}.port`, pt.port, m)));
    else if (typeof pt?.port === 'string')
      errs.push(...isValidPortName(pt.port).map((m) => invalid(`${pp}.port`, pt.port, m)));
    if (pt?.endPort !== undefined) {
      if (typeof pt.port !== 'number')
        errs.push(required(`${pp}.port`, 'When endPort is specified, port must be specified'));
      else if (pt.endPort < pt.port)
        errs.push(invalid(`${pp}.endPort`, pt.endPort, 'must be greater than or equal to `port`'));
    }
  });
  return errs;
}

function validateNetworkPolicy(o: Obj): FieldError[] {
  const s = asObj(o.spec) ?? {};
  const errs: FieldError[] = [];
  if (!asObj(s.podSelector)) errs.push(required('spec.podSelector'));
  errs.push(...validateLabelSelector(s.podSelector, 'spec.podSelector'));
  asArr(s.ingress).forEach((r: Obj, i: number) =>
    errs.push(
      ...validatePorts(r?.ports, `spec.ingress[${i}].ports`),
      ...validatePeers(r?.from, `spec.ingress[${i}].from`),
    ),
  );
  asArr(s.egress).forEach((r: Obj, i: number) =>
    errs.push(...validatePorts(r?.ports, `spec.egress[${i}].ports`), ...validatePeers(r?.to, `spec.egress[${i}].to`)),
  );
  const types = asArr(s.policyTypes);
  if (types.length > 2) errs.push(invalid('spec.policyTypes', types, 'may not specify more than two policyTypes'));
  types.forEach((t: unknown, i: number) => {
    if (t !== 'Ingress' && t !== 'Egress') errs.push(notSupported(`spec.policyTypes[${i}]`, t, ['Ingress', 'Egress']));
  });
  return errs;
}

export const networkPolicy = resource({
  group: GROUP,
  version: 'v1',
  kind: 'NetworkPolicy',
  plural: 'networkpolicies',
  singular: 'networkpolicy',
  namespaced: true,
  shortNames: ['netpol'],
  hasGeneration: true,
  schema: kindSchema(
    { group: GROUP, version: 'v1', kind: 'NetworkPolicy' },
    'NetworkPolicy describes what network traffic is allowed for a set of pods.',
    {
      spec: ref(NW('NetworkPolicySpec'), 'The desired behavior of the policy.'),
    },
  ),
  defaults(obj: KubeObject) {
    const s = asObj((obj as Obj).spec);
    if (!s) return;
    for (const dir of ['ingress', 'egress'])
      for (const r of asArr(s[dir])) for (const p of asArr(r?.ports)) if (asObj(p)) p.protocol ??= 'TCP';
    if (!asArr(s.policyTypes).length) s.policyTypes = asArr(s.egress).length ? ['Ingress', 'Egress'] : ['Ingress'];
  },
  validate: (o: KubeObject) => validateNetworkPolicy(o as Obj),
  columns: [nameColumn, col('Pod-Selector', 'string', 'The pods the policy applies to.'), ageColumn],
  row(obj, now) {
    const sel = asObj(asObj((obj as Obj).spec)?.podSelector);
    const cell = sel ? formatLabelSelector(sel) : '<none>';
    return [obj.metadata.name, cell, age(obj.metadata.creationTimestamp, now)];
  },
});
