import type { FieldError, KubeObject } from '../../types.js';
import { arr, define, int32, int64, kindSchema, obj, ref, str } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, nonNegative, type Obj } from '../../validation/fields.js';
import { resource } from '../shared/define.js';
import { APPS } from './deployment.js';
import { defaultTemplate, immutableSelector, templateCells, validateSelectorAndTemplate } from './workload.js';

define(
  APPS('ReplicaSetSpec'),
  obj(
    'The desired behavior of a ReplicaSet.',
    {
      replicas: int32('Number of desired pods. Defaults to 1.'),
      minReadySeconds: int32('Minimum seconds a new pod must be ready to be considered available. Defaults to 0.'),
      selector: ref(
        N.LabelSelector,
        "Label query over pods that should match the replica count; must match the template's labels.",
      ),
      template: ref('io.k8s.api.core.v1.PodTemplateSpec', 'Template of the pods created when too few are observed.'),
    },
    ['selector'],
  ),
);
define(
  APPS('ReplicaSetCondition'),
  obj(
    'A condition of a replica set.',
    {
      type: str('Type of the condition, e.g. ReplicaFailure.'),
      status: str('True, False or Unknown.'),
      lastTransitionTime: ref(N.Time, 'Last time the condition changed status.'),
      reason: str('Reason for the last transition.'),
      message: str('Details.'),
    },
    ['type', 'status'],
  ),
);
define(
  APPS('ReplicaSetStatus'),
  obj(
    'The current status of a ReplicaSet.',
    {
      replicas: int32('The most recently observed number of non-terminating replicas.'),
      fullyLabeledReplicas: int32("Pods whose labels match the template's labels."),
      readyReplicas: int32('Pods with a Ready condition.'),
      availableReplicas: int32('Pods ready for at least minReadySeconds.'),
      terminatingReplicas: int32('Pods that are terminating.'),
      observedGeneration: int64('The most recent generation observed.'),
      conditions: arr("Latest observations of the replica set's state.", ref(APPS('ReplicaSetCondition')), {
        mergeKey: 'type',
        listType: 'map',
        mapKeys: ['type'],
      }),
    },
    ['replicas'],
  ),
);

const schema = kindSchema(
  { group: 'apps', version: 'v1', kind: 'ReplicaSet' },
  'ReplicaSet ensures that a specified number of pod replicas are running at any given time.',
  {
    spec: ref(APPS('ReplicaSetSpec'), 'The specification of the desired behavior of the ReplicaSet.'),
    status: ref(APPS('ReplicaSetStatus'), 'The most recently observed status of the ReplicaSet. Read-only.'),
  },
);

export const replicaSet = resource({
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  namespaced: true,
  shortNames: ['rs'],
  categories: ['all'],
  hasGeneration: true,
  subresources: {
    status: true,
    scale: {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.spec.selector',
    },
  },
  schema,
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    o.spec = asObj(o.spec) ?? {};
    o.spec.replicas ??= 1;
    defaultTemplate(o.spec);
    o.status = asObj(o.status) ?? {};
    o.status.replicas ??= 0;
  },
  validate(obj: KubeObject) {
    const s = asObj((obj as Obj).spec) ?? {};
    const errs: FieldError[] = [
      ...nonNegative(s.replicas, 'spec.replicas'),
      ...nonNegative(s.minReadySeconds, 'spec.minReadySeconds'),
    ];
    return [...errs, ...validateSelectorAndTemplate(s, { kind: 'replicaset' })];
  },
  validateUpdate: (o: KubeObject, old: KubeObject) =>
    immutableSelector(asObj((o as Obj).spec) ?? {}, asObj((old as Obj).spec) ?? {}),
  columns: [
    nameColumn,
    col('Desired', 'integer', 'Number of desired pods.'),
    col('Current', 'integer', 'The most recently observed number of replicas.'),
    col('Ready', 'integer', 'The number of ready replicas for this replica set.'),
    ageColumn,
    col('Containers', 'string', 'Names of each container in the template.', 1),
    col('Images', 'string', 'Images referenced by each container in the template.', 1),
    col('Selector', 'string', 'Label query over pods that should match the replica count.', 1),
  ],
  row(obj, now) {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {},
      st = asObj(o.status) ?? {};
    return [
      obj.metadata.name,
      s.replicas ?? 0,
      st.replicas ?? 0,
      st.readyReplicas ?? 0,
      age(obj.metadata.creationTimestamp, now),
      ...templateCells(s),
    ];
  },
  fieldSelectors: { 'status.replicas': (o) => String(asObj((o as Obj).status)?.replicas ?? 0) },
});
