import { isIP } from 'node:net';
import type { FieldError, KubeObject } from '../../types.js';
import { arr, bool, define, enumStr, int32, kindSchema, obj, ref, str, strList, strMap } from '../../schema/builder.js';
import { N, conditionsList } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, isStr, oneOf, validateLabels, type Obj } from '../../validation/fields.js';
import { deepEqual, duplicate, forbidden, invalid, notSupported, required } from '../../validation/errors.js';
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isValidPortName,
  isValidPortNum,
} from '../../validation/names.js';
import { formatLabelSelector } from '../../labels/selector.js';
import { resource } from '../shared/define.js';
import { CORE } from './container-schema.js';

export const NODE_PORT_RANGE = { min: 30000, max: 32767 };
const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

define(
  CORE('ServicePort'),
  obj(
    'A port the service exposes.',
    {
      name: str(
        'Name of this port within the service; a DNS_LABEL. Required (and unique) when the service has more than one port.',
      ),
      protocol: { ...enumStr('IP protocol for this port: TCP (default), UDP or SCTP.', PROTOCOLS), default: 'TCP' },
      appProtocol: str('The application protocol, e.g. http, kubernetes.io/h2c.'),
      port: int32('The port exposed by this service.'),
      targetPort: ref(
        N.IntOrString,
        'Number or name of the port to access on the pods targeted by the service. Defaults to port.',
      ),
      nodePort: int32(
        'The port on each node on which this service is exposed when type is NodePort or LoadBalancer; allocated from 30000-32767 when unset.',
      ),
    },
    ['port'],
  ),
);
define(
  CORE('ClientIPConfig'),
  obj('Settings for ClientIP session affinity.', {
    timeoutSeconds: int32('Seconds of ClientIP stickiness, 1 to 86400; default 10800 (3 hours).'),
  }),
);
define(
  CORE('SessionAffinityConfig'),
  obj('Session affinity settings.', { clientIP: ref(CORE('ClientIPConfig'), 'Settings for ClientIP affinity.') }),
);
define(
  CORE('ServiceSpec'),
  obj('The attributes a user creates on a service.', {
    ports: arr('The ports exposed by this service.', ref(CORE('ServicePort')), {
      mergeKey: 'port',
      listType: 'map',
      mapKeys: ['port', 'protocol'],
    }),
    selector: {
      ...strMap(
        'Routes traffic to pods whose labels match this selector. When empty, endpoints are managed externally.',
      ),
      'x-kubernetes-map-type': 'atomic',
    },
    clusterIP: str(
      'The IP address of the service, usually assigned randomly; "None" makes a headless service. Cannot be changed once set.',
    ),
    clusterIPs: strList('The IP addresses assigned to the service (clusterIP first).'),
    type: enumStr('How the service is exposed: ClusterIP (default), NodePort, LoadBalancer or ExternalName.', TYPES),
    externalIPs: strList('IP addresses for which nodes also accept traffic for this service.'),
    sessionAffinity: enumStr('ClientIP or None (default).', ['ClientIP', 'None']),
    loadBalancerIP: str('Deprecated: the load balancer IP to request.'),
    loadBalancerSourceRanges: strList('Client CIDRs allowed through a cloud load balancer.'),
    externalName: str('The DNS name returned as a CNAME record for type ExternalName.'),
    externalTrafficPolicy: enumStr('How traffic from external sources is routed: Cluster (default) or Local.', [
      'Cluster',
      'Local',
    ]),
    healthCheckNodePort: int32('Health check node port for type LoadBalancer with externalTrafficPolicy Local.'),
    publishNotReadyAddresses: bool('Publish endpoints of pods that are not ready.'),
    sessionAffinityConfig: ref(CORE('SessionAffinityConfig'), 'Configuration of session affinity.'),
    ipFamilies: strList('IP families (IPv4, IPv6) assigned to this service.'),
    ipFamilyPolicy: enumStr('SingleStack (default), PreferDualStack or RequireDualStack.', [
      'PreferDualStack',
      'RequireDualStack',
      'SingleStack',
    ]),
    allocateLoadBalancerNodePorts: bool('Whether node ports are allocated for type LoadBalancer. Defaults to true.'),
    loadBalancerClass: str('The class of the load balancer implementation.'),
    internalTrafficPolicy: enumStr('How traffic from within the cluster is routed: Cluster (default) or Local.', [
      'Cluster',
      'Local',
    ]),
    trafficDistribution: str('Preference for how traffic is distributed to endpoints, e.g. PreferClose.'),
  }),
);
define(
  CORE('PortStatus'),
  obj(
    'Status of a load balancer port.',
    { port: int32('Port number.'), protocol: str('Protocol.'), error: str('Error, if any.') },
    ['port', 'protocol'],
  ),
);
define(
  CORE('LoadBalancerIngress'),
  obj('An ingress point of a load balancer.', {
    ip: str('IP-based ingress point.'),
    hostname: str('Hostname-based ingress point.'),
    ipMode: str('VIP or Proxy.'),
    ports: arr('Ports of the ingress point.', ref(CORE('PortStatus')), { listType: 'atomic' }),
  }),
);
define(
  CORE('LoadBalancerStatus'),
  obj('Status of a load balancer.', {
    ingress: arr('Ingress points.', ref(CORE('LoadBalancerIngress')), { listType: 'atomic' }),
  }),
);
define(
  CORE('ServiceStatus'),
  obj('The current status of a service.', {
    loadBalancer: ref(CORE('LoadBalancerStatus'), 'Status of the load balancer, if any.'),
    conditions: conditionsList('Current state of the service.'),
  }),
);

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'Service' },
  'Service is a named abstraction of a software service: a stable virtual IP and ports that proxies route to selected pods.',
  {
    spec: ref(CORE('ServiceSpec'), 'The behavior of the service.'),
    status: ref(CORE('ServiceStatus'), 'Most recently observed status of the service. Read-only.'),
  },
);

const headless = (s: Obj) => s.clusterIP === 'None';

function defaults(o: Obj): void {
  o.spec = asObj(o.spec) ?? {};
  const s = o.spec;
  if (!s.type) s.type = 'ClusterIP';
  if (!s.sessionAffinity) s.sessionAffinity = 'None';
  if (s.sessionAffinity === 'ClientIP') {
    s.sessionAffinityConfig = asObj(s.sessionAffinityConfig) ?? {};
    s.sessionAffinityConfig.clientIP = asObj(s.sessionAffinityConfig.clientIP) ?? {};
    s.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
  }
  for (const p of asArr(s.ports)) {
    if (!asObj(p)) continue;
    if (!p.protocol) p.protocol = 'TCP';
    if (s.type !== 'ExternalName' && (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === ''))
      p.targetPort = p.port;
  }
  if (s.type === 'NodePort' || s.type === 'LoadBalancer') s.externalTrafficPolicy ??= 'Cluster';
  if (s.type === 'LoadBalancer') s.allocateLoadBalancerNodePorts ??= true;
  if (s.type !== 'ExternalName') {
    s.internalTrafficPolicy ??= 'Cluster';
    s.ipFamilyPolicy ??= 'SingleStack';
    if (!asArr(s.ipFamilies).length) s.ipFamilies = [isStr(s.clusterIP) && isIP(s.clusterIP) === 6 ? 'IPv6' : 'IPv4'];
    if (isStr(s.clusterIP) && s.clusterIP && !asArr(s.clusterIPs).length) s.clusterIPs = [s.clusterIP];
  }
  o.status = asObj(o.status) ?? {};
  o.status.loadBalancer ??= {};
}

function validatePorts(s: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const ports = asArr(s.ports);
  if (ports.length === 0 && !headless(s) && s.type !== 'ExternalName') errs.push(required('spec.ports'));
  const names = new Set<string>(),
    keys = new Set<string>(),
    nodePorts = new Set<string>();
  ports.forEach((p: Obj, i: number) => {
    const pp = `spec.ports[${i}]`;
    if (!asObj(p)) {
      errs.push(invalid(pp, p, 'must be an object'));
      return;
    }
    if (ports.length > 1 && !p.name) errs.push(required(`${pp}.name`));
    if (p.name) {
      errs.push(...isDNS1123Label(String(p.name)).map((m) => invalid(`${pp}.name`, p.name, m)));
      if (names.has(p.name)) errs.push(duplicate(`${pp}.name`, p.name));
      names.add(p.name);
    }
    errs.push(...isValidPortNum(p.port).map((m) => invalid(`${pp}.port`, p.port ?? 0, m)));
    if (!p.protocol) errs.push(required(`${pp}.protocol`));
    else if (!PROTOCOLS.includes(p.protocol)) errs.push(notSupported(`${pp}.protocol`, p.protocol, PROTOCOLS));
    const key = `${p.port}/${p.protocol}`;
    if (keys.has(key)) errs.push(duplicate(pp, `${p.port}/${p.protocol}`));
    keys.add(key);
    const tp = p.targetPort;
    if (typeof tp === 'number') errs.push(...isValidPortNum(tp).map((m) => invalid(`${pp}.targetPort`, tp, m)));
    else if (typeof tp === 'string' && tp !== '') {
      if (/^\d+$/.test(tp)) errs.push(...isValidPortNum(Number(tp)).map((m) => invalid(`${pp}.targetPort`, tp, m)));
      else errs.push(...isValidPortName(tp).map((m) => invalid(`${pp}.targetPort`, tp, m)));
    }
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (s.type !== 'NodePort' && s.type !== 'LoadBalancer')
        errs.push(forbidden(`${pp}.nodePort`, `may not be used when \`type\` is '${s.type}'`));
      else if (!Number.isInteger(p.nodePort) || p.nodePort < NODE_PORT_RANGE.min || p.nodePort > NODE_PORT_RANGE.max) {
        errs.push(
          invalid(
            `${pp}.nodePort`,
            p.nodePort,
            `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`,
          ),
        );
      } else {
        const nk = `${p.nodePort}/${p.protocol}`;
        if (nodePorts.has(nk)) errs.push(duplicate(`${pp}.nodePort`, p.nodePort));
        nodePorts.add(nk);
      }
    }
  });
  return errs;
}

function validate(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const name = o.metadata?.name;
  if (isStr(name) && name) errs.push(...isDNS1035Label(name).map((m) => invalid('metadata.name', name, m)));
  const s = asObj(o.spec);
  if (!s) return [...errs, required('spec')];
  if (!s.type) errs.push(required('spec.type'));
  else if (!TYPES.includes(s.type)) errs.push(notSupported('spec.type', s.type, TYPES));
  errs.push(...oneOf(s.sessionAffinity, 'spec.sessionAffinity', ['ClientIP', 'None'], false));
  if (s.type === 'ExternalName') {
    if (s.clusterIP) errs.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    if (!s.externalName) errs.push(required('spec.externalName'));
    else
      errs.push(
        ...isDNS1123Subdomain(String(s.externalName).replace(/\.$/, '')).map((m) =>
          invalid('spec.externalName', s.externalName, m),
        ),
      );
  } else if (s.externalName) {
    // Upstream tolerates externalName on other types only when empty; it is ignored otherwise.
  }
  const ips = asArr(s.clusterIPs).length ? asArr(s.clusterIPs) : s.clusterIP ? [s.clusterIP] : [];
  ips.forEach((ip: unknown, i: number) => {
    if (ip === 'None' && i === 0) return;
    if (!isStr(ip) || !isIP(ip))
      errs.push(invalid(`spec.clusterIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  });
  if (s.clusterIP && asArr(s.clusterIPs).length && s.clusterIPs[0] !== s.clusterIP)
    errs.push(invalid('spec.clusterIPs', s.clusterIPs, 'first value must match `clusterIP`'));
  if (headless(s) && (s.type === 'NodePort' || s.type === 'LoadBalancer'))
    errs.push(invalid('spec.clusterIPs[0]', 'None', `may not be set to 'None' for ${s.type} services`));
  errs.push(...validatePorts(s));
  errs.push(...validateLabels(s.selector, 'spec.selector'));
  asArr(s.externalIPs).forEach((ip: unknown, i: number) => {
    if (!isStr(ip) || !isIP(ip))
      errs.push(invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  });
  const t = s.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (t !== undefined && (!Number.isInteger(t) || t <= 0 || t > 86400))
    errs.push(
      invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', t, 'must be greater than 0 and less than 86400'),
    );
  if (s.externalTrafficPolicy !== undefined) {
    if (s.type !== 'NodePort' && s.type !== 'LoadBalancer')
      errs.push(
        invalid(
          'spec.externalTrafficPolicy',
          s.externalTrafficPolicy,
          'may only be set for externally-accessible services',
        ),
      );
    else errs.push(...oneOf(s.externalTrafficPolicy, 'spec.externalTrafficPolicy', ['Cluster', 'Local']));
  }
  if (s.internalTrafficPolicy !== undefined && s.type !== 'ExternalName')
    errs.push(...oneOf(s.internalTrafficPolicy, 'spec.internalTrafficPolicy', ['Cluster', 'Local']));
  asArr(s.ipFamilies).forEach((f: unknown, i: number) =>
    errs.push(...oneOf(f, `spec.ipFamilies[${i}]`, ['IPv4', 'IPv6'], false)),
  );
  return errs;
}

function validateUpdate(o: Obj, old: Obj): FieldError[] {
  const s = asObj(o.spec) ?? {},
    p = asObj(old.spec) ?? {};
  // A cluster IP, once assigned, stays (unless the service becomes ExternalName).
  if (p.clusterIP && s.type !== 'ExternalName' && s.clusterIP && s.clusterIP !== p.clusterIP) {
    // Upstream names the whole new list as the value.
    const list = asArr(s.clusterIPs).length ? s.clusterIPs : [s.clusterIP];
    return [invalid('spec.clusterIPs[0]', list, 'may not change once set')];
  }
  return [];
}

const needsNodePorts = (t: unknown) => t === 'NodePort' || t === 'LoadBalancer';

/** Upstream's dropTypeDependentFields: when the type changes, fields the new type does not allow
 *  are cleared if the client left them as they were (e.g. `kubectl apply` turning a NodePort
 *  Service into a ClusterIP one keeps the live nodePorts otherwise). */
function dropTypeDependentFields(s: Obj, p: Obj): void {
  const same = (k: string) => deepEqual(s[k], p[k]);
  if (needsNodePorts(p.type) && !needsNodePorts(s.type)) {
    const oldPorts = new Map(
      asArr(p.ports)
        .filter(asObj)
        .map((x) => [`${x.port}/${x.protocol ?? 'TCP'}`, x.nodePort]),
    );
    for (const port of asArr(s.ports)) {
      if (asObj(port) && port.nodePort && oldPorts.get(`${port.port}/${port.protocol ?? 'TCP'}`) === port.nodePort)
        delete port.nodePort;
    }
    if (same('externalTrafficPolicy')) delete s.externalTrafficPolicy;
  }
  if (p.type === 'LoadBalancer' && s.type !== 'LoadBalancer') {
    for (const k of ['allocateLoadBalancerNodePorts', 'loadBalancerClass', 'healthCheckNodePort'])
      if (same(k)) delete s[k];
  }
  if (s.type === 'ExternalName' && p.type !== 'ExternalName') {
    for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'internalTrafficPolicy'])
      if (same(k)) delete s[k];
  }
}

/** Carries server-assigned values (cluster IPs, node ports) over an update that omits them, and
 *  drops the fields a type change makes invalid. */
export function prepareServiceUpdate(o: Obj, old: Obj): void {
  const s = asObj(o.spec),
    p = asObj(old.spec);
  if (!s || !p) return;
  dropTypeDependentFields(s, p);
  if (s.type === 'ExternalName') return;
  if (!s.clusterIP && p.clusterIP) {
    s.clusterIP = p.clusterIP;
    s.clusterIPs ??= p.clusterIPs;
  }
  // Only clusterIP changed (clusterIPs as stored): the list follows it (upstream's
  // normalizeClusterIPs), so validation judges the list.
  const sameList = JSON.stringify(s.clusterIPs) === JSON.stringify(p.clusterIPs);
  if (s.clusterIP && p.clusterIP && s.clusterIP !== p.clusterIP && sameList && asArr(s.clusterIPs).length)
    s.clusterIPs = [s.clusterIP, ...asArr(s.clusterIPs).slice(1)];
  if (s.type === 'NodePort' || s.type === 'LoadBalancer') {
    for (const np of asArr(s.ports)) {
      if (!asObj(np) || np.nodePort) continue;
      const prev = asArr(p.ports).find((x) => x?.port === np.port && (x?.protocol ?? 'TCP') === (np.protocol ?? 'TCP'));
      if (prev?.nodePort) np.nodePort = prev.nodePort;
    }
  }
}

export function formatServicePorts(ports: unknown): string {
  const list = asArr(ports).filter(asObj);
  if (!list.length) return '<none>';
  return list
    .map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`))
    .join(',');
}

function externalIP(s: Obj, st: Obj): string {
  const lb = asArr(st.loadBalancer?.ingress)
    .map((i) => i?.ip || i?.hostname)
    .filter(Boolean);
  const ext = asArr(s.externalIPs);
  switch (s.type) {
    case 'ClusterIP':
    case 'NodePort':
      return ext.length ? ext.join(',') : '<none>';
    case 'LoadBalancer': {
      const all = [...lb, ...ext];
      return all.length ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return s.externalName ?? '<none>';
    default:
      return '<unknown>';
  }
}

export const service = resource({
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  singular: 'service',
  namespaced: true,
  shortNames: ['svc'],
  categories: ['all'],
  nameRule: 'label',
  subresources: {
    status: true,
    extra: [{ name: 'proxy', kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }],
  },
  schema,
  defaults: (o: KubeObject) => defaults(o as Obj),
  validate: (o: KubeObject) => validate(o as Obj),
  prepareForUpdate: (o: KubeObject, old: KubeObject) => prepareServiceUpdate(o as Obj, old as Obj),
  validateUpdate: (o: KubeObject, old: KubeObject) => validateUpdate(o as Obj, old as Obj),
  // As upstream's (kube-proxy lists with spec.clusterIP!=None, the service controller by type).
  fieldSelectors: {
    'spec.clusterIP': (o) => String((o as Obj).spec?.clusterIP ?? ''),
    'spec.type': (o) => String((o as Obj).spec?.type ?? ''),
  },
  columns: [
    nameColumn,
    col('Type', 'string', 'The type of service.'),
    col('Cluster-IP', 'string', 'The IP address of the service inside the cluster.'),
    col('External-IP', 'string', 'The external IP addresses or host name of the service.'),
    col('Port(s)', 'string', 'The ports exposed by the service (port[:nodePort]/protocol).'),
    ageColumn,
    col('Selector', 'string', 'The label selector of the pods the service routes to.', 1),
  ],
  row: (obj, now) => {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {};
    const sel = asObj(s.selector);
    return [
      obj.metadata.name,
      s.type ?? '',
      s.type === 'ExternalName' ? '<none>' : s.clusterIP || '<none>',
      externalIP(s, asObj(o.status) ?? {}),
      formatServicePorts(s.ports),
      age(obj.metadata.creationTimestamp, now),
      sel && Object.keys(sel).length ? formatLabelSelector({ matchLabels: sel }) : '<none>',
    ];
  },
});
