// Ephemeral containers (kubectl debug): kubelet starts each one the pod's spec names that the
// runtime has never held — in the pod's running sandbox, even before initialization completed —
// and never restarts it, whatever the pod's restartPolicy; one with a targetContainerName joins
// that container's PID namespace (CRI namespace mode TARGET). They count for nothing in the
// pod's phase, readiness or "nothing left to run"; killing the pod stops them with the rest.
import type { AgentContext } from '../context.js';
import type { EphemeralContainer, Pod } from '../types.js';
import { latest, type RuntimePod } from './runtime-state.js';
import { startContainer, type StartInputs, type StartResult } from './start.js';

/** The ephemeral containers to start now: those the runtime never held (kubelet's
 *  EphemeralContainersToStart), none for a pod being deleted. */
export function ephemeralToStart(pod: Pod, rp: RuntimePod): EphemeralContainer[] {
  if (pod.metadata.deletionTimestamp) return [];
  return (pod.spec.ephemeralContainers ?? []).filter((c) => !rp.containers.some((x) => x.name === c.name));
}

/** Starts one ephemeral container; its target must be running (else it waits, as upstream's
 *  CreateContainerError when the runtime cannot join a missing process's namespace). */
export async function startEphemeral(
  ctx: AgentContext,
  pod: Pod,
  c: EphemeralContainer,
  rp: RuntimePod,
  inputs: Omit<StartInputs, 'type' | 'targetId'>,
): Promise<StartResult> {
  let targetId: string | undefined;
  if (c.targetContainerName) {
    const t = latest(rp, c.targetContainerName);
    if (!t || t.state !== 'running')
      return {
        waiting: {
          reason: 'CreateContainerError',
          message: `target container "${c.targetContainerName}" is not running`,
        },
        retryInMs: 2000,
      };
    targetId = t.id;
  }
  return startContainer(ctx, pod, c, rp, { ...inputs, type: 'ephemeral', targetId });
}
