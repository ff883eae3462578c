import type { FieldError, KubeObject } from '../../types.js';
import { arr, define, enumStr, int32, int64, kindSchema, obj, ref, str } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, nonNegative, type Obj } from '../../validation/fields.js';
import { goValue, notSupportedRaw } from '../../validation/errors.js';
import { resource } from '../shared/define.js';
import { APPS } from './deployment.js';
import {
  defaultTemplate,
  immutableSelector,
  templateCells,
  validateRollingUpdateDaemonSet,
  validateSelectorAndTemplate,
} from './workload.js';

define(
  APPS('RollingUpdateDaemonSet'),
  obj('Parameters of a daemon set rolling update.', {
    maxUnavailable: ref(
      N.IntOrString,
      'Maximum number (or percentage) of nodes whose daemon pod can be unavailable during the update. Defaults to 1.',
    ),
    maxSurge: ref(
      N.IntOrString,
      'Maximum number (or percentage) of nodes that may run an extra updated pod during the update. Defaults to 0.',
    ),
  }),
);
define(
  APPS('DaemonSetUpdateStrategy'),
  obj('How daemon pods are replaced.', {
    type: enumStr('RollingUpdate (default) or OnDelete.', ['OnDelete', 'RollingUpdate']),
    rollingUpdate: ref(APPS('RollingUpdateDaemonSet'), 'Rolling update parameters; only when type is RollingUpdate.'),
  }),
);
define(
  APPS('DaemonSetSpec'),
  obj(
    'The desired behavior of a DaemonSet.',
    {
      selector: ref(
        N.LabelSelector,
        "Label query over pods managed by the daemon set; must match the template's labels.",
      ),
      template: ref('io.k8s.api.core.v1.PodTemplateSpec', 'Template of the pod run on every eligible node.'),
      updateStrategy: ref(APPS('DaemonSetUpdateStrategy'), 'How existing pods are replaced with new ones.'),
      minReadySeconds: int32('Minimum seconds a new pod must be ready to be considered available. Defaults to 0.'),
      revisionHistoryLimit: int32('Number of old histories to retain for rollback. Defaults to 10.'),
    },
    ['selector', 'template'],
  ),
);
define(
  APPS('DaemonSetCondition'),
  obj(
    'A condition of a daemon set.',
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
  APPS('DaemonSetStatus'),
  obj(
    'The current status of a daemon set.',
    {
      currentNumberScheduled: int32('Nodes running at least one daemon pod that should.'),
      numberMisscheduled: int32('Nodes running the daemon pod that should not.'),
      desiredNumberScheduled: int32('Nodes that should run the daemon pod.'),
      numberReady: int32('Nodes whose daemon pod is ready.'),
      observedGeneration: int64('The most recent generation observed.'),
      updatedNumberScheduled: int32('Nodes running the updated daemon pod.'),
      numberAvailable: int32('Nodes whose daemon pod is available.'),
      numberUnavailable: int32('Nodes whose daemon pod is not available.'),
      collisionCount: int32('Count of hash collisions.'),
      conditions: arr("Latest observations of the daemon set's state.", ref(APPS('DaemonSetCondition')), {
        mergeKey: 'type',
        listType: 'map',
        mapKeys: ['type'],
      }),
    },
    ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady'],
  ),
);

const TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation';

export const daemonSet = resource({
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  plural: 'daemonsets',
  singular: 'daemonset',
  namespaced: true,
  shortNames: ['ds'],
  categories: ['all'],
  hasGeneration: true,
  subresources: { status: true },
  schema: kindSchema(
    { group: 'apps', version: 'v1', kind: 'DaemonSet' },
    'DaemonSet runs a copy of a pod on every eligible node.',
    {
      spec: ref(APPS('DaemonSetSpec'), 'The desired behavior of this daemon set.'),
      status: ref(APPS('DaemonSetStatus'), 'The current status of this daemon set. Read-only.'),
    },
  ),
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    o.spec = asObj(o.spec) ?? {};
    const s = o.spec;
    s.updateStrategy = asObj(s.updateStrategy) ?? {};
    s.updateStrategy.type ??= 'RollingUpdate';
    if (s.updateStrategy.type === 'RollingUpdate') {
      s.updateStrategy.rollingUpdate = asObj(s.updateStrategy.rollingUpdate) ?? {};
      s.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
      s.updateStrategy.rollingUpdate.maxSurge ??= 0;
    }
    s.revisionHistoryLimit ??= 10;
    defaultTemplate(s);
    o.status = asObj(o.status) ?? {};
    for (const k of ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady'])
      o.status[k] ??= 0;
    // Upstream's strategy records the template generation (1 on create) in an annotation.
    o.metadata = asObj(o.metadata) ?? {};
    if (asObj(o.metadata.annotations)?.[TEMPLATE_GENERATION] === undefined)
      o.metadata.annotations = { ...(asObj(o.metadata.annotations) ?? {}), [TEMPLATE_GENERATION]: '1' };
  },
  // A changed pod template bumps the template generation, as upstream's PrepareForUpdate.
  prepareForUpdate(obj: KubeObject, old: KubeObject) {
    const was = Number(old.metadata.annotations?.[TEMPLATE_GENERATION] ?? '1') || 1;
    // (compared defaulted, as upstream compares decoded objects; a manifest without defaults is no change)
    const next = structuredClone(obj);
    daemonSet.defaults!(next);
    const changed =
      JSON.stringify((asObj((next as Obj).spec) ?? {}).template) !==
      JSON.stringify((asObj((old as Obj).spec) ?? {}).template);
    obj.metadata.annotations = {
      ...(obj.metadata.annotations ?? {}),
      [TEMPLATE_GENERATION]: String(changed ? was + 1 : was),
    };
  },
  validate(obj: KubeObject) {
    const s = asObj((obj as Obj).spec) ?? {};
    const errs: FieldError[] = [...validateSelectorAndTemplate(s, { kind: 'daemonset' })];
    const us = asObj(s.updateStrategy) ?? {};
    if (us.type !== 'OnDelete' && us.type !== 'RollingUpdate')
      errs.push(
        notSupportedRaw(
          'spec.updateStrategy',
          `apps.DaemonSetUpdateStrategy{Type:${goValue(us.type ?? '')}, RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}`,
          ['RollingUpdate', 'OnDelete'],
        ),
      );
    if (us.type === 'RollingUpdate')
      errs.push(...validateRollingUpdateDaemonSet(asObj(us.rollingUpdate), 'spec.updateStrategy.rollingUpdate'));
    errs.push(
      ...nonNegative(s.minReadySeconds, 'spec.minReadySeconds'),
      ...nonNegative(s.revisionHistoryLimit, 'spec.revisionHistoryLimit'),
    );
    return errs;
  },
  validateUpdate: (o: KubeObject, old: KubeObject) =>
    immutableSelector(asObj((o as Obj).spec) ?? {}, asObj((old as Obj).spec) ?? {}),
  columns: [
    nameColumn,
    col('Desired', 'integer', 'The number of nodes that should be running the daemon pod.'),
    col('Current', 'integer', 'The number of nodes running at least one daemon pod that are supposed to.'),
    col(
      'Ready',
      'integer',
      'The number of nodes that should be running the daemon pod and have one or more of it running and ready.',
    ),
    col('Up-to-date', 'integer', 'The total number of nodes that are running the updated daemon pod.'),
    col(
      'Available',
      'integer',
      'The number of nodes that should be running the daemon pod and have one or more of it running and available.',
    ),
    col('Node Selector', 'string', 'The node selector of the pod template.'),
    ageColumn,
    col('Containers', 'string', 'Names of each container in the template.', 1),
    col('Images', 'string', 'Images referenced by each container in the template.', 1),
    col('Selector', 'string', 'Label query over pods that are managed by the daemon set.', 1),
  ],
  row(obj, now) {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {},
      st = asObj(o.status) ?? {};
    const ns = asObj(asObj(asObj(s.template)?.spec)?.nodeSelector);
    const nsCell =
      ns && Object.keys(ns).length
        ? Object.keys(ns)
            .sort()
            .map((k) => `${k}=${ns[k]}`)
            .join(',')
        : '<none>';
    return [
      obj.metadata.name,
      st.desiredNumberScheduled ?? 0,
      st.currentNumberScheduled ?? 0,
      st.numberReady ?? 0,
      st.updatedNumberScheduled ?? 0,
      st.numberAvailable ?? 0,
      nsCell,
      age(obj.metadata.creationTimestamp, now),
      ...templateCells(s),
    ];
  },
});
