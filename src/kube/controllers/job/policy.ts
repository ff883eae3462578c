// Failure accounting for Jobs: which pods count as failed (upstream's isPodFailed), the pod
// failure policy (rules matched in order on container exit codes or pod conditions: FailJob,
// Ignore, Count, FailIndex) and the pod creation back-off after failures (10 s doubling up to
// 10 minutes, as upstream's podBackoffStore).
import type { Pod } from '../shared/types.js';

export interface PodFailurePolicyRule {
  action: 'FailJob' | 'Ignore' | 'Count' | 'FailIndex' | string;
  onExitCodes?: { containerName?: string; operator: 'In' | 'NotIn' | string; values: number[] };
  onPodConditions?: { type: string; status?: string }[];
}
export interface JobSpec {
  parallelism?: number;
  completions?: number;
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
  backoffLimitPerIndex?: number;
  maxFailedIndexes?: number;
  completionMode?: string;
  suspend?: boolean;
  ttlSecondsAfterFinished?: number;
  podReplacementPolicy?: string;
  podFailurePolicy?: { rules?: PodFailurePolicyRule[] };
  managedBy?: string;
  selector?: import('../shared/types.js').LabelSelector;
  template?: import('../shared/types.js').PodTemplateSpec;
}

/** Only failed pods are replaced (not terminating ones): podReplacementPolicy Failed. */
export const onlyReplaceFailed = (spec: JobSpec) =>
  spec.podReplacementPolicy === 'Failed' || Boolean(spec.podFailurePolicy);

export function isPodFailed(p: Pod, spec: JobSpec): boolean {
  if (p.status?.phase === 'Failed') return true;
  if (onlyReplaceFailed(spec)) return false;
  // A deleted pod counts as failed: orphans may never reach the Failed phase.
  return Boolean(p.metadata.deletionTimestamp) && p.status?.phase !== 'Succeeded';
}

export interface PolicyMatch {
  /** A FailJob rule matched: the Job fails with this message. */
  failJob?: string;
  /** Whether this failure counts against backoffLimit. */
  count: boolean;
  action?: string;
}

/** Matches a failed pod against the policy's rules in order (upstream's matchPodFailurePolicy). */
export function matchPodFailurePolicy(spec: JobSpec, p: Pod): PolicyMatch {
  const rules = spec.podFailurePolicy?.rules;
  if (!Array.isArray(rules)) return { count: true };
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (!r) continue;
    let what: string | undefined;
    if (r.onExitCodes) {
      const req = r.onExitCodes;
      const statuses = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
      for (const cs of statuses) {
        const code = cs?.state?.terminated?.exitCode;
        if (code === undefined || code === 0) continue;
        if (req.containerName && req.containerName !== cs.name) continue;
        const inValues = Array.isArray(req.values) && req.values.includes(code);
        if (req.operator === 'In' ? inValues : req.operator === 'NotIn' ? !inValues : false) {
          what = `Container ${cs.name} for pod ${p.metadata.namespace}/${p.metadata.name} failed with exit code ${code} matching ${r.action} rule at index ${i}`;
          break;
        }
      }
    } else if (Array.isArray(r.onPodConditions)) {
      for (const pc of r.onPodConditions) {
        const c = (p.status?.conditions ?? []).find((x) => x?.type === pc?.type);
        if (c && c.status === (pc.status ?? 'True')) {
          what = `Pod ${p.metadata.namespace}/${p.metadata.name} has condition ${pc.type} matching ${r.action} rule at index ${i}`;
          break;
        }
      }
    }
    if (!what) continue;
    switch (r.action) {
      case 'FailJob':
        return { failJob: what, count: true, action: r.action };
      case 'Ignore':
        return { count: false, action: r.action };
      case 'Count':
      case 'FailIndex':
        return { count: true, action: r.action };
      default:
        return { count: true };
    }
  }
  return { count: true };
}

/** When a pod finished: its last container's finish, else its deletion, else now. */
export function finishTime(p: Pod, now: number): number {
  let t = 0;
  for (const cs of p.status?.containerStatuses ?? []) {
    const f = Date.parse((cs?.state?.terminated as { finishedAt?: string } | undefined)?.finishedAt ?? '');
    if (Number.isFinite(f)) t = Math.max(t, f);
  }
  if (t) return t;
  const d = Date.parse(p.metadata.deletionTimestamp ?? '');
  return Number.isFinite(d) ? d : now;
}

export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime: number;
}

/** Per-Job failure back-off, kept in memory as upstream does. */
export class BackoffStore {
  private m = new Map<string, BackoffRecord>();
  constructor(
    private baseMs: number,
    private maxMs: number,
  ) {}

  /** The record after this sync's newly finished pods (not stored until `store`). */
  next(key: string, succeeded: Pod[], failed: Pod[], now: number): BackoffRecord {
    const cur = this.m.get(key) ?? { failuresAfterLastSuccess: 0, lastFailureTime: 0 };
    if (!succeeded.length && !failed.length) return cur;
    const lastSuccess = Math.max(0, ...succeeded.map((p) => finishTime(p, now)));
    const failTimes = failed.map((p) => finishTime(p, now));
    if (succeeded.length) {
      const after = failTimes.filter((t) => t > lastSuccess);
      return {
        failuresAfterLastSuccess: after.length,
        lastFailureTime: after.length ? Math.max(...after) : cur.lastFailureTime,
      };
    }
    return {
      failuresAfterLastSuccess: cur.failuresAfterLastSuccess + failed.length,
      lastFailureTime: Math.max(cur.lastFailureTime, ...failTimes),
    };
  }

  store(key: string, r: BackoffRecord): void {
    this.m.set(key, r);
  }
  remove(key: string): void {
    this.m.delete(key);
  }

  /** ms to wait before creating pods again (0 when none). */
  remaining(r: BackoffRecord, now: number): number {
    if (r.failuresAfterLastSuccess === 0) return 0;
    const backoff = Math.min(this.baseMs * 2 ** (r.failuresAfterLastSuccess - 1), this.maxMs);
    return Math.max(0, r.lastFailureTime + backoff - now);
  }
}
