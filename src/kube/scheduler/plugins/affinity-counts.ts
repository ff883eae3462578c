// InterPodAffinity's counts, kept across scheduling cycles and brought up to date from the
// cache's log of changed nodes, so that a cycle costs what changed since the last one rather than
// a walk over every placed pod:
//  - MatchTally: per node, the pods matching a conjunction of the incoming pod's terms (one term,
//    or all its required affinity terms), summed per value of the topology keys asked for. Pods of
//    one workload share their terms, so the tally made for the first pod serves the next ones.
//  - TermIndex: the terms of placed pods (their required anti-affinity terms, or their scoring
//    terms with signed weights), grouped by the term's canonical text, each group counting its
//    instances per value of its topology key; a cycle matches each group once against the
//    incoming pod instead of every placed pod's terms.
import type { Snapshot } from '../framework.js';
import { termMatches, type AffinityTerm, type NodeInfo, type PodInfo } from '../nodeinfo.js';

/** Topology value → count (zero counts are deleted). */
export type Counts = Map<string, number>;

export function bump(m: Counts, v: string | undefined, d: number): void {
  if (v === undefined || d === 0) return;
  const c = (m.get(v) ?? 0) + d;
  if (c === 0) m.delete(v);
  else m.set(v, c);
}

const keys = new WeakMap<AffinityTerm, string>();

/** The canonical text of what decides which pods a term selects: its namespaces (sorted), its
 *  namespaceSelector and its label selector. Equal texts select the same pods. */
export function matchKey(t: AffinityTerm): string {
  let k = keys.get(t);
  if (k === undefined) {
    k = JSON.stringify([[...t.namespaces].sort(), t.namespaceSelector, t.selector]);
    keys.set(t, k);
  }
  return k;
}

/** Something computed from every node, kept up to date from the snapshot's change log. */
abstract class NodeSynced {
  private cursor = -1;

  sync(s: Snapshot): void {
    const changed = this.cursor < 0 ? undefined : s.changedSince(this.cursor);
    this.cursor = s.changeCursor();
    if (changed) {
      for (const n of changed) this.refresh(n, s.get(n.name) === n);
      return;
    }
    this.clear();
    for (const n of s.nodeInfos()) this.refresh(n, true);
  }
  protected abstract clear(): void;
  /** Recomputes what node `n` contributes (nothing unless `live`: listed by the snapshot). */
  protected abstract refresh(n: NodeInfo, live: boolean): void;
}

/** Pods matching every one of `clauses` (termMatches without namespace labels, as the incoming
 *  pod's terms are matched once their namespaceSelector is resolved into names). */
export class MatchTally extends NodeSynced {
  /** Nodes with matching pods: how many, and the node's labels when counted. */
  private perNode = new Map<NodeInfo, { count: number; labels: Record<string, string> }>();
  private byKey = new Map<string, Counts>();

  constructor(readonly clauses: AffinityTerm[]) {
    super();
  }

  matches(pi: PodInfo): boolean {
    for (const t of this.clauses) if (!termMatches(t, pi.pod)) return false;
    return true;
  }

  /** Matching pods per value of topology key `k` (a live map: valid until the next sync). */
  counts(k: string): Counts {
    let m = this.byKey.get(k);
    if (!m) {
      m = new Map();
      for (const e of this.perNode.values()) bump(m, e.labels[k], e.count);
      this.byKey.set(k, m);
    }
    return m;
  }

  protected clear(): void {
    this.perNode.clear();
    for (const m of this.byKey.values()) m.clear();
  }

  protected refresh(n: NodeInfo, live: boolean): void {
    const old = this.perNode.get(n);
    if (old) for (const [k, m] of this.byKey) bump(m, old.labels[k], -old.count);
    let count = 0;
    if (live) for (const p of n.pods) if (this.matches(p)) count++;
    if (!count) {
      this.perNode.delete(n);
      return;
    }
    // A copy: the counts must come off under the values they went in with.
    const labels = { ...n.labels };
    for (const [k, m] of this.byKey) bump(m, labels[k], count);
    this.perNode.set(n, { count, labels });
  }
}

export interface TermGroup {
  readonly key: string;
  /** A representative term (every term of the group selects the same pods). */
  readonly term: AffinityTerm;
  readonly weight: number;
  /** Instances per value of term.topologyKey, over nodes that have that key. */
  readonly counts: Counts;
}

/** The terms `termsOf` lists for the pods of each node, grouped by (weight, topology key, match
 *  key). A group is dropped when its last instance goes. */
export class TermIndex extends NodeSynced {
  readonly groups = new Map<string, TermGroup>();
  private perNode = new Map<NodeInfo, { group: TermGroup; value: string }[]>();

  constructor(private termsOf: (n: NodeInfo, out: (t: AffinityTerm, weight: number) => void) => void) {
    super();
  }

  protected clear(): void {
    this.groups.clear();
    this.perNode.clear();
  }

  private add(g: TermGroup, v: string, d: number): void {
    bump(g.counts, v, d);
    if (!g.counts.size) this.groups.delete(g.key);
  }

  protected refresh(n: NodeInfo, live: boolean): void {
    const old = this.perNode.get(n);
    if (old) for (const e of old) this.add(e.group, e.value, -1);
    this.perNode.delete(n);
    if (!live) return;
    const labels = n.labels;
    const entries: { group: TermGroup; value: string }[] = [];
    this.termsOf(n, (t, weight) => {
      const value = labels[t.topologyKey];
      if (value === undefined) return;
      const key = `${weight}\u0000${t.topologyKey}\u0000${matchKey(t)}`;
      let group = this.groups.get(key);
      if (!group) this.groups.set(key, (group = { key, term: t, weight, counts: new Map() }));
      this.add(group, value, 1);
      entries.push({ group, value });
    });
    if (entries.length) this.perNode.set(n, entries);
  }
}

/** The tallies in use, by the match keys of their clauses; the least recently used beyond
 *  `max` are dropped (a dropped one is counted again from every node when next asked for). */
export class TallyCache {
  private tallies = new Map<string, MatchTally>();

  constructor(
    private snapshot: Snapshot,
    private max = 64,
  ) {}

  /** The tally of `clauses`, up to date with the snapshot. */
  get(clauses: AffinityTerm[]): MatchTally {
    const key = clauses.map(matchKey).join('\u0001');
    let t = this.tallies.get(key);
    if (t) this.tallies.delete(key);
    else {
      t = new MatchTally(clauses);
      const oldest = this.tallies.keys().next();
      if (this.tallies.size >= this.max && !oldest.done) this.tallies.delete(oldest.value);
    }
    this.tallies.set(key, t);
    t.sync(this.snapshot);
    return t;
  }

  get size(): number {
    return this.tallies.size;
  }
}

/** One cycle's counts per topology pair: maps of the shared tallies and indexes (read, never
 *  written; valid through the cycle, which never awaits) summed per key, plus the cycle's own
 *  changes (pods added or removed by the nominated-pods pass and preemption's dry runs). */
export class PairCounts {
  private delta = new Map<string, Counts>();
  private empty: boolean | undefined;
  /** The base as arrays: Filter looks here for every node searched (≈ 1000 per cycle). */
  private readonly keys: string[];
  private readonly lists: Counts[][];

  constructor(private readonly base: Map<string, Counts[]>) {
    this.keys = [...base.keys()];
    this.lists = [...base.values()];
  }

  get(k: string, v: string): number {
    let c = this.delta.size ? (this.delta.get(k)?.get(v) ?? 0) : 0;
    const ms = this.base.get(k);
    if (ms) for (let i = 0; i < ms.length; i++) c += ms[i].get(v) ?? 0;
    return c;
  }

  add(k: string, v: string | undefined, d: number): void {
    if (v === undefined) return;
    let m = this.delta.get(k);
    if (!m) this.delta.set(k, (m = new Map()));
    bump(m, v, d);
    if (!m.size) this.delta.delete(k);
    this.empty = undefined;
  }

  /** Whether `labels` hold a pair counting more than zero. Only keys of the base or the
   *  changes can count, so only those are looked up. */
  anyPositive(labels: Record<string, string>): boolean {
    if (!this.delta.size) {
      for (let i = 0; i < this.keys.length; i++) {
        const v = labels[this.keys[i]];
        if (v === undefined) continue;
        const ms = this.lists[i];
        for (let j = 0; j < ms.length; j++) if ((ms[j].get(v) ?? 0) > 0) return true;
      }
      return false;
    }
    for (const k of this.keys) {
      const v = labels[k];
      if (v !== undefined && this.get(k, v) > 0) return true;
    }
    for (const k of this.delta.keys()) {
      const v = labels[k];
      if (v !== undefined && this.get(k, v) > 0) return true;
    }
    return false;
  }

  /** No pair counts anything (upstream's empty map: entries are deleted at zero). */
  isEmpty(): boolean {
    this.empty ??= this.computeEmpty();
    return this.empty;
  }

  private computeEmpty(): boolean {
    for (const [k, ms] of this.base)
      for (const m of ms) for (const v of m.keys()) if (this.get(k, v) !== 0) return false;
    for (const [k, m] of this.delta) for (const v of m.keys()) if (this.get(k, v) !== 0) return false;
    return true;
  }

  clone(): PairCounts {
    const c = new PairCounts(this.base);
    for (const [k, m] of this.delta) c.delta.set(k, new Map(m));
    return c;
  }
}

/** Adds `m` to the maps of key `k`. */
export function addBase(base: Map<string, Counts[]>, k: string, m: Counts): void {
  const list = base.get(k);
  if (list) list.push(m);
  else base.set(k, [m]);
}
