// Service cluster IP and node port allocation, kept in the store so it survives restarts and is
// shared by every server on one etcd: each allocated IP or port is one key
// (`/registry/skiff/serviceips/<ip>`, `/registry/skiff/servicenodeports/<proto>/<port>`) whose
// atomic create is the claim (as upstream's IPAddress objects). Claims are made after validation,
// before the Service is written, and undone if that write fails; a store watch on Services releases
// a deleted Service's claims (any server may; the claim records the owner's uid), and a repair pass
// at start claims what existing Services hold and drops claims whose Service is gone.
import type { FieldError, KubeObject } from '../api/index.js';
import { invalid, ipInCIDR, NODE_PORT_RANGE, parseCIDR } from '../api/index.js';
import { isKeyExists, type Store } from '../storage/index.js';
import type { ApiContext } from './context.js';
import { errInvalid } from './status.js';
import { sleep } from '../../common/index.js';

const IP_PREFIX = '/registry/skiff/serviceips/';
const PORT_PREFIX = '/registry/skiff/servicenodeports/';
const te = new TextEncoder(),
  td = new TextDecoder();
/** A claim without its Service is left alone this long (the Service write may still be coming). */
const REPAIR_GRACE_MS = 60_000;
const REPAIR_INTERVAL_MS = 5 * 60_000;

export interface ServiceNetworkOptions {
  cidr: string;
  nodePortRange?: { min: number; max: number };
}

interface Claim {
  namespace: string;
  name: string;
  uid: string;
  time: number;
}
type Obj = Record<string, any>;

const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
const ipKey = (ip: string) => IP_PREFIX + ip;
const portKey = (port: number, proto: string) => `${PORT_PREFIX}${proto}/${port}`;
const needsNodePorts = (s: Obj) =>
  s.type === 'NodePort' || (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts !== false);
const wantsIP = (s: Obj) => s.type !== 'ExternalName' && s.clusterIP !== 'None';

/** The claim keys a stored Service holds. */
export function claimKeys(svc: KubeObject): string[] {
  const s = (svc.spec ?? {}) as Obj;
  const keys: string[] = [];
  const ips: unknown[] =
    Array.isArray(s.clusterIPs) && s.clusterIPs.length ? s.clusterIPs : s.clusterIP ? [s.clusterIP] : [];
  for (const ip of ips) if (typeof ip === 'string' && ip !== 'None') keys.push(ipKey(ip));
  for (const p of Array.isArray(s.ports) ? s.ports : [])
    if (p?.nodePort) keys.push(portKey(p.nodePort, p.protocol ?? 'TCP'));
  return keys;
}

export class ServiceAllocator {
  private base: number;
  private size: number;
  private ports: { min: number; max: number };
  private ac = new AbortController();

  constructor(
    private store: Store,
    private opts: ServiceNetworkOptions,
  ) {
    ({ base: this.base, size: this.size } = parseCIDR(opts.cidr));
    this.ports = opts.nodePortRange ?? NODE_PORT_RANGE;
  }

  /** The address upstream reserves for the `kubernetes` Service (never handed out at random). */
  get firstIP(): string {
    return toIp(this.base + 1);
  }

  /**
   * Fills and claims what `svc` needs that `old` (on update) did not hold; returns an undo for
   * the new claims and the old claims no longer held (to release once the write succeeded).
   * Throws 422 naming the field when a requested IP/port is out of range or taken.
   */
  async allocate(
    svc: KubeObject,
    old: KubeObject | undefined,
    dryRun: boolean,
  ): Promise<{ undo(): Promise<void>; released: string[] }> {
    const s = (svc.spec ?? {}) as Obj;
    const owner: Claim = {
      namespace: svc.metadata.namespace ?? '',
      name: svc.metadata.name ?? '',
      uid: svc.metadata.uid ?? '',
      time: Date.now(),
    };
    const held = new Set(old ? claimKeys(old) : []);
    const made: string[] = [];
    const errs: FieldError[] = [];
    const undo = async () => {
      for (const k of made) await this.release(k, owner.uid);
    };
    const claim = async (key: string): Promise<boolean> => {
      if (held.has(key)) return true;
      if (dryRun) return !(await this.store.get(key));
      try {
        await this.store.create(key, te.encode(JSON.stringify(owner)));
        made.push(key);
        return true;
      } catch (e) {
        if (isKeyExists(e)) return false;
        throw e;
      }
    };
    try {
      if (wantsIP(s)) {
        if (s.clusterIP) {
          if (!ipInCIDR(s.clusterIP, this.opts.cidr))
            errs.push(
              invalid(
                'spec.clusterIPs',
                [s.clusterIP],
                `failed to allocate IP ${s.clusterIP}: the provided IP (${s.clusterIP}) is not in the valid range. The range of valid IPs is ${this.opts.cidr}`,
              ),
            );
          else if (!(await claim(ipKey(s.clusterIP))))
            errs.push(
              invalid(
                'spec.clusterIPs',
                [s.clusterIP],
                `failed to allocate IP ${s.clusterIP}: provided IP is already allocated`,
              ),
            );
        } else {
          const ip = await this.pick(
            this.size - 3,
            (i) => toIp(this.base + 2 + i),
            (ip) => claim(ipKey(ip)),
            IP_PREFIX,
            (k) => k.slice(IP_PREFIX.length),
          );
          if (ip) s.clusterIP = ip;
          else errs.push(invalid('spec.clusterIPs', [], 'failed to allocate a serviceIP: range is full'));
        }
        if (s.clusterIP && !errs.length) s.clusterIPs = [s.clusterIP];
      }
      if (needsNodePorts(s) && Array.isArray(s.ports)) {
        for (const [i, p] of (s.ports as Obj[]).entries()) {
          if (!p || typeof p !== 'object') continue;
          const proto = p.protocol ?? 'TCP';
          if (p.nodePort) {
            if (!(await claim(portKey(p.nodePort, proto))))
              errs.push(invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated'));
            continue;
          }
          const span = this.ports.max - this.ports.min + 1;
          const port = await this.pick(
            span,
            (k) => this.ports.min + k,
            (n) => claim(portKey(n, proto)),
            `${PORT_PREFIX}${proto}/`,
            (k) => Number(k.slice(`${PORT_PREFIX}${proto}/`.length)),
          );
          if (port) p.nodePort = port;
          else errs.push(invalid(`spec.ports[${i}].nodePort`, 0, 'range is full'));
        }
      }
    } catch (e) {
      await undo();
      throw e;
    }
    if (errs.length) {
      await undo();
      throw errInvalid({ resource: 'services', group: '', kind: 'Service', name: svc.metadata.name }, errs);
    }
    const now = new Set(claimKeys(svc));
    return { undo, released: [...held].filter((k) => !now.has(k)) };
  }

  /** Random probes first (a sparse range answers at once), then a scan of the claims in the store. */
  private async pick<T>(
    n: number,
    at: (i: number) => T,
    tryClaim: (v: T) => Promise<boolean>,
    prefix: string,
    parse: (key: string) => T,
  ): Promise<T | undefined> {
    for (let i = 0; i < 16; i++) {
      const v = at(Math.floor(Math.random() * n));
      if (await tryClaim(v)) return v;
    }
    const used = new Set<T>();
    let cont: string | undefined;
    do {
      const page = await this.store.list(prefix, { limit: 5000, continue: cont });
      for (const kv of page.items) used.add(parse(kv.key));
      cont = page.continue;
    } while (cont);
    const start = Math.floor(Math.random() * n);
    for (let k = 0; k < n; k++) {
      const v = at((start + k) % n);
      if (!used.has(v) && (await tryClaim(v))) return v;
    }
    return undefined;
  }

  /** Drops a claim if it still belongs to `uid` (a later owner's claim of the same value stays). */
  async release(key: string, uid: string): Promise<void> {
    const kv = await this.store.get(key);
    if (!kv) return;
    try {
      const c = JSON.parse(td.decode(kv.value)) as Claim;
      if (c.uid !== uid) return;
      await this.store.delete(key, kv.modRevision);
    } catch {
      /* changed or gone meanwhile: not ours to drop any more */
    }
  }

  /** Releases the claims of deleted Services as their DELETE events arrive; repairs at start. */
  async start(ctx: ApiContext, servicesPrefix: string): Promise<void> {
    const signal = this.ac.signal;
    let rev = await this.store.currentRevision();
    const repair = () => {
      void this.repair(ctx, servicesPrefix).catch((e) =>
        ctx.log.warn('service allocation repair failed', { error: String(e) }),
      );
    };
    repair();
    // Again every few minutes: a claim left by a crash between claim and write ages past the grace.
    const timer = setInterval(repair, REPAIR_INTERVAL_MS);
    timer.unref();
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    void (async () => {
      while (!signal.aborted) {
        try {
          const w = this.store.watch(servicesPrefix, rev, { signal });
          signal.addEventListener('abort', () => w.close(), { once: true });
          for await (const ev of w) {
            if (ev.type === 'PROGRESS') continue;
            rev = ev.kv.modRevision;
            if (ev.type !== 'DELETE') continue;
            const svc = await decodeQuiet(ctx, ev.kv.key, ev.kv.value);
            if (svc) for (const k of claimKeys(svc)) await this.release(k, svc.metadata.uid ?? '');
          }
        } catch {
          if (signal.aborted) break;
          await sleep(500);
          try {
            rev = await this.store.currentRevision();
            await this.repair(ctx, servicesPrefix);
          } catch {
            /* retried on the next round */
          }
        }
      }
    })();
  }

  /** Claims what stored Services hold (state written before claims existed, or a claim lost) and
   *  drops claims whose Service is gone (a crash between a claim and its Service write, a missed
   *  delete). Claims younger than REPAIR_GRACE_MS are left alone: their Service may be coming. */
  async repair(ctx: ApiContext, servicesPrefix: string): Promise<void> {
    const wanted = new Map<string, Claim>();
    for (const kv of await listAll(this.store, servicesPrefix)) {
      const svc = await decodeQuiet(ctx, kv.key, kv.value);
      if (!svc) continue;
      const c: Claim = {
        namespace: svc.metadata.namespace ?? '',
        name: svc.metadata.name ?? '',
        uid: svc.metadata.uid ?? '',
        time: Date.now(),
      };
      for (const k of claimKeys(svc)) if (!wanted.has(k)) wanted.set(k, c);
    }
    const live = new Set([...wanted.values()].map((c) => c.uid));
    for (const prefix of [IP_PREFIX, PORT_PREFIX]) {
      for (const kv of await listAll(this.store, prefix)) {
        let c: Claim | undefined;
        try {
          c = JSON.parse(td.decode(kv.value)) as Claim;
        } catch {
          /* unreadable: replaced or dropped */
        }
        const want = wanted.get(kv.key);
        wanted.delete(kv.key);
        if (want && c?.uid === want.uid) continue;
        if (!want && c && (live.has(c.uid) || Date.now() - c.time < REPAIR_GRACE_MS)) continue;
        if (want)
          // a concurrent writer moved the key (revision mismatch): the next repair pass looks again
          await this.store.update(kv.key, te.encode(JSON.stringify(want)), kv.modRevision).catch(() => undefined);
        else await this.store.delete(kv.key, kv.modRevision).catch(() => undefined);
      }
    }
    for (const [k, c] of wanted) {
      try {
        await this.store.create(k, te.encode(JSON.stringify(c)));
      } catch (e) {
        if (!isKeyExists(e)) throw e;
      }
    }
  }

  stop(): void {
    this.ac.abort();
  }
}

async function listAll(store: Store, prefix: string) {
  const out = [];
  let cont: string | undefined;
  do {
    const page = await store.list(prefix, { limit: 1000, continue: cont });
    out.push(...page.items);
    cont = page.continue;
  } while (cont);
  return out;
}

async function decodeQuiet(ctx: ApiContext, key: string, value: Uint8Array): Promise<KubeObject | undefined> {
  try {
    const def = ctx.registry.lookup('', 'v1', 'services');
    return def ? await ctx.registry.decode(def, { key, value, modRevision: 0, createRevision: 0 }) : undefined;
  } catch {
    return undefined;
  }
}
