// The Job object as the Job controller reads and writes it, and the condition helpers upstream's
// job controller uses (ensureJobConditionStatus, IsJobFinished).
import { getCondition, rfc3339 } from '../shared/pods.js';
import type { Condition, Workload } from '../shared/types.js';
import type { JobSpec } from './policy.js';

export const TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const JOB_CONTROLLER_NAME = 'kubernetes.io/job-controller';

export interface JobStatus {
  startTime?: string;
  completionTime?: string;
  active?: number;
  ready?: number;
  terminating?: number;
  succeeded?: number;
  failed?: number;
  completedIndexes?: string;
  failedIndexes?: string;
  uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
  conditions?: Condition[];
}
export type Job = Workload<JobSpec, JobStatus>;

export function jobCondition(type: string, status: string, reason: string, message: string, now: number): Condition {
  const t = rfc3339(now);
  return { type, status, lastProbeTime: t, lastTransitionTime: t, reason, message };
}

/** Complete or Failed true: the Job is done and nothing more happens to it. */
export function finishedCondition(j: Job): Condition | undefined {
  return (j.status?.conditions ?? []).find(
    (c) => (c?.type === 'Complete' || c?.type === 'Failed') && c.status === 'True',
  );
}
export const isFinished = (j: Job) => Boolean(finishedCondition(j));

/** Upstream's ensureJobConditionStatus: returns the new list and whether it changed. */
export function ensureCondition(
  list: Condition[] | undefined,
  type: string,
  status: string,
  reason: string,
  message: string,
  now: number,
): [Condition[], boolean] {
  const conds = [...(list ?? [])];
  const cur = getCondition(conds, type);
  if (cur) {
    if (cur.status !== status || cur.reason !== reason || cur.message !== message) {
      conds[conds.indexOf(cur)] = jobCondition(type, status, reason, message, now);
      return [conds, true];
    }
    return [conds, false];
  }
  if (status !== 'False') return [[...conds, jobCondition(type, status, reason, message, now)], true];
  return [conds, false];
}

export const hasFinalizer = (p: { metadata: { finalizers?: string[] } }) =>
  Array.isArray(p.metadata.finalizers) && p.metadata.finalizers.includes(TRACKING_FINALIZER);
