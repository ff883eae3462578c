import type { FieldError, KubeObject } from '../../types.js';
import { define, int32, kindSchema, obj, ref, str } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { asObj, type Obj } from '../../validation/fields.js';
import { invalid, notSupported, required } from '../../validation/errors.js';
import { isQualifiedName } from '../../validation/names.js';
import { resource } from '../shared/define.js';
import { eventRow } from '../core/event.js';
import { col } from '../../printing/columns.js';
import '../core/storage-schema.js';

const E = (n: string) => `io.k8s.api.events.v1.${n}`;
define(
  E('EventSeries'),
  obj(
    'Data on a series of events that happened continuously.',
    {
      count: int32('Number of occurrences in this series up to the last heartbeat time.'),
      lastObservedTime: ref(N.MicroTime, 'Time when the last event of the series was seen.'),
    },
    ['count', 'lastObservedTime'],
  ),
);

function validate(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  if (!o.eventTime) errs.push(required('eventTime'));
  if (!o.reportingController) errs.push(required('reportingController'));
  else
    errs.push(
      ...isQualifiedName(o.reportingController).map((m) => invalid('reportingController', o.reportingController, m)),
    );
  if (!o.reportingInstance) errs.push(required('reportingInstance'));
  else if (o.reportingInstance.length > 128)
    errs.push(invalid('reportingInstance', o.reportingInstance, 'can have at most 128 characters'));
  if (!o.action) errs.push(required('action'));
  else if (o.action.length > 128) errs.push(invalid('action', o.action, 'can have at most 128 characters'));
  if (!o.reason) errs.push(required('reason'));
  else if (o.reason.length > 128) errs.push(invalid('reason', o.reason, 'can have at most 128 characters'));
  if (o.type !== 'Normal' && o.type !== 'Warning') errs.push(notSupported('type', o.type ?? '', ['Normal', 'Warning']));
  if (typeof o.note === 'string' && Buffer.byteLength(o.note) > 1024)
    errs.push(invalid('note', '', 'can have at most 1024 characters'));
  const reg = asObj(o.regarding);
  if (reg?.namespace && o.metadata?.namespace && reg.namespace !== o.metadata.namespace)
    errs.push(invalid('regarding.namespace', reg.namespace, 'does not match event.namespace'));
  const series = asObj(o.series);
  if (series && !(series.count >= 2)) errs.push(invalid('series.count', series.count ?? 0, 'should be at least 2'));
  return errs;
}

/** The events.k8s.io view printed with core Event's columns (upstream converts it to one). */
function asCore(o: Obj): Obj {
  return {
    metadata: o.metadata,
    involvedObject: o.regarding,
    reason: o.reason,
    message: o.note,
    type: o.type,
    eventTime: o.eventTime,
    series: o.series,
    reportingComponent: o.reportingController,
    reportingInstance: o.reportingInstance,
    source: o.deprecatedSource,
    firstTimestamp: o.deprecatedFirstTimestamp,
    lastTimestamp: o.deprecatedLastTimestamp,
    count: o.deprecatedCount,
  };
}

/** events.k8s.io/v1 ↔ core/v1 field names (upstream's conversion): the stored form is core/v1. */
const RENAMES: [string, string][] = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];
function rename(o: KubeObject, apiVersion: string, from: 0 | 1): KubeObject {
  const out: Record<string, unknown> = { ...o, apiVersion, kind: 'Event' };
  for (const pair of RENAMES) {
    const [a, b] = [pair[from], pair[1 - from]];
    delete out[a];
    if ((o as Obj)[a] !== undefined) out[b] = (o as Obj)[a];
  }
  return out as KubeObject;
}
export const eventsV1ToCore = (o: KubeObject): KubeObject => rename(o, 'v1', 0);
export const coreToEventsV1 = (o: KubeObject): KubeObject => rename(o, 'events.k8s.io/v1', 1);

const reg = (f: string) => (o: KubeObject) => String(asObj((o as Obj).regarding)?.[f] ?? '');

export const eventsV1Event = resource({
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  schema: kindSchema(
    { group: 'events.k8s.io', version: 'v1', kind: 'Event' },
    'Event is a report of an event somewhere in the cluster: a change of state of some object, observed by a component.',
    {
      eventTime: ref(N.MicroTime, 'When this event was first observed. Required.'),
      series: ref(E('EventSeries'), 'Data about the event series this event represents, if any.'),
      reportingController: str('Name of the controller that emitted the event, e.g. kubernetes.io/kubelet. Required.'),
      reportingInstance: str('ID of the controller instance, e.g. kubelet-xyzf. Required.'),
      action: str('What action was taken or failed regarding the regarding object. Required.'),
      reason: str('Why the action was taken: a short CamelCase reason. Required.'),
      regarding: ref('io.k8s.api.core.v1.ObjectReference', 'The object this event is about.'),
      related: ref('io.k8s.api.core.v1.ObjectReference', 'A secondary object for more complex actions.'),
      note: str('Human-readable description of the status of this operation; at most 1 kB.'),
      type: str('Type of this event: Normal or Warning.'),
      deprecatedSource: ref(
        'io.k8s.api.core.v1.EventSource',
        'Deprecated field kept for compatibility with core/v1 Event.',
      ),
      deprecatedFirstTimestamp: ref(N.Time, 'Deprecated field kept for compatibility with core/v1 Event.'),
      deprecatedLastTimestamp: ref(N.Time, 'Deprecated field kept for compatibility with core/v1 Event.'),
      deprecatedCount: int32('Deprecated field kept for compatibility with core/v1 Event.'),
    },
    ['eventTime'],
  ),
  validate: (o: KubeObject) => validate(o as Obj),
  storageGroup: '',
  conversion: { toStored: eventsV1ToCore, fromStored: coreToEventsV1 },
  columns: [
    col('Last Seen', 'string', 'Time since the event was last seen.'),
    col('Type', 'string', 'Type of the event (Normal or Warning).'),
    col('Reason', 'string', 'Short reason for the event.'),
    col('Object', 'string', 'The object the event is about.'),
    col('Subobject', 'string', 'The part of the object the event is about.', 1),
    col('Source', 'string', 'The component reporting the event.', 1),
    col('Message', 'string', 'A human-readable description of the event.'),
    col('First Seen', 'string', 'Time since the event was first seen.', 1),
    col('Count', 'string', 'Number of times the event occurred.', 1),
    { name: 'Name', type: 'string', format: 'name', description: 'Name of the event.', priority: 1 },
  ],
  row: (obj, now) => eventRow(asCore(obj as Obj), now),
  fieldSelectors: {
    'regarding.kind': reg('kind'),
    'regarding.namespace': reg('namespace'),
    'regarding.name': reg('name'),
    'regarding.uid': reg('uid'),
    'regarding.apiVersion': reg('apiVersion'),
    'regarding.resourceVersion': reg('resourceVersion'),
    'regarding.fieldPath': reg('fieldPath'),
    reason: (o) => String((o as Obj).reason ?? ''),
    reportingController: (o) => String((o as Obj).reportingController ?? ''),
    type: (o) => String((o as Obj).type ?? ''),
  },
});
