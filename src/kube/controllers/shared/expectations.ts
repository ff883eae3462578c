// Expectations, as upstream's ControllerExpectations: a controller that creates or deletes N
// pods records that it expects to observe N adds or deletes, and does not act again on that key
// until its informer has shown them (or the expectation expired). Without this a controller
// acting on a cache that lags its own writes would create or delete twice.
// UIDTrackingExpectations also remembers which pods it asked to delete, so a delete observed for
// a pod it never deleted does not lower the count.

const TTL_MS = 5 * 60_000;

interface Record_ {
  add: number;
  del: number;
  at: number;
}

export class Expectations {
  private m = new Map<string, Record_>();
  constructor(private now: () => number = Date.now) {}

  /** True when the controller may act on `key`: nothing pending, or the record expired. */
  satisfied(key: string): boolean {
    const r = this.m.get(key);
    if (!r) return true;
    if (r.add <= 0 && r.del <= 0) return true;
    return this.now() - r.at > TTL_MS;
  }

  /** Sets the counts the controller is about to cause (replaces what was there). */
  expect(key: string, add: number, del: number): void {
    this.m.set(key, { add, del, at: this.now() });
  }
  expectCreations(key: string, n: number): void {
    this.expect(key, n, 0);
  }
  expectDeletions(key: string, n: number): void {
    this.expect(key, 0, n);
  }

  creationObserved(key: string): void {
    const r = this.m.get(key);
    if (r) r.add--;
  }
  deletionObserved(key: string): void {
    const r = this.m.get(key);
    if (r) r.del--;
  }
  /** A write that failed will never be observed: lower the count for it. */
  lowerExpectations(key: string, add: number, del: number): void {
    const r = this.m.get(key);
    if (!r) return;
    r.add -= add;
    r.del -= del;
  }

  delete(key: string): void {
    this.m.delete(key);
  }

  pending(key: string): { add: number; del: number } | undefined {
    const r = this.m.get(key);
    return r ? { add: r.add, del: r.del } : undefined;
  }
}

export class UIDTrackingExpectations {
  readonly counts: Expectations;
  private uids = new Map<string, Set<string>>();

  constructor(now: () => number = Date.now) {
    this.counts = new Expectations(now);
  }

  satisfied(key: string): boolean {
    return this.counts.satisfied(key);
  }
  expectCreations(key: string, n: number): void {
    this.counts.expectCreations(key, n);
  }
  creationObserved(key: string): void {
    this.counts.creationObserved(key);
  }
  lowerExpectations(key: string, add: number, del: number): void {
    this.counts.lowerExpectations(key, add, del);
  }

  /** Records `adds` creations and the deletion of `podKeys` about to happen (replacing what was there). */
  expect(key: string, adds: number, podKeys: string[]): void {
    this.uids.set(key, new Set(podKeys));
    this.counts.expect(key, adds, podKeys.length);
  }

  /** Records that `podKeys` (namespace/name) are about to be deleted. */
  expectDeletions(key: string, podKeys: string[]): void {
    this.uids.set(key, new Set(podKeys));
    this.counts.expectDeletions(key, podKeys.length);
  }

  /** Lowers the delete count only for a pod this controller asked to delete (once). */
  deletionObserved(key: string, podKey: string): void {
    const s = this.uids.get(key);
    if (s?.delete(podKey)) this.counts.deletionObserved(key);
  }

  /** A delete request that failed: it will not be observed. */
  deletionFailed(key: string, podKey: string): void {
    const s = this.uids.get(key);
    if (s?.delete(podKey)) this.counts.lowerExpectations(key, 0, 1);
  }

  delete(key: string): void {
    this.uids.delete(key);
    this.counts.delete(key);
  }
}
