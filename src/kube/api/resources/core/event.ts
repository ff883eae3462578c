import type { FieldError, KubeObject } from '../../types.js';
import { define, int32, kindSchema, obj, ref, str } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { col } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, type Obj } from '../../validation/fields.js';
import { invalid, required } from '../../validation/errors.js';
import { resource } from '../shared/define.js';
import { CORE } from './container-schema.js';
import './storage-schema.js';

define(
  CORE('EventSource'),
  obj('The component reporting an event.', {
    component: str('Component from which the event is generated.'),
    host: str('Node name on which the event is generated.'),
  }),
);
define(
  CORE('EventSeries'),
  obj('Data on a series of events that happened continuously.', {
    count: int32('Number of occurrences in this series up to the last heartbeat time.'),
    lastObservedTime: ref(N.MicroTime, 'Time of the last occurrence observed.'),
  }),
);

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'Event' },
  'Event is a report of an event somewhere in the cluster. Events have a limited retention time.',
  {
    involvedObject: ref(CORE('ObjectReference'), 'The object this event is about.'),
    reason: str("Short, machine-understandable reason for the transition into the object's current status."),
    message: str('Human-readable description of the status of this operation.'),
    source: ref(CORE('EventSource'), 'The component reporting this event.'),
    firstTimestamp: ref(N.Time, 'The time at which the event was first recorded.'),
    lastTimestamp: ref(N.Time, 'The time at which the most recent occurrence of this event was recorded.'),
    count: int32('The number of times this event has occurred.'),
    type: str('Type of this event (Normal, Warning); new types could be added in the future.'),
    eventTime: ref(N.MicroTime, 'Time when this event was first observed.'),
    series: ref(CORE('EventSeries'), 'Data about the event series this event represents, if any.'),
    action: str('What action was taken/failed regarding the involved object.'),
    related: ref(CORE('ObjectReference'), 'Optional secondary object for more complex actions.'),
    reportingComponent: str('Name of the controller that emitted this event, e.g. kubernetes.io/kubelet.'),
    reportingInstance: str('ID of the controller instance, e.g. kubelet-xyzf.'),
  },
  ['metadata', 'involvedObject'],
);

function validate(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const io = asObj(o.involvedObject);
  if (!io) return [required('involvedObject')];
  const ns = o.metadata?.namespace;
  if (io.namespace && ns && io.namespace !== ns)
    errs.push(invalid('involvedObject.namespace', io.namespace, 'does not match event.namespace'));
  if (o.eventTime) {
    if (!o.reportingComponent) errs.push(required('reportingComponent'));
    if (!o.reportingInstance) errs.push(required('reportingInstance'));
    if (!o.action) errs.push(required('action'));
    if (!o.reason) errs.push(required('reason'));
  }
  if (typeof o.message === 'string' && o.message.length > 1024 && o.eventTime)
    errs.push({ type: 'FieldValueTooLong', field: 'message', message: 'Too long: may not be more than 1024 bytes' });
  return errs;
}

export function formatEventSource(
  src: Obj | undefined,
  reportingController?: string,
  reportingInstance?: string,
): string {
  let component = src?.component ?? '',
    host = src?.host ?? '';
  if (!component) {
    component = reportingController ?? '';
    host = host || (reportingInstance ?? '');
  }
  return host ? `${component}, ${host}` : component;
}

const EVENT_COLUMNS = [
  col('Last Seen', 'string', 'Time since the event was last seen.'),
  col('Type', 'string', 'Type of the event (Normal or Warning).'),
  col('Reason', 'string', 'Short reason for the event.'),
  col('Object', 'string', 'The object the event is about.'),
  col('Subobject', 'string', 'The part of the object the event is about.', 1),
  col('Source', 'string', 'The component reporting the event.', 1),
  col('Message', 'string', 'A human-readable description of the event.'),
  col('First Seen', 'string', 'Time since the event was first seen.', 1),
  col('Count', 'string', 'Number of times the event occurred.', 1),
  { name: 'Name', type: 'string' as const, format: 'name', description: 'Name of the event.', priority: 1 },
];

export function eventRow(o: Obj, now: Date): unknown[] {
  const io = asObj(o.involvedObject) ?? {};
  let first = age(o.firstTimestamp, now);
  if (!o.firstTimestamp) first = age(o.eventTime, now);
  let last = o.lastTimestamp ? age(o.lastTimestamp, now) : first;
  let count = o.count ?? 0;
  if (asObj(o.series)) {
    last = age(o.series.lastObservedTime, now);
    count = o.series.count ?? 0;
  } else if (!count) count = 1;
  const target = io.name ? `${String(io.kind ?? '').toLowerCase()}/${io.name}` : String(io.kind ?? '').toLowerCase();
  return [
    last,
    o.type ?? '',
    o.reason ?? '',
    target,
    io.fieldPath ?? '',
    formatEventSource(asObj(o.source), o.reportingComponent, o.reportingInstance),
    String(o.message ?? '').trim(),
    first,
    count,
    o.metadata?.name,
  ];
}

const io = (f: string) => (o: KubeObject) => String(asObj((o as Obj).involvedObject)?.[f] ?? '');

export const event = resource({
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  schema,
  validate: (o: KubeObject) => validate(o as Obj),
  columns: EVENT_COLUMNS,
  row: (obj, now) => eventRow(obj as Obj, now),
  fieldSelectors: {
    'involvedObject.kind': io('kind'),
    'involvedObject.namespace': io('namespace'),
    'involvedObject.name': io('name'),
    'involvedObject.uid': io('uid'),
    'involvedObject.apiVersion': io('apiVersion'),
    'involvedObject.resourceVersion': io('resourceVersion'),
    'involvedObject.fieldPath': io('fieldPath'),
    reason: (o) => String((o as Obj).reason ?? ''),
    reportingComponent: (o) => String((o as Obj).reportingComponent ?? ''),
    source: (o) => String(asObj((o as Obj).source)?.component ?? ''),
    type: (o) => String((o as Obj).type ?? ''),
  },
});
