import { isIP } from 'node:net';
import type { FieldError, KubeObject } from '../../types.js';
import { arr, define, enumStr, int32, kindSchema, obj, ref, str } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, type Obj } from '../../validation/fields.js';
import { invalid, notSupported, required } from '../../validation/errors.js';
import { isDNS1123Label, isValidPortNum } from '../../validation/names.js';
import { resource } from '../shared/define.js';
import { CORE } from './container-schema.js';
import './storage-schema.js';

define(CORE('EndpointAddress'), {
  ...obj(
    'A single IP address of an endpoint.',
    {
      ip: str('The IP of this endpoint.'),
      hostname: str('The hostname of this endpoint.'),
      nodeName: str('The node hosting this endpoint.'),
      targetRef: ref(CORE('ObjectReference'), 'Reference to the object providing the endpoint.'),
    },
    ['ip'],
  ),
  'x-kubernetes-map-type': 'atomic',
});
define(CORE('EndpointPort'), {
  ...obj(
    'A port of an endpoint.',
    {
      name: str('Name of this port; must match a ServicePort name.'),
      port: int32('The port number.'),
      protocol: enumStr('TCP (default), UDP or SCTP.', ['SCTP', 'TCP', 'UDP']),
      appProtocol: str('The application protocol.'),
    },
    ['port'],
  ),
  'x-kubernetes-map-type': 'atomic',
});
define(
  CORE('EndpointSubset'),
  obj('A group of addresses sharing a set of ports; the expanded set is the cross product of addresses and ports.', {
    addresses: arr('Addresses ready to accept traffic.', ref(CORE('EndpointAddress')), { listType: 'atomic' }),
    notReadyAddresses: arr(
      'Addresses not ready yet (still starting or failing readiness).',
      ref(CORE('EndpointAddress')),
      { listType: 'atomic' },
    ),
    ports: arr('Port numbers available on the addresses.', ref(CORE('EndpointPort')), { listType: 'atomic' }),
  }),
);

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'Endpoints' },
  'Endpoints is a collection of endpoints that implement a service (superseded by discovery.k8s.io EndpointSlices).',
  {
    subsets: arr('The sets of addresses and ports that comprise the service.', ref(CORE('EndpointSubset')), {
      listType: 'atomic',
    }),
  },
);

function validate(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  asArr(o.subsets).forEach((s: Obj, i: number) => {
    const p = `subsets[${i}]`;
    for (const k of ['addresses', 'notReadyAddresses'])
      asArr(s?.[k]).forEach((a: Obj, j: number) => {
        if (!a?.ip) errs.push(required(`${p}.${k}[${j}].ip`));
        else if (!isIP(String(a.ip)))
          errs.push(
            invalid(`${p}.${k}[${j}].ip`, a.ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
          );
        if (a?.hostname)
          errs.push(
            ...isDNS1123Label(String(a.hostname)).map((m) => invalid(`${p}.${k}[${j}].hostname`, a.hostname, m)),
          );
      });
    asArr(s?.ports).forEach((pt: Obj, j: number) => {
      errs.push(...isValidPortNum(pt?.port).map((m) => invalid(`${p}.ports[${j}].port`, pt?.port ?? 0, m)));
      if (pt?.protocol && !['TCP', 'UDP', 'SCTP'].includes(pt.protocol))
        errs.push(notSupported(`${p}.ports[${j}].protocol`, pt.protocol, ['SCTP', 'TCP', 'UDP']));
    });
  });
  return errs;
}

/** kubectl's ENDPOINTS cell: up to three ip:port pairs, then "+ N more...". */
export function formatEndpoints(subsets: unknown): string {
  const list: string[] = [];
  let count = 0;
  for (const s of asArr(subsets)) {
    const ports = asArr(s?.ports),
      addrs = asArr(s?.addresses);
    const pairs = ports.length
      ? addrs.flatMap((a) => ports.map((p) => `${a?.ip}:${p?.port}`))
      : addrs.map((a) => String(a?.ip));
    for (const x of pairs) {
      count++;
      if (list.length < 3) list.push(x);
    }
  }
  if (!count) return '<none>';
  return list.join(',') + (count > list.length ? ` + ${count - list.length} more...` : '');
}

export const endpoints = resource({
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  listKind: 'EndpointsList',
  plural: 'endpoints',
  singular: 'endpoints',
  namespaced: true,
  shortNames: ['ep'],
  schema,
  defaults(o: KubeObject) {
    for (const s of asArr((o as Obj).subsets))
      for (const p of asArr(s?.ports)) if (asObj(p) && !p.protocol) p.protocol = 'TCP';
  },
  validate: (o: KubeObject) => validate(o as Obj),
  columns: [nameColumn, col('Endpoints', 'string', 'Endpoints of the service (ip:port).'), ageColumn],
  row: (obj, now) => [
    obj.metadata.name,
    formatEndpoints((obj as Obj).subsets),
    age(obj.metadata.creationTimestamp, now),
  ],
});
