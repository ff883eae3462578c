import type { FieldError, KubeObject } from '../../types.js';
import { define, enumStr, int32, int64, kindSchema, mapOf, obj, ref } from '../../schema/builder.js';
import { N, conditionsList } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, oneOf, validateLabelSelector, type Obj } from '../../validation/fields.js';
import { invalidRaw } from '../../validation/errors.js';
import { resource } from '../shared/define.js';
import { validateIntOrPercent } from '../apps/workload.js';

const P = (n: string) => `io.k8s.api.policy.v1.${n}`;

define(
  P('PodDisruptionBudgetSpec'),
  obj('The desired disruption budget.', {
    minAvailable: ref(
      N.IntOrString,
      'An eviction is allowed if at least this many (or this percentage of) selected pods stay available afterwards. Exclusive with maxUnavailable.',
    ),
    maxUnavailable: ref(
      N.IntOrString,
      'An eviction is allowed if at most this many (or this percentage of) selected pods are unavailable afterwards. Exclusive with minAvailable.',
    ),
    selector: {
      ...ref(
        N.LabelSelector,
        'Label query over the pods the budget covers; an empty selector selects every pod in the namespace.',
      ),
      'x-kubernetes-patch-strategy': 'replace',
    },
    unhealthyPodEvictionPolicy: enumStr(
      'When unhealthy running pods may be evicted: IfHealthyBudget (default behaviour) or AlwaysAllow.',
      ['AlwaysAllow', 'IfHealthyBudget'],
    ),
  }),
);
define(
  P('PodDisruptionBudgetStatus'),
  obj(
    'The observed state of the budget.',
    {
      observedGeneration: int64('The most recent generation observed when updating this status.'),
      disruptedPods: mapOf(
        'Pods whose eviction was processed but not yet observed by the controller, with the eviction time.',
        ref(N.Time),
      ),
      disruptionsAllowed: int32('Number of pod disruptions currently allowed.'),
      currentHealthy: int32('Current number of healthy pods.'),
      desiredHealthy: int32('Minimum desired number of healthy pods.'),
      expectedPods: int32('Total number of pods counted by this budget.'),
      conditions: conditionsList('Conditions of the budget, e.g. DisruptionAllowed.'),
    },
    ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'],
  ),
);

function validate(o: Obj): FieldError[] {
  const s = asObj(o.spec) ?? {};
  const errs: FieldError[] = [];
  if (s.minAvailable !== undefined && s.maxUnavailable !== undefined) {
    errs.push(
      invalidRaw('spec', 'policy.PodDisruptionBudgetSpec{...}', 'minAvailable and maxUnavailable cannot be both set'),
    );
  }
  errs.push(
    ...validateIntOrPercent(s.minAvailable, 'spec.minAvailable'),
    ...validateIntOrPercent(s.maxUnavailable, 'spec.maxUnavailable'),
  );
  errs.push(...validateLabelSelector(s.selector, 'spec.selector'));
  errs.push(
    ...oneOf(s.unhealthyPodEvictionPolicy, 'spec.unhealthyPodEvictionPolicy', ['IfHealthyBudget', 'AlwaysAllow']),
  );
  return errs;
}

export const podDisruptionBudget = resource({
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  plural: 'poddisruptionbudgets',
  singular: 'poddisruptionbudget',
  namespaced: true,
  shortNames: ['pdb'],
  hasGeneration: true,
  subresources: { status: true },
  schema: kindSchema(
    { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget' },
    'PodDisruptionBudget limits the number of pods of a replicated application that are down simultaneously from voluntary disruptions (evictions).',
    {
      spec: ref(P('PodDisruptionBudgetSpec'), 'The desired budget.'),
      status: ref(P('PodDisruptionBudgetStatus'), 'The most recently observed status. Read-only.'),
    },
  ),
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    o.status = asObj(o.status) ?? {};
    for (const k of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods']) o.status[k] ??= 0;
  },
  validate: (o: KubeObject) => validate(o as Obj),
  columns: [
    nameColumn,
    col('Min Available', 'string', 'The minimum number of pods that must be available.'),
    col('Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'),
    col('Allowed Disruptions', 'integer', 'The number of disruptions currently allowed.'),
    ageColumn,
  ],
  row(obj, now) {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {};
    return [
      obj.metadata.name,
      s.minAvailable !== undefined ? String(s.minAvailable) : 'N/A',
      s.maxUnavailable !== undefined ? String(s.maxUnavailable) : 'N/A',
      asObj(o.status)?.disruptionsAllowed ?? 0,
      age(obj.metadata.creationTimestamp, now),
    ];
  },
});
