// The two rollout strategies (upstream's rolling.go and recreate.go). RollingUpdate scales the new
// ReplicaSet up within maxSurge, then old ones down within maxUnavailable (unhealthy old pods
// first), one step per sync: each step's writes bring the events that trigger the next sync.
// Recreate scales every old set to zero, waits until no old pod runs, then scales the new one up.
import { isTerminal } from '../shared/pods.js';
import type { Pod, ReplicaSet } from '../shared/types.js';
import type { DeploymentSync } from './sync.js';
import {
  activeSets,
  byCreation,
  deploymentComplete,
  maxUnavailable,
  replicasOf,
  rsReplicas,
  sumActual,
  sumAvailable,
  sumSpec,
} from './util.js';

export async function rolloutRolling(s: DeploymentSync): Promise<void> {
  const [newRS, old] = await s.allSets(true);
  if (!newRS) return;
  const all = [...old, newRS];
  if (await reconcileNew(s, all, newRS)) return s.syncRolloutStatus(all, newRS);
  if (await reconcileOld(s, all, activeSets(old), newRS)) return s.syncRolloutStatus(all, newRS);
  if (deploymentComplete(s.d, s.d.status ?? {})) await s.cleanup(old);
  return s.syncRolloutStatus(all, newRS);
}

async function reconcileNew(s: DeploymentSync, all: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
  const want = replicasOf(s.d);
  const have = rsReplicas(newRS);
  if (have === want) return false;
  if (have > want) return (await s.scaleSet(newRS, want))[0];
  return (await s.scaleSet(newRS, s.newRSReplicas(all, newRS)))[0];
}

async function reconcileOld(
  s: DeploymentSync,
  all: ReplicaSet[],
  old: ReplicaSet[],
  newRS: ReplicaSet,
): Promise<boolean> {
  if (sumSpec(old) === 0) return false;
  const d = s.d;
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = sumSpec(all) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  // Unhealthy old replicas go first: they would otherwise block the rollout (upstream #16737).
  const sorted = [...old].sort(byCreation);
  let cleaned = 0;
  for (let i = 0; i < sorted.length && cleaned < maxScaledDown; i++) {
    const rs = sorted[i];
    const unhealthy = rsReplicas(rs) - (rs.status?.availableReplicas ?? 0);
    if (rsReplicas(rs) === 0 || unhealthy <= 0) continue;
    const n = Math.min(maxScaledDown - cleaned, unhealthy);
    const [, updated] = await s.scaleSet(rs, rsReplicas(rs) - n);
    sorted[i] = updated;
    cleaned += n;
  }
  // Then available ones, while availability stays at or above minAvailable.
  const available = sumAvailable([...sorted, newRS]);
  let scaled = 0;
  if (available > minAvailable) {
    const total = available - minAvailable;
    for (const rs of sorted) {
      if (scaled >= total) break;
      if (rsReplicas(rs) === 0) continue;
      const n = Math.min(rsReplicas(rs), total - scaled);
      await s.scaleSet(rs, rsReplicas(rs) - n);
      scaled += n;
    }
  }
  return cleaned + scaled > 0;
}

/** Pods of old sets that are not finished (Recreate waits for them before scaling up). */
function oldPodsRunning(newRS: ReplicaSet | undefined, old: ReplicaSet[], pods: Map<string, Pod[]>): boolean {
  if (sumActual(old) > 0) return true;
  for (const [uid, list] of pods) {
    if (newRS && newRS.metadata.uid === uid) continue;
    if (list.some((p) => !isTerminal(p))) return true;
  }
  return false;
}

export async function rolloutRecreate(s: DeploymentSync, podsBySet: Map<string, Pod[]>): Promise<void> {
  let [newRS, old] = await s.allSets(false);
  let all: (ReplicaSet | undefined)[] = [...old, newRS];
  let scaledDown = false;
  for (const rs of activeSets(old)) if ((await s.scaleSet(rs, 0))[0]) scaledDown = true;
  if (scaledDown) return s.syncRolloutStatus(all, newRS);
  if (oldPodsRunning(newRS, old, podsBySet)) return s.syncRolloutStatus(all, newRS);
  if (!newRS) {
    [newRS, old] = await s.allSets(true);
    all = [...old, newRS];
  }
  if (newRS) await s.scaleSet(newRS, replicasOf(s.d));
  if (deploymentComplete(s.d, s.d.status ?? {})) await s.cleanup(old);
  return s.syncRolloutStatus(all, newRS);
}
