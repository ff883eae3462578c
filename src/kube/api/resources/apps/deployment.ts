import type { FieldError, KubeObject } from '../../types.js';
import { arr, bool, define, enumStr, int32, int64, kindSchema, obj, ref, str } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, nonNegative, type Obj } from '../../validation/fields.js';
import { forbidden, goValue, invalid, notSupportedRaw } from '../../validation/errors.js';
import { resource } from '../shared/define.js';
import {
  defaultTemplate,
  immutableSelector,
  templateCells,
  validateRollingUpdate,
  validateSelectorAndTemplate,
} from './workload.js';

export const APPS = (n: string) => `io.k8s.api.apps.v1.${n}`;
const TEMPLATE = 'io.k8s.api.core.v1.PodTemplateSpec';

define(
  APPS('RollingUpdateDeployment'),
  obj('Parameters of a rolling update.', {
    maxUnavailable: ref(
      N.IntOrString,
      'Maximum number (or percentage of desired) of pods that can be unavailable during the update; rounds down. Defaults to 25%.',
    ),
    maxSurge: ref(
      N.IntOrString,
      'Maximum number (or percentage of desired) of pods that can be created over the desired number; rounds up. Defaults to 25%.',
    ),
  }),
);
define(
  APPS('DeploymentStrategy'),
  obj('How to replace existing pods with new ones.', {
    type: enumStr('Recreate or RollingUpdate (default).', ['Recreate', 'RollingUpdate']),
    rollingUpdate: ref(APPS('RollingUpdateDeployment'), 'Rolling update parameters; only when type is RollingUpdate.'),
  }),
);
define(
  APPS('DeploymentSpec'),
  obj(
    'The desired behavior of a Deployment.',
    {
      replicas: int32('Number of desired pods. Defaults to 1.'),
      selector: ref(
        N.LabelSelector,
        "Label selector for pods; must match the template's labels. Immutable in apps/v1.",
      ),
      template: ref(TEMPLATE, 'Template of the pods to create. Its restartPolicy must be Always.'),
      strategy: {
        ...ref(APPS('DeploymentStrategy'), 'The deployment strategy used to replace existing pods with new ones.'),
        'x-kubernetes-patch-strategy': 'retainKeys',
      },
      minReadySeconds: int32(
        'Minimum seconds a new pod must be ready without crashing to be considered available. Defaults to 0.',
      ),
      revisionHistoryLimit: int32('Number of old ReplicaSets to retain for rollback. Defaults to 10.'),
      paused: bool('Indicates the deployment is paused.'),
      progressDeadlineSeconds: int32(
        'Maximum seconds for the deployment to make progress before it is considered failed (ProgressDeadlineExceeded). Defaults to 600.',
      ),
    },
    ['selector', 'template'],
  ),
);
define(
  APPS('DeploymentCondition'),
  obj(
    'A condition of a deployment.',
    {
      type: str('Available, Progressing or ReplicaFailure.'),
      status: str('True, False or Unknown.'),
      lastUpdateTime: ref(N.Time, 'The last time this condition was updated.'),
      lastTransitionTime: ref(N.Time, 'Last time the condition changed status.'),
      reason: str('Reason for the last transition.'),
      message: str('Details of the last transition.'),
    },
    ['type', 'status'],
  ),
);
define(
  APPS('DeploymentStatus'),
  obj('The most recently observed status of a Deployment.', {
    observedGeneration: int64('The generation observed by the deployment controller.'),
    replicas: int32('Total number of non-terminated pods targeted by this deployment.'),
    updatedReplicas: int32('Non-terminated pods that have the desired template spec.'),
    readyReplicas: int32('Pods with a Ready condition.'),
    availableReplicas: int32('Pods ready for at least minReadySeconds.'),
    unavailableReplicas: int32('Pods still required for the deployment to have 100% available capacity.'),
    terminatingReplicas: int32('Pods that are terminating.'),
    conditions: arr("Latest available observations of the deployment's state.", ref(APPS('DeploymentCondition')), {
      mergeKey: 'type',
      listType: 'map',
      mapKeys: ['type'],
    }),
    collisionCount: int32('Count of hash collisions, used to avoid name clashes of ReplicaSets.'),
  }),
);

const schema = kindSchema(
  { group: 'apps', version: 'v1', kind: 'Deployment' },
  'Deployment enables declarative updates for Pods and ReplicaSets.',
  {
    spec: ref(APPS('DeploymentSpec'), 'Specification of the desired behavior of the Deployment.'),
    status: ref(APPS('DeploymentStatus'), 'Most recently observed status of the Deployment. Read-only.'),
  },
);

function defaults(o: Obj): void {
  o.spec = asObj(o.spec) ?? {};
  const s = o.spec;
  s.replicas ??= 1;
  s.strategy = asObj(s.strategy) ?? {};
  s.strategy.type ??= 'RollingUpdate';
  if (s.strategy.type === 'RollingUpdate') {
    s.strategy.rollingUpdate = asObj(s.strategy.rollingUpdate) ?? {};
    s.strategy.rollingUpdate.maxUnavailable ??= '25%';
    s.strategy.rollingUpdate.maxSurge ??= '25%';
  }
  s.revisionHistoryLimit ??= 10;
  s.progressDeadlineSeconds ??= 600;
  defaultTemplate(s);
  // DeploymentStatus is a struct upstream: an object without one reads `status: {}`.
  o.status = asObj(o.status) ?? {};
}

function validate(o: Obj): FieldError[] {
  const s = asObj(o.spec) ?? {};
  const errs: FieldError[] = [...nonNegative(s.replicas, 'spec.replicas')];
  errs.push(...validateSelectorAndTemplate(s, { kind: 'deployment' }));
  const st = asObj(s.strategy) ?? {};
  if (st.type !== 'Recreate' && st.type !== 'RollingUpdate') {
    errs.push(
      notSupportedRaw(
        'spec.strategy',
        `apps.DeploymentStrategy{Type:${goValue(st.type ?? '')}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}`,
        ['Recreate', 'RollingUpdate'],
      ),
    );
  }
  if (st.type === 'Recreate' && st.rollingUpdate)
    errs.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  if (st.type === 'RollingUpdate')
    errs.push(...validateRollingUpdate(asObj(st.rollingUpdate), 'spec.strategy.rollingUpdate'));
  errs.push(...nonNegative(s.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...nonNegative(s.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (s.progressDeadlineSeconds !== undefined) {
    errs.push(...nonNegative(s.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
    if (typeof s.progressDeadlineSeconds === 'number' && s.progressDeadlineSeconds <= (s.minReadySeconds ?? 0)) {
      errs.push(
        invalid('spec.progressDeadlineSeconds', s.progressDeadlineSeconds, 'must be greater than minReadySeconds'),
      );
    }
  }
  return errs;
}

export const deployment = resource({
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  namespaced: true,
  shortNames: ['deploy'],
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
  defaults: (o: KubeObject) => defaults(o as Obj),
  validate: (o: KubeObject) => validate(o as Obj),
  validateUpdate: (o: KubeObject, old: KubeObject) =>
    immutableSelector(asObj((o as Obj).spec) ?? {}, asObj((old as Obj).spec) ?? {}),
  columns: [
    nameColumn,
    col('Ready', 'string', 'Number of the pod with ready state'),
    col(
      'Up-to-date',
      'integer',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    ),
    col(
      'Available',
      'integer',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    ageColumn,
    col('Containers', 'string', 'Names of each container in the template.', 1),
    col('Images', 'string', 'Images referenced by each container in the template.', 1),
    col(
      'Selector',
      'string',
      'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
      1,
    ),
  ],
  row(obj, now) {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {},
      st = asObj(o.status) ?? {};
    return [
      obj.metadata.name,
      `${st.readyReplicas ?? 0}/${s.replicas ?? 0}`,
      st.updatedReplicas ?? 0,
      st.availableReplicas ?? 0,
      age(obj.metadata.creationTimestamp, now),
      ...templateCells(s),
    ];
  },
});
