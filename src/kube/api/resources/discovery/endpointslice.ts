import { isIP } from 'node:net';
import type { FieldError, KubeObject } from '../../types.js';
import { arr, bool, define, enumStr, int32, kindSchema, mapOf, obj, ref, str, strList } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, type Obj } from '../../validation/fields.js';
import { duplicate, immutable, invalid, notSupported, required, tooMany } from '../../validation/errors.js';
import { isDNS1123Label, isDNS1123Subdomain, isValidPortNum } from '../../validation/names.js';
import { resource } from '../shared/define.js';
import '../core/storage-schema.js';

const D = (n: string) => `io.k8s.api.discovery.v1.${n}`;
const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

define(
  D('EndpointConditions'),
  obj('The state of an endpoint.', {
    ready: bool(
      'Whether the endpoint is ready to receive traffic (a ready pod that is not terminating). Nil means unknown; consumers treat it as ready.',
    ),
    serving: bool('Like ready, but true also while the endpoint terminates.'),
    terminating: bool('Whether the endpoint is terminating.'),
  }),
);
define(D('ForZone'), obj('A zone that should consume this endpoint.', { name: str('Name of the zone.') }, ['name']));
define(D('ForNode'), obj('A node that should consume this endpoint.', { name: str('Name of the node.') }, ['name']));
define(
  D('EndpointHints'),
  obj('Hints about how an endpoint should be consumed.', {
    forZones: arr('Zones that should consume this endpoint.', ref(D('ForZone')), { listType: 'atomic' }),
    forNodes: arr('Nodes that should consume this endpoint.', ref(D('ForNode')), { listType: 'atomic' }),
  }),
);
define(
  D('Endpoint'),
  obj(
    'A single logical backend of a service.',
    {
      addresses: strList(
        "Addresses of this endpoint, interpreted per the slice's addressType; consumers use the first.",
        { listType: 'set' },
      ),
      conditions: ref(D('EndpointConditions'), 'The current state of the endpoint.'),
      hostname: str('Hostname of this endpoint (a DNS label).'),
      targetRef: ref(
        'io.k8s.api.core.v1.ObjectReference',
        'Reference to the object providing the endpoint, usually a Pod.',
      ),
      deprecatedTopology: mapOf('Deprecated topology information.', { type: 'string', default: '' }),
      nodeName: str('The node hosting this endpoint.'),
      zone: str('The zone this endpoint is in.'),
      hints: ref(D('EndpointHints'), 'Hints about how the endpoint should be consumed.'),
    },
    ['addresses'],
  ),
);
define(D('EndpointPort'), {
  ...obj('A port used by the endpoints.', {
    name: str('Name of this port; must match a service port name, or be empty.'),
    protocol: enumStr('TCP (default), UDP or SCTP.', ['SCTP', 'TCP', 'UDP']),
    port: int32('The port number; nil means all ports.'),
    appProtocol: str('The application protocol.'),
  }),
  'x-kubernetes-map-type': 'atomic',
});

function validate(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const at = o.addressType;
  if (!at) errs.push(required('addressType'));
  else if (!ADDRESS_TYPES.includes(at)) errs.push(notSupported('addressType', at, ADDRESS_TYPES));
  const eps = asArr(o.endpoints);
  if (eps.length > 1000) errs.push(tooMany('endpoints', eps.length, 1000));
  eps.forEach((e: Obj, i: number) => {
    const p = `endpoints[${i}]`;
    const addrs = asArr(e?.addresses);
    if (addrs.length === 0) errs.push(required(`${p}.addresses`, 'must contain at least 1 address'));
    if (addrs.length > 100) errs.push(tooMany(`${p}.addresses`, addrs.length, 100));
    addrs.forEach((a: unknown, j: number) => {
      const ap = `${p}.addresses[${j}]`;
      const s = String(a);
      if (at === 'IPv4' && isIP(s) !== 4) errs.push(invalid(ap, a, 'must be a valid IPv4 address'));
      else if (at === 'IPv6' && isIP(s) !== 6) errs.push(invalid(ap, a, 'must be a valid IPv6 address'));
      else if (at === 'FQDN') errs.push(...isDNS1123Subdomain(s).map((m) => invalid(ap, a, m)));
    });
    if (e?.hostname)
      errs.push(...isDNS1123Label(String(e.hostname)).map((m) => invalid(`${p}.hostname`, e.hostname, m)));
    if (e?.nodeName)
      errs.push(...isDNS1123Subdomain(String(e.nodeName)).map((m) => invalid(`${p}.nodeName`, e.nodeName, m)));
  });
  const ports = asArr(o.ports);
  if (ports.length > 100) errs.push(tooMany('ports', ports.length, 100));
  const names = new Set<string>();
  ports.forEach((pt: Obj, i: number) => {
    const p = `ports[${i}]`;
    const name = pt?.name ?? '';
    if (name) errs.push(...isDNS1123Label(String(name)).map((m) => invalid(`${p}.name`, name, m)));
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    names.add(name);
    if (pt?.port !== undefined && pt.port !== null)
      errs.push(...isValidPortNum(pt.port).map((m) => invalid(`${p}.port`, pt.port, m)));
    if (!pt?.protocol) errs.push(required(`${p}.protocol`));
    else if (!['TCP', 'UDP', 'SCTP'].includes(pt.protocol))
      errs.push(notSupported(`${p}.protocol`, pt.protocol, ['SCTP', 'TCP', 'UDP']));
  });
  return errs;
}

export const endpointSlice = resource({
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  schema: kindSchema(
    { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' },
    'EndpointSlice is a subset of the endpoints that implement a service (labelled kubernetes.io/service-name).',
    {
      addressType: str('The type of address carried by this slice: IPv4, IPv6 or FQDN. Immutable.'),
      endpoints: arr('Unique endpoints in this slice (at most 1000).', ref(D('Endpoint')), { listType: 'atomic' }),
      ports: arr('Network ports exposed by each endpoint (at most 100).', ref(D('EndpointPort')), {
        listType: 'atomic',
      }),
    },
    ['addressType', 'endpoints'],
  ),
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    for (const p of asArr(o.ports))
      if (asObj(p)) {
        p.protocol ??= 'TCP';
        p.name ??= '';
      }
    o.endpoints ??= [];
  },
  validate: (o: KubeObject) => validate(o as Obj),
  validateUpdate: (o: KubeObject, old: KubeObject) =>
    immutable('addressType', (o as Obj).addressType, (old as Obj).addressType),
  columns: [
    nameColumn,
    col('AddressType', 'string', 'The type of address carried by the slice.'),
    col('Ports', 'string', 'The ports of the endpoints.'),
    col('Endpoints', 'string', 'The addresses of the endpoints.'),
    ageColumn,
  ],
  row(obj, now) {
    const o = obj as Obj;
    const ports = asArr(o.ports);
    const portCell = ports.length
      ? ports.map((p) => (p?.port === undefined || p?.port === null ? '<unset>' : String(p.port))).join(',')
      : '<unset>';
    const addrs = asArr(o.endpoints).flatMap((e) => asArr(e?.addresses));
    const epCell = addrs.length
      ? addrs.slice(0, 3).join(',') + (addrs.length > 3 ? ` + ${addrs.length - 3} more...` : '')
      : '<unset>';
    return [obj.metadata.name, o.addressType ?? '', portCell, epCell, age(obj.metadata.creationTimestamp, now)];
  },
});
