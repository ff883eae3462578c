import type { FieldError, KubeObject } from '../../types.js';
import { define, int32, kindSchema, obj, ref, str } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, nonNegative, type Obj } from '../../validation/fields.js';
import { invalid } from '../../validation/errors.js';
import { resource } from '../shared/define.js';

define(
  'io.k8s.api.coordination.v1.LeaseSpec',
  obj('The specification of a lease.', {
    holderIdentity: str('Identity of the current holder of the lease.'),
    leaseDurationSeconds: int32(
      'Seconds candidates wait to force-acquire the lease, measured from the last renewTime.',
    ),
    acquireTime: ref(N.MicroTime, 'When the current lease was acquired.'),
    renewTime: ref(N.MicroTime, 'When the current holder last renewed the lease.'),
    leaseTransitions: int32('Number of transitions of the lease between holders.'),
    strategy: str('The strategy for picking the leader in coordinated leader election (e.g. OldestEmulationVersion).'),
    preferredHolder: str('Signals a lease holder that it should give up the lease in favour of this identity.'),
  }),
);

export const lease = resource({
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  namespaced: true,
  schema: kindSchema(
    { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' },
    'Lease defines a lease concept, used for leader election and node heartbeats.',
    {
      spec: ref('io.k8s.api.coordination.v1.LeaseSpec', 'Specification of the lease.'),
    },
  ),
  validate(obj: KubeObject) {
    const s = asObj((obj as Obj).spec) ?? {};
    const errs: FieldError[] = [];
    if (s.leaseDurationSeconds !== undefined && !(s.leaseDurationSeconds > 0))
      errs.push(invalid('spec.leaseDurationSeconds', s.leaseDurationSeconds, 'must be greater than 0'));
    errs.push(...nonNegative(s.leaseTransitions, 'spec.leaseTransitions'));
    return errs;
  },
  columns: [nameColumn, col('Holder', 'string', 'The identity of the current holder of the lease.'), ageColumn],
  row: (obj, now) => [
    obj.metadata.name,
    asObj((obj as Obj).spec)?.holderIdentity ?? '',
    age(obj.metadata.creationTimestamp, now),
  ],
});
