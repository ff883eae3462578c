// ReplicationController (core/v1): the ReplicaSet's predecessor with a plain map selector. Served
// because schedulers read it (default pod spreading counts the pods of a pod's controller, and
// kube-scheduler waits for its informer); no controller drives it in Skiff.
import type { FieldError, KubeObject } from '../../types.js';
import { arr, define, int32, int64, kindSchema, obj, ref, str, strMap } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, nonNegative, validateLabels, type Obj } from '../../validation/fields.js';
import { goStringMap, invalidRaw, required } from '../../validation/errors.js';
import { resource } from '../shared/define.js';
import { CORE } from './container-schema.js';
import { defaultPodSpec } from './pod-defaults.js';
import { validatePodTemplateSpec } from './pod-validation.js';
import { mapSelectorMatches } from '../../labels/selector.js';
import './podspec-schema.js';

define(
  CORE('ReplicationControllerSpec'),
  obj('The desired behavior of a replication controller.', {
    replicas: int32('Number of desired pods. Defaults to 1.'),
    minReadySeconds: int32('Minimum seconds a new pod must be ready to be considered available.'),
    selector: strMap("Label keys and values pods must match to be counted; defaults to the template's labels."),
    template: ref(CORE('PodTemplateSpec'), 'Template of the pods created when too few are observed.'),
  }),
);
define(
  CORE('ReplicationControllerCondition'),
  obj(
    'A condition of a replication controller.',
    {
      type: str('Type of the condition.'),
      status: str('True, False or Unknown.'),
      lastTransitionTime: ref(N.Time, 'Last time the condition changed status.'),
      reason: str('Reason for the last transition.'),
      message: str('Details.'),
    },
    ['type', 'status'],
  ),
);
define(
  CORE('ReplicationControllerStatus'),
  obj(
    'The most recently observed status of a replication controller.',
    {
      replicas: int32('The most recently observed number of replicas.'),
      fullyLabeledReplicas: int32("Pods whose labels match the template's labels."),
      readyReplicas: int32('Ready pods.'),
      availableReplicas: int32('Pods ready for at least minReadySeconds.'),
      observedGeneration: int64('The generation observed.'),
      conditions: arr('Observations of the controller state.', ref(CORE('ReplicationControllerCondition')), {
        mergeKey: 'type',
        listType: 'map',
        mapKeys: ['type'],
      }),
    },
    ['replicas'],
  ),
);

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'ReplicationController' },
  'ReplicationController represents the configuration of a replication controller.',
  {
    spec: ref(CORE('ReplicationControllerSpec'), 'The desired behavior of the replication controller.'),
    status: ref(CORE('ReplicationControllerStatus'), 'The most recently observed status. Read-only.'),
  },
);

function validate(obj: KubeObject): FieldError[] {
  const s = asObj((obj as Obj).spec) ?? {};
  const errs: FieldError[] = [
    ...nonNegative(s.replicas, 'spec.replicas'),
    ...nonNegative(s.minReadySeconds, 'spec.minReadySeconds'),
  ];
  const sel = asObj(s.selector) ?? {};
  errs.push(...validateLabels(sel, 'spec.selector'));
  if (!Object.keys(sel).length) errs.push(required('spec.selector'));
  const tmpl = asObj(s.template);
  if (!tmpl) return [...errs, required('spec.template')];
  const labels = asObj(asObj(tmpl.metadata)?.labels) ?? {};
  if (Object.keys(sel).length && !mapSelectorMatches(sel, labels))
    errs.push(
      invalidRaw('spec.template.metadata.labels', goStringMap(labels), '`selector` does not match template `labels`'),
    );
  errs.push(...validatePodTemplateSpec(tmpl, 'spec.template', { restartPolicies: ['Always'] }));
  return errs;
}

export const replicationController = resource({
  group: '',
  version: 'v1',
  kind: 'ReplicationController',
  plural: 'replicationcontrollers',
  singular: 'replicationcontroller',
  namespaced: true,
  shortNames: ['rc'],
  categories: ['all'],
  hasGeneration: true,
  subresources: { status: true },
  schema,
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    o.spec = asObj(o.spec) ?? {};
    const tmpl = asObj(o.spec.template);
    const labels = asObj(asObj(tmpl?.metadata)?.labels);
    if (labels) {
      if (!Object.keys(asObj(o.spec.selector) ?? {}).length) o.spec.selector = { ...labels };
      if (!Object.keys(o.metadata?.labels ?? {}).length) o.metadata.labels = { ...labels };
    }
    o.spec.replicas ??= 1;
    if (tmpl) {
      tmpl.spec = asObj(tmpl.spec) ?? {};
      defaultPodSpec(tmpl.spec);
    }
    o.status = asObj(o.status) ?? {};
    o.status.replicas ??= 0;
  },
  validate,
  columns: [
    nameColumn,
    col('Desired', 'integer', 'Number of desired pods.'),
    col('Current', 'integer', 'The most recently observed number of replicas.'),
    col('Ready', 'integer', 'The number of ready replicas for this replication controller.'),
    ageColumn,
    col('Containers', 'string', 'Names of each container in the template.', 1),
    col('Images', 'string', 'Images referenced by each container in the template.', 1),
    col('Selector', 'string', 'Label query over pods that should match the replicas count.', 1),
  ],
  row(obj, now) {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {},
      st = asObj(o.status) ?? {};
    const cs = asArr(asObj(asObj(s.template)?.spec)?.containers).filter(asObj);
    const sel = Object.entries(asObj(s.selector) ?? {})
      .map(([k, v]) => `${k}=${String(v)}`)
      .sort()
      .join(',');
    return [
      obj.metadata.name,
      s.replicas ?? 0,
      st.replicas ?? 0,
      st.readyReplicas ?? 0,
      age(obj.metadata.creationTimestamp, now),
      cs.map((c) => c.name).join(','),
      cs.map((c) => c.image).join(','),
      sel || '<none>',
    ];
  },
});
