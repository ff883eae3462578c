import type { FieldError, KubeObject } from '../../types.js';
import { arr, define, enumStr, int32, int64, kindSchema, obj, ref, str } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, nonNegative, oneOf, type Obj } from '../../validation/fields.js';
import {
  deepEqual,
  forbidden,
  goIntOrString,
  goValue,
  invalid,
  invalidRaw,
  required,
} from '../../validation/errors.js';
import { resource } from '../shared/define.js';
import { APPS } from './deployment.js';
import {
  defaultEmbeddedMeta,
  defaultTemplate,
  intOrPercentValue,
  templateCells,
  validateIntOrPercent,
  validateSelectorAndTemplate,
} from './workload.js';
import '../core/storage-schema.js';

define(
  APPS('RollingUpdateStatefulSetStrategy'),
  obj('Parameters of a stateful set rolling update.', {
    partition: int32(
      'Pods with an ordinal at or above the partition are updated; lower ones keep the old revision. Defaults to 0.',
    ),
    maxUnavailable: ref(
      N.IntOrString,
      'Maximum number (or percentage) of pods that can be unavailable during the update. Defaults to 1.',
    ),
  }),
);
define(
  APPS('StatefulSetUpdateStrategy'),
  obj('How pods of a stateful set are updated.', {
    type: enumStr('RollingUpdate (default) or OnDelete.', ['OnDelete', 'RollingUpdate']),
    rollingUpdate: ref(
      APPS('RollingUpdateStatefulSetStrategy'),
      'Rolling update parameters; only when type is RollingUpdate.',
    ),
  }),
);
define(
  APPS('StatefulSetPersistentVolumeClaimRetentionPolicy'),
  obj('What happens to PVCs created from volumeClaimTemplates.', {
    whenDeleted: str('Retain (default) or Delete the PVCs when the stateful set is deleted.'),
    whenScaled: str('Retain (default) or Delete the PVCs of pods removed by a scale down.'),
  }),
);
define(
  APPS('StatefulSetOrdinals'),
  obj('The numbering of replica indices.', { start: int32('The number of the first replica index. Defaults to 0.') }),
);
define(
  APPS('StatefulSetSpec'),
  obj(
    'The desired behavior of a StatefulSet.',
    {
      replicas: int32('Desired number of replicas. Defaults to 1.'),
      selector: ref(N.LabelSelector, "Label query over pods; must match the template's labels. Immutable."),
      template: ref(
        'io.k8s.api.core.v1.PodTemplateSpec',
        'Template of the pods; each pod is named <statefulset>-<ordinal>.',
      ),
      volumeClaimTemplates: arr(
        'Claims that each pod may reference; each gets its own PVC named <template>-<pod>.',
        ref('io.k8s.api.core.v1.PersistentVolumeClaim'),
        { listType: 'atomic' },
      ),
      serviceName: str(
        'Name of the headless service that governs the stateful set and gives pods their DNS names. Immutable.',
      ),
      podManagementPolicy: enumStr('OrderedReady (default) or Parallel.', ['OrderedReady', 'Parallel']),
      updateStrategy: ref(APPS('StatefulSetUpdateStrategy'), 'How pods are updated when the template changes.'),
      revisionHistoryLimit: int32('Maximum number of revisions kept in history. Defaults to 10.'),
      minReadySeconds: int32('Minimum seconds a new pod must be ready to be considered available. Defaults to 0.'),
      persistentVolumeClaimRetentionPolicy: ref(
        APPS('StatefulSetPersistentVolumeClaimRetentionPolicy'),
        'Lifecycle of PVCs created from volumeClaimTemplates.',
      ),
      ordinals: ref(APPS('StatefulSetOrdinals'), 'Numbering of replica indices.'),
    },
    ['selector', 'template'],
  ),
);
define(
  APPS('StatefulSetCondition'),
  obj(
    'A condition of a stateful set.',
    {
      type: str('Type of the condition.'),
      status: str('True, False or Unknown.'),
      lastTransitionTime: ref(N.Time, 'Last time the condition changed status.'),
      reason: str('Reason.'),
      message: str('Details.'),
    },
    ['type', 'status'],
  ),
);
define(
  APPS('StatefulSetStatus'),
  obj(
    'The current status of a stateful set.',
    {
      observedGeneration: int64('The most recent generation observed.'),
      replicas: int32('Number of pods created by the controller.'),
      readyReplicas: int32('Pods with a Ready condition.'),
      currentReplicas: int32('Pods created at currentRevision.'),
      updatedReplicas: int32('Pods created at updateRevision.'),
      availableReplicas: int32('Pods ready for at least minReadySeconds.'),
      currentRevision: str('The revision used to generate pods in [0, currentReplicas).'),
      updateRevision: str('The revision used to generate pods in [replicas-updatedReplicas, replicas).'),
      collisionCount: int32('Count of hash collisions.'),
      conditions: arr("Latest observations of the stateful set's state.", ref(APPS('StatefulSetCondition')), {
        mergeKey: 'type',
        listType: 'map',
        mapKeys: ['type'],
      }),
    },
    ['replicas'],
  ),
);

function defaults(o: Obj): void {
  o.spec = asObj(o.spec) ?? {};
  const s = o.spec;
  s.replicas ??= 1;
  s.podManagementPolicy ??= 'OrderedReady';
  s.updateStrategy = asObj(s.updateStrategy) ?? {};
  s.updateStrategy.type ??= 'RollingUpdate';
  if (s.updateStrategy.type === 'RollingUpdate') {
    s.updateStrategy.rollingUpdate = asObj(s.updateStrategy.rollingUpdate) ?? {};
    s.updateStrategy.rollingUpdate.partition ??= 0;
  }
  s.revisionHistoryLimit ??= 10;
  s.persistentVolumeClaimRetentionPolicy = asObj(s.persistentVolumeClaimRetentionPolicy) ?? {};
  s.persistentVolumeClaimRetentionPolicy.whenDeleted ??= 'Retain';
  s.persistentVolumeClaimRetentionPolicy.whenScaled ??= 'Retain';
  for (const t of asArr(s.volumeClaimTemplates)) {
    if (!asObj(t)) continue;
    t.apiVersion ??= 'v1';
    t.kind ??= 'PersistentVolumeClaim';
    defaultEmbeddedMeta(t);
    t.spec = asObj(t.spec) ?? {};
    t.spec.volumeMode ??= 'Filesystem';
    t.status = asObj(t.status) ?? {};
    t.status.phase ??= 'Pending';
  }
  defaultTemplate(s);
  o.status = asObj(o.status) ?? {};
  o.status.replicas ??= 0;
  o.status.availableReplicas ??= 0;
}

function validate(o: Obj): FieldError[] {
  const s = asObj(o.spec) ?? {};
  const errs: FieldError[] = [];
  if (s.podManagementPolicy === undefined || s.podManagementPolicy === '')
    errs.push(required('spec.podManagementPolicy'));
  else if (s.podManagementPolicy !== 'OrderedReady' && s.podManagementPolicy !== 'Parallel')
    errs.push(invalid('spec.podManagementPolicy', s.podManagementPolicy, "must be 'OrderedReady' or 'Parallel'"));
  const us = asObj(s.updateStrategy) ?? {};
  const ru = asObj(us.rollingUpdate);
  if (!us.type) errs.push(required('spec.updateStrategy'));
  else if (us.type === 'OnDelete') {
    if (ru)
      errs.push(
        invalidRaw(
          'spec.updateStrategy.rollingUpdate',
          '&apps.RollingUpdateStatefulSetStrategy{...}',
          "only allowed for updateStrategy 'RollingUpdate'",
        ),
      );
  } else if (us.type === 'RollingUpdate') {
    if (ru) {
      errs.push(...nonNegative(ru.partition, 'spec.updateStrategy.rollingUpdate.partition'));
      if (ru.maxUnavailable !== undefined) {
        errs.push(...validateIntOrPercent(ru.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable'));
        if (intOrPercentValue(ru.maxUnavailable) === 0)
          errs.push(
            invalidRaw(
              'spec.updateStrategy.rollingUpdate.maxUnavailable',
              goIntOrString(ru.maxUnavailable),
              'cannot be 0',
            ),
          );
      }
    }
  } else
    errs.push(
      invalidRaw(
        'spec.updateStrategy',
        `apps.StatefulSetUpdateStrategy{Type:${goValue(us.type)}, RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}`,
        "must be 'RollingUpdate' or 'OnDelete'",
      ),
    );
  const pol = asObj(s.persistentVolumeClaimRetentionPolicy) ?? {};
  errs.push(...oneOf(pol.whenDeleted, 'spec.persistentVolumeClaimRetentionPolicy.whenDeleted', ['Retain', 'Delete']));
  errs.push(...oneOf(pol.whenScaled, 'spec.persistentVolumeClaimRetentionPolicy.whenScaled', ['Retain', 'Delete']));
  errs.push(
    ...nonNegative(s.replicas, 'spec.replicas'),
    ...nonNegative(s.minReadySeconds, 'spec.minReadySeconds'),
    ...nonNegative(asObj(s.ordinals)?.start, 'spec.ordinals.start'),
  );
  // Upstream checks only the template's metadata here (mounts may name volumeClaimTemplates);
  // the pods themselves are validated when the controller creates them.
  errs.push(...validateSelectorAndTemplate(s, { kind: 'statefulset', metadataOnly: true }));
  return errs;
}

const MUTABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

function validateUpdate(o: Obj, old: Obj): FieldError[] {
  const s = { ...(asObj(o.spec) ?? {}) },
    p = { ...(asObj(old.spec) ?? {}) };
  for (const k of MUTABLE) {
    delete s[k];
    delete p[k];
  }
  if (deepEqual(s, p)) return [];
  return [
    forbidden(
      'spec',
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

export const statefulSet = resource({
  group: 'apps',
  version: 'v1',
  kind: 'StatefulSet',
  plural: 'statefulsets',
  singular: 'statefulset',
  namespaced: true,
  shortNames: ['sts'],
  categories: ['all'],
  hasGeneration: true,
  nameRule: 'label',
  subresources: {
    status: true,
    scale: {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.spec.selector',
    },
  },
  schema: kindSchema(
    { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    'StatefulSet manages pods with stable identities (ordinal names, stable storage, stable network names).',
    {
      spec: ref(APPS('StatefulSetSpec'), 'The desired identities of pods in this set.'),
      status: ref(APPS('StatefulSetStatus'), 'The current status of pods in this set. Read-only.'),
    },
  ),
  defaults: (o: KubeObject) => defaults(o as Obj),
  validate: (o: KubeObject) => validate(o as Obj),
  validateUpdate: (o: KubeObject, old: KubeObject) => validateUpdate(o as Obj, old as Obj),
  columns: [
    nameColumn,
    col('Ready', 'string', 'Number of the pod with ready state'),
    ageColumn,
    col('Containers', 'string', 'Names of each container in the template.', 1),
    col('Images', 'string', 'Images referenced by each container in the template.', 1),
  ],
  row(obj, now) {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {},
      st = asObj(o.status) ?? {};
    const [containers, images] = templateCells(s);
    return [
      obj.metadata.name,
      `${st.readyReplicas ?? 0}/${s.replicas ?? 0}`,
      age(obj.metadata.creationTimestamp, now),
      containers,
      images,
    ];
  },
});
