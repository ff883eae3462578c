// The set of served kinds (built-in definitions plus CRD-backed ones, which come and go) and the
// storage strategy shared by all of them: key layout `/registry/<group>/<plural>/<ns>/<name>`
// (core group spelled `core`), encode (JSON without resourceVersion, optionally transformed, e.g.
// Secrets encrypted) and decode (resourceVersion = the store's modRevision).
import type { KeyValue } from '../storage/index.js';
import type { KubeObject, ResourceDefinition } from '../api/index.js';

/** Transforms stored bytes of one resource (the auth module's Secret encryption plugs in here). */
export interface ValueTransformer {
  toStorage(data: Uint8Array, key: string): Uint8Array | Promise<Uint8Array>;
  fromStorage(data: Uint8Array, key: string): Uint8Array | Promise<Uint8Array>;
}

/** Keys per kind whose last decoded form is kept (see Registry.recent): enough for a scheduler
 *  that binds a few thousand pods behind their creation (a pod takes a few kB of heap). */
const RECENT_DECODES = 8192;

interface Recent {
  rev: number;
  obj: Promise<KubeObject>;
  prevRev?: number;
  prevObj?: Promise<KubeObject>;
}

const NO_BYTES = Buffer.alloc(0);

export const gvString = (group: string, version: string) => (group ? `${group}/${version}` : version);

export class Registry {
  private byGVR = new Map<string, ResourceDefinition>();
  private listeners = new Set<() => void>();
  private preferredCache = new Map<string, ResourceDefinition | undefined>();
  /** Transformers by `group/plural` (e.g. `/secrets` for core Secrets). */
  readonly transformers = new Map<string, ValueTransformer>();
  private encoder = new TextEncoder();
  private decoder = new TextDecoder();

  constructor(defs: ResourceDefinition[] = []) {
    for (const d of defs) this.byGVR.set(`${d.group}/${d.version}/${d.plural}`, d);
  }

  add(defs: ResourceDefinition[]): void {
    for (const d of defs) {
      const k = `${d.group}/${d.version}/${d.plural}`;
      const was = this.byGVR.get(k);
      if (was) this.recent.delete(was);
      this.byGVR.set(k, d);
    }
    this.changed();
  }
  /** Removes every version of group/plural (a deleted or changed CRD). */
  removeResource(group: string, plural: string): void {
    for (const [k, d] of this.byGVR)
      if (d.group === group && d.plural === plural) {
        this.byGVR.delete(k);
        this.recent.delete(d);
      }
    this.changed();
  }
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  private changed() {
    this.preferredCache.clear();
    for (const fn of this.listeners) fn();
  }

  all(): ResourceDefinition[] {
    return [...this.byGVR.values()];
  }
  lookup(group: string, version: string, plural: string): ResourceDefinition | undefined {
    return this.byGVR.get(`${group}/${version}/${plural}`);
  }
  /** The served version of group/plural that discovery prefers (GA over beta over alpha). */
  preferred(group: string, plural: string): ResourceDefinition | undefined {
    // (admission asks on every write: remembered until the set of kinds changes)
    const k = `${group}/${plural}`;
    if (this.preferredCache.has(k)) return this.preferredCache.get(k);
    const defs = [...this.byGVR.values()].filter((d) => d.group === group && d.plural === plural);
    const first = defs.length <= 1 ? defs[0]?.version : sortVersions(defs.map((d) => d.version))[0];
    const def = defs.find((d) => d.version === first);
    this.preferredCache.set(k, def);
    return def;
  }
  byKind(group: string, kind: string): ResourceDefinition | undefined {
    for (const d of this.byGVR.values()) if (d.group === group && d.kind === kind) return d;
    return undefined;
  }
  groupVersions(): { group: string; versions: string[] }[] {
    const m = new Map<string, Set<string>>();
    for (const d of this.byGVR.values()) {
      if (!m.has(d.group)) m.set(d.group, new Set());
      m.get(d.group)!.add(d.version);
    }
    return [...m].map(([group, vs]) => ({ group, versions: sortVersions([...vs]) }));
  }

  /** Prefix for a list: one namespace, or all (namespace undefined). Always ends with `/`. */
  prefix(def: ResourceDefinition, namespace?: string): string {
    const base = `/registry/${(def.storageGroup ?? def.group) || 'core'}/${def.plural}/`;
    return def.namespaced && namespace ? `${base}${namespace}/` : base;
  }
  key(def: ResourceDefinition, namespace: string | undefined, name: string): string {
    return def.namespaced ? `${this.prefix(def, namespace)}${name}` : `${this.prefix(def)}${name}`;
  }

  async encode(def: ResourceDefinition, key: string, written: KubeObject): Promise<Uint8Array> {
    // a version served over another's storage is converted to the stored version first
    const obj = def.conversion ? def.conversion.toStored(written) : written;
    const { resourceVersion: _rv, ...metadata } = obj.metadata;
    // Canonical key order (apiVersion, kind, metadata first) lets rawBytes() serve lists, answers
    // and watch lines without parsing each object.
    const { apiVersion, kind, metadata: _m, ...rest } = obj;
    const bytes = this.encoder.encode(JSON.stringify({ apiVersion, kind, metadata, ...rest }));
    const t = this.transformers.get(`${def.group}/${def.plural}`);
    return t ? await t.toStorage(bytes, key) : bytes;
  }
  /** The JSON of a stored object with its resourceVersion, without parsing it, between `before`
   *  and `after` (a watch line's frame) in one buffer — or undefined when the bytes are not in
   *  the canonical form for this definition (then decode()). The stored bytes are copied once,
   *  never decoded to a string and encoded again (answers, watch lines and lists go out as they
   *  were stored, plus the resourceVersion). */
  rawBytes(
    def: ResourceDefinition,
    kv: KeyValue,
    before: Uint8Array = NO_BYTES,
    after: Uint8Array = NO_BYTES,
  ): Buffer | undefined {
    if (def.conversion || this.transformers.has(`${def.group}/${def.plural}`)) return undefined;
    let prefix = this.prefixes.get(def);
    if (!prefix) {
      const text = `{"apiVersion":${JSON.stringify(gvString(def.group, def.version))},"kind":${JSON.stringify(def.kind)},"metadata":{`;
      this.prefixes.set(def, (prefix = Buffer.from(text)));
    }
    const v = kv.value;
    const n = prefix.length;
    if (v.length <= n || prefix.compare(v, 0, n) !== 0) return undefined;
    // `{` … `"metadata":{` + `"resourceVersion":"R"` + (`,` unless metadata was empty) + the rest
    const rv = `"resourceVersion":"${kv.modRevision}"${v[n] === 0x7d ? '' : ','}`;
    const out = Buffer.allocUnsafe(before.length + n + rv.length + (v.length - n) + after.length);
    out.set(before, 0);
    out.set(prefix, before.length);
    let o = before.length + n;
    o += out.write(rv, o, 'latin1');
    out.set(v.subarray(n), o);
    out.set(after, o + v.length - n);
    return out;
  }
  private prefixes = new WeakMap<ResourceDefinition, Buffer>();

  private decoded = new WeakMap<KeyValue, { def: ResourceDefinition; obj: Promise<KubeObject> }>();
  /** Per kind, the last known decoded form of recently written keys, by revision: decodeShared()
   *  of that key and revision is then this object, not a parse of the stored bytes. Filled by the
   *  shared decodes themselves (an update event's previous value, which watchers with a selector
   *  need, is the object decoded when that revision was the event) and by remember() (a write
   *  handler's own object). Insertion order is age; each kind keeps at most RECENT_DECODES keys. */
  private recent = new Map<ResourceDefinition, Map<string, Recent>>();
  /** Writes in flight from this server (expectWrite). */
  private inflight = new Map<ResourceDefinition, Map<string, { bytes: Uint8Array; obj: KubeObject }>>();
  /** decode() shared by every watcher of one event (the store fans one KeyValue out); read-only. */
  decodeShared(def: ResourceDefinition, kv: KeyValue): Promise<KubeObject> {
    const hit = this.decoded.get(kv);
    if (hit && hit.def === def) return hit.obj;
    const r = this.recent.get(def)?.get(kv.key);
    const known = r?.rev === kv.modRevision ? r.obj : r?.prevRev === kv.modRevision ? r.prevObj : undefined;
    if (known) {
      this.decoded.set(kv, { def, obj: known });
      return known;
    }
    const w = this.inflight.get(def)?.get(kv.key);
    const obj =
      w && Buffer.compare(w.bytes, kv.value) === 0
        ? Promise.resolve(this.atRevision(def, w.obj, kv.modRevision))
        : this.decode(def, kv);
    this.decoded.set(kv, { def, obj });
    this.keep(def, kv.key, kv.modRevision, obj);
    return obj;
  }
  /** Writes in flight from this server, per kind and key: the bytes being written and the object
   *  they encode. On etcd a write's watch event can arrive before the write's own answer (they are
   *  two streams), so remember() comes too late for it; an event carrying exactly an in-flight
   *  write's bytes takes that object instead of a parse (equal canonical bytes decode to an equal
   *  object, whoever wrote them). Same conditions as remember(). Returns the call that ends it. */
  expectWrite(def: ResourceDefinition, key: string, bytes: Uint8Array, obj: KubeObject): () => void {
    if (def.conversion || this.transformers.has(`${def.group}/${def.plural}`)) return () => undefined;
    let m = this.inflight.get(def);
    if (!m) this.inflight.set(def, (m = new Map()));
    const w = { bytes, obj };
    m.set(key, w);
    return () => {
      if (m.get(key) === w) m.delete(key);
    };
  }
  /** obj as decode() would give it at rev (a shallow copy; the nested parts are shared, read-only). */
  private atRevision(def: ResourceDefinition, obj: KubeObject, rev: number): KubeObject {
    return {
      ...obj,
      apiVersion: gvString(def.group, def.version),
      kind: def.kind,
      metadata: { ...obj.metadata, resourceVersion: String(rev) },
    };
  }
  /** A write handler's object as stored at `rev` (resourceVersion set; never mutated after), as
   *  decodeShared() of it will return it: watchers then skip the parse. Only for kinds stored in
   *  canonical form (no conversion, no transformer), whose decode is the stored JSON itself. */
  remember(def: ResourceDefinition, obj: KubeObject, kv: KeyValue): void {
    if (def.conversion || this.transformers.has(`${def.group}/${def.plural}`)) return;
    if (obj.metadata.resourceVersion !== String(kv.modRevision)) return;
    if (obj.apiVersion !== gvString(def.group, def.version) || obj.kind !== def.kind) return;
    this.keep(def, kv.key, kv.modRevision, Promise.resolve(obj));
    this.written.set(obj, kv);
  }
  private written = new WeakMap<KubeObject, KeyValue>();
  /** The stored JSON of a remembered object (rawBytes of its write), for its answer. */
  storedBytes(def: ResourceDefinition, obj: KubeObject): Buffer | undefined {
    const kv = this.written.get(obj);
    return kv && this.rawBytes(def, kv);
  }
  /** Two revisions per key: an update's event needs its previous value after the writer already
   *  remembered the new one. */
  private keep(def: ResourceDefinition, key: string, rev: number, obj: Promise<KubeObject>): void {
    let m = this.recent.get(def);
    if (!m) this.recent.set(def, (m = new Map()));
    const had = m.get(key);
    if (had && had.rev >= rev) {
      if (had.rev > rev && (had.prevRev ?? 0) < rev) {
        had.prevRev = rev;
        had.prevObj = obj;
      }
      return;
    }
    m.delete(key);
    m.set(key, { rev, obj, prevRev: had?.rev, prevObj: had?.obj });
    if (m.size > RECENT_DECODES) m.delete(m.keys().next().value!);
  }
  async decode(def: ResourceDefinition, kv: KeyValue): Promise<KubeObject> {
    const t = this.transformers.get(`${def.group}/${def.plural}`);
    const bytes = t ? await t.fromStorage(kv.value, kv.key) : kv.value;
    const stored = JSON.parse(this.decoder.decode(bytes)) as KubeObject;
    const obj = def.conversion ? def.conversion.fromStored(stored) : stored;
    obj.metadata = { ...obj.metadata, resourceVersion: String(kv.modRevision) };
    // Objects are stored once per group/plural; the version asked for is the one reported.
    obj.apiVersion = gvString(def.group, def.version);
    obj.kind = def.kind;
    return obj;
  }
}

/** Kubernetes version priority: GA > beta > alpha, then by number (v2 > v1, v1beta2 > v1beta1). */
export function sortVersions(vs: string[]): string[] {
  const rank = (v: string) => {
    const m = v.match(/^v(\d+)(?:(alpha|beta)(\d+))?$/);
    if (!m) return [3, 0, 0, v] as const;
    return [m[2] === 'alpha' ? 2 : m[2] === 'beta' ? 1 : 0, -Number(m[1]), -Number(m[3] ?? 0), v] as const;
  };
  return vs.sort((a, b) => {
    const ra = rank(a),
      rb = rank(b);
    for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
    return a.localeCompare(b);
  });
}
