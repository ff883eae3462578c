// Priority (upstream's plugin): a new Pod gets spec.priority and spec.preemptionPolicy from its
// PriorityClass — the one named in spec.priorityClassName, else the global default (the lowest
// value if several claim it), else 0 and PreemptLowerPriority. A Pod may not carry a priority or
// preemption policy that differs from its class's. PriorityClasses: at most one global default.
// The system classes (system-node-critical, system-cluster-critical) are created at start.
import type { KubeObject } from '../../api/index.js';
import { errForbidden } from '../status.js';
import type { AdmissionAttributes, AdmissionPlugin } from './types.js';
import { isResource } from './types.js';

const SCHEDULING = 'scheduling.k8s.io';

/** Upstream's system PriorityClasses (pkg/apis/scheduling SystemPriorityClasses). */
export const SYSTEM_PRIORITY_CLASSES: KubeObject[] = [
  {
    apiVersion: `${SCHEDULING}/v1`,
    kind: 'PriorityClass',
    metadata: { name: 'system-node-critical' },
    value: 2000001000,
    description: 'Used for system critical pods that must not be moved from their current node.',
  },
  {
    apiVersion: `${SCHEDULING}/v1`,
    kind: 'PriorityClass',
    metadata: { name: 'system-cluster-critical' },
    value: 2000000000,
    description:
      'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
  },
];

interface PriorityClass extends KubeObject {
  value?: number;
  globalDefault?: boolean;
  preemptionPolicy?: string;
}

function forbidden(a: AdmissionAttributes, why: string) {
  const resource = `${a.def.plural}${a.def.group ? `.${a.def.group}` : ''}`;
  return errForbidden(`${resource} "${a.name ?? ''}" is forbidden: ${why}`, {
    resource: a.def.plural,
    group: a.def.group,
    name: a.name,
  });
}

async function globalDefault(a: AdmissionAttributes): Promise<PriorityClass | undefined> {
  let found: PriorityClass | undefined;
  for (const pc of (await a.reader.list(SCHEDULING, 'priorityclasses')) as PriorityClass[])
    if (pc.globalDefault && (!found || (found.value ?? 0) > (pc.value ?? 0))) found = pc;
  return found;
}

async function admitPod(a: AdmissionAttributes): Promise<void> {
  const pod = a.object!;
  const spec = (pod.spec ?? {}) as { priorityClassName?: string; priority?: number; preemptionPolicy?: string };
  pod.spec = spec;
  if (a.operation === 'UPDATE') {
    // Set on create; kept on update (validation refuses changing them).
    const old = (a.oldObject?.spec ?? {}) as typeof spec;
    if (spec.priority === undefined && old.priority !== undefined) spec.priority = old.priority;
    if (spec.preemptionPolicy === undefined && old.preemptionPolicy !== undefined)
      spec.preemptionPolicy = old.preemptionPolicy;
    return;
  }
  let priority = 0;
  let policy: string | undefined = 'PreemptLowerPriority';
  if (!spec.priorityClassName) {
    const d = await globalDefault(a);
    if (d) {
      spec.priorityClassName = d.metadata.name;
      priority = d.value ?? 0;
      policy = d.preemptionPolicy;
    }
  } else {
    const pc = (await a.reader.get(SCHEDULING, 'priorityclasses', undefined, spec.priorityClassName)) as
      | PriorityClass
      | undefined;
    if (!pc) throw forbidden(a, `no PriorityClass with name ${spec.priorityClassName} was found`);
    priority = pc.value ?? 0;
    policy = pc.preemptionPolicy;
  }
  if (spec.priority !== undefined && spec.priority !== priority)
    throw forbidden(
      a,
      `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`,
    );
  spec.priority = priority;
  if (policy !== undefined) {
    if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== policy)
      throw forbidden(
        a,
        `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
      );
    spec.preemptionPolicy = policy;
  }
}

async function validateClass(a: AdmissionAttributes): Promise<void> {
  const pc = a.object as PriorityClass | undefined;
  if (!pc?.globalDefault) return;
  const d = await globalDefault(a);
  if (d && (a.operation === 'CREATE' || d.metadata.name !== pc.metadata.name))
    throw forbidden(a, `PriorityClass ${d.metadata.name} is marked as default. Only one default can exist`);
}

export const priority: AdmissionPlugin = {
  name: 'Priority',
  async admit(a) {
    if ((a.operation === 'CREATE' || a.operation === 'UPDATE') && isResource(a, '', 'pods') && a.object)
      await admitPod(a);
  },
  async validate(a) {
    if ((a.operation === 'CREATE' || a.operation === 'UPDATE') && isResource(a, SCHEDULING, 'priorityclasses'))
      await validateClass(a);
  },
};
