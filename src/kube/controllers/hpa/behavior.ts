// HPA scaling behavior (upstream's horizontal.go normalization): recommendations are stabilized
// over a window (the highest recent one when scaling down, the lowest when scaling up), then the
// step is limited by the behavior's policies (Pods / Percent per period; Max, Min or Disabled),
// or without a behavior by upstream's defaults (5-minute downscale window; at most 2× or +4 up).

export interface ScalingPolicy {
  type: 'Pods' | 'Percent' | string;
  value: number;
  periodSeconds: number;
}
export interface ScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled' | string;
  policies?: ScalingPolicy[];
}
export interface Behavior {
  scaleUp?: ScalingRules;
  scaleDown?: ScalingRules;
}

interface Recommendation {
  replicas: number;
  at: number;
}
interface ScaleEvent {
  change: number;
  at: number;
}

export interface Normalized {
  replicas: number;
  ableToScale: { reason: string; message: string };
  limited: { status: 'True' | 'False'; reason: string; message: string };
}

export const DEFAULT_DOWNSCALE_WINDOW_S = 300;

/** Per-HPA memory of recommendations and scale events (in memory, as upstream). */
export class ScalingHistory {
  private recs = new Map<string, Recommendation[]>();
  private ups = new Map<string, ScaleEvent[]>();
  private downs = new Map<string, ScaleEvent[]>();

  forget(key: string): void {
    this.recs.delete(key);
    this.ups.delete(key);
    this.downs.delete(key);
  }

  /** Records that the target was scaled from `from` to `to` at `now`. */
  recordScale(key: string, from: number, to: number, now: number, behavior?: Behavior): void {
    const longest = (r?: ScalingRules) => Math.max(0, ...(r?.policies ?? []).map((p) => p.periodSeconds ?? 0)) * 1000;
    const keep = (list: ScaleEvent[], ms: number) => list.filter((e) => e.at > now - ms);
    if (to > from)
      this.ups.set(key, [...keep(this.ups.get(key) ?? [], longest(behavior?.scaleUp)), { change: to - from, at: now }]);
    else if (to < from)
      this.downs.set(key, [
        ...keep(this.downs.get(key) ?? [], longest(behavior?.scaleDown)),
        { change: from - to, at: now },
      ]);
  }

  private record(key: string, replicas: number, now: number, isOld: (r: Recommendation) => boolean): void {
    const list = this.recs.get(key) ?? [];
    const i = list.findIndex(isOld);
    if (i >= 0) list[i] = { replicas, at: now };
    else list.push({ replicas, at: now });
    this.recs.set(key, list);
  }

  private changeIn(events: ScaleEvent[] | undefined, periodS: number, now: number): number {
    return (events ?? []).filter((e) => e.at > now - periodS * 1000).reduce((n, e) => n + e.change, 0);
  }

  /** Without spec.behavior: downscale stabilization and the 2×/+4 scale-up limit. */
  normalize(
    key: string,
    current: number,
    desired: number,
    min: number,
    max: number,
    now: number,
    windowS = DEFAULT_DOWNSCALE_WINDOW_S,
  ): Normalized {
    const cutoff = now - windowS * 1000;
    let stabilized = desired;
    for (const r of this.recs.get(key) ?? []) if (r.at >= cutoff && r.replicas > stabilized) stabilized = r.replicas;
    this.record(key, desired, now, (r) => r.at < cutoff);
    const ableToScale =
      stabilized !== desired
        ? {
            reason: 'ScaleDownStabilized',
            message: 'recent recommendations were higher than current one, applying the highest recent recommendation',
          }
        : { reason: 'ReadyForNewScale', message: 'recommended size matches current size' };
    const upLimit = Math.max(2 * current, 4);
    let maxAllowed: number, reason: string, message: string;
    if (max > upLimit) {
      maxAllowed = upLimit;
      reason = 'ScaleUpLimit';
      message = 'the desired replica count is increasing faster than the maximum scale rate';
    } else {
      maxAllowed = max;
      reason = 'TooManyReplicas';
      message = 'the desired replica count is more than the maximum replica count';
    }
    let out = stabilized;
    if (stabilized < min) {
      out = min;
      reason = 'TooFewReplicas';
      message = 'the desired replica count is less than the minimum replica count';
    } else if (stabilized > maxAllowed) out = maxAllowed;
    else {
      reason = 'DesiredWithinRange';
      message = 'the desired count is within the acceptable range';
    }
    return { replicas: out, ableToScale, limited: { status: out === stabilized ? 'False' : 'True', reason, message } };
  }

  /** With spec.behavior: stabilization windows both ways, then the policies' rate limits. */
  normalizeWithBehavior(
    key: string,
    current: number,
    desired: number,
    min: number,
    max: number,
    b: Behavior,
    now: number,
  ): Normalized {
    const upWin = b.scaleUp?.stabilizationWindowSeconds ?? 0;
    const downWin = b.scaleDown?.stabilizationWindowSeconds ?? DEFAULT_DOWNSCALE_WINDOW_S;
    const upCut = now - upWin * 1000,
      downCut = now - downWin * 1000;
    let up = desired,
      down = desired;
    for (const r of this.recs.get(key) ?? []) {
      if (r.at > upCut) up = Math.min(r.replicas, up);
      if (r.at > downCut) down = Math.max(r.replicas, down);
    }
    let stabilized = current;
    if (stabilized < up) stabilized = up;
    if (stabilized > down) stabilized = down;
    this.record(key, desired, now, (r) => r.at < upCut && r.at < downCut);
    const ableToScale =
      stabilized !== desired
        ? desired >= current
          ? {
              reason: 'ScaleUpStabilized',
              message: 'recent recommendations were lower than current one, applying the lowest recent recommendation',
            }
          : {
              reason: 'ScaleDownStabilized',
              message:
                'recent recommendations were higher than current one, applying the highest recent recommendation',
            }
        : { reason: 'ReadyForNewScale', message: 'recommended size matches current size' };
    let out = stabilized,
      reason = 'DesiredWithinRange',
      message = 'the desired count is within the acceptable range';
    if (stabilized > current) {
      let limit = this.upLimit(key, current, b.scaleUp ?? {}, now);
      if (limit < current) limit = current;
      let maxAllowed = max;
      if (maxAllowed > limit) {
        maxAllowed = limit;
        reason = 'ScaleUpLimit';
        message = 'the desired replica count is increasing faster than the maximum scale rate';
      } else {
        reason = 'TooManyReplicas';
        message = 'the desired replica count is more than the maximum replica count';
      }
      if (stabilized > maxAllowed) out = maxAllowed;
      else {
        reason = 'DesiredWithinRange';
        message = 'the desired count is within the acceptable range';
      }
    } else if (stabilized < current) {
      let limit = this.downLimit(key, current, b.scaleDown ?? {}, now);
      if (limit > current) limit = current;
      let minAllowed = min;
      if (minAllowed < limit) {
        minAllowed = limit;
        reason = 'ScaleDownLimit';
        message = 'the desired replica count is decreasing faster than the maximum scale rate';
      } else {
        reason = 'TooFewReplicas';
        message = 'the desired replica count is less than the minimum replica count';
      }
      if (stabilized < minAllowed) out = minAllowed;
      else {
        reason = 'DesiredWithinRange';
        message = 'the desired count is within the acceptable range';
      }
    }
    return { replicas: out, ableToScale, limited: { status: out === stabilized ? 'False' : 'True', reason, message } };
  }

  private upLimit(key: string, current: number, r: ScalingRules, now: number): number {
    if (r.selectPolicy === 'Disabled') return current;
    const pick = r.selectPolicy === 'Min' ? Math.min : Math.max;
    let result = r.selectPolicy === 'Min' ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
    for (const p of r.policies ?? []) {
      const start =
        current -
        this.changeIn(this.ups.get(key), p.periodSeconds, now) +
        this.changeIn(this.downs.get(key), p.periodSeconds, now);
      const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
      result = pick(result, proposed);
    }
    return result;
  }

  private downLimit(key: string, current: number, r: ScalingRules, now: number): number {
    if (r.selectPolicy === 'Disabled') return current;
    const pick = r.selectPolicy === 'Min' ? Math.max : Math.min;
    let result = r.selectPolicy === 'Min' ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
    for (const p of r.policies ?? []) {
      const start =
        current -
        this.changeIn(this.ups.get(key), p.periodSeconds, now) +
        this.changeIn(this.downs.get(key), p.periodSeconds, now);
      const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
      result = pick(result, proposed);
    }
    return result;
  }
}
