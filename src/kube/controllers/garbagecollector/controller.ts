// Garbage collector (upstream's, reduced to its rules): a metadata informer per deletable kind
// keeps the ownership graph; two queues act on it.
// - attemptToDelete(uid): a dependent whose owners are all gone (or waiting for their dependents'
//   deletion) is deleted — in the foreground when an owner waits and it has dependents itself,
//   otherwise in the background; owners that are gone are dropped from a dependent that keeps a
//   live owner. Owners not in the graph are looked up live (uid must match) before being called gone.
// - deletingOwner(uid): an object being deleted with the `orphan` finalizer has its dependents'
//   references to it removed, then the finalizer; with `foregroundDeletion` its dependents are
//   deleted and the finalizer goes once no dependent blocks (blockOwnerDeletion) any more.
// Kinds are rediscovered periodically (CRDs come and go).
import type { Logger } from '../../../common/index.js';
import type { KubeObject } from '../../api/index.js';
import {
  discoverResources,
  Informer,
  resourceForKind,
  resourcePath,
  WorkQueue,
  type DiscoveredResource,
  type KubeClient,
} from '../../client/index.js';
import { Graph, metaOnly, nodeOf, type Meta, type Node } from './graph.js';
import type { SharedInformers } from '../shared/informers.js';
import { isSkiffError } from '../../../common/index.js';

export interface GarbageCollectorOptions {
  log: Logger;
  /** The other controllers' informers: a kind one of them already watches (pods, ReplicaSets…)
   *  is followed through it instead of a watch of its own, so each event is parsed once. */
  shared?: SharedInformers;
  workers?: number;
  rediscoverMs?: number;
}
export interface GarbageCollector {
  graph: Graph;
  stop(): void;
}

const IGNORED = new Set(['/events', 'events.k8s.io/events']);
const isNotFound = (e: unknown) => isSkiffError(e, 'NotFound');
const isConflict = (e: unknown) => isSkiffError(e, 'Conflict');
const resKey = (r: DiscoveredResource) => `${r.group}/${r.version}/${r.resource}`;

export async function startGarbageCollector(
  client: KubeClient,
  opts: GarbageCollectorOptions,
): Promise<GarbageCollector> {
  const log = opts.log;
  const graph = new Graph();
  const informers = new Map<string, { stop(): void }>();
  let resources: DiscoveredResource[] = [];
  const attempt = new WorkQueue<string>();
  const owners = new WorkQueue<string>();
  const pendingOwner = (n: Node) =>
    n.deleting && (n.finalizers.includes('orphan') || n.finalizers.includes('foregroundDeletion'));

  const handlersFor = (r: DiscoveredResource) => ({
    add: (o: Meta) => {
      const n = nodeOf(o, r);
      graph.upsert(n);
      if (n.owners.length) attempt.add(n.uid);
      if (pendingOwner(n)) owners.add(n.uid);
    },
    update: (_old: Meta, o: Meta) => {
      const n = nodeOf(o, r);
      const prev = graph.upsert(n);
      if (
        n.owners.length &&
        (!prev || prev.deleting !== n.deleting || JSON.stringify(prev.owners) !== JSON.stringify(n.owners))
      )
        attempt.add(n.uid);
      if (pendingOwner(n)) owners.add(n.uid);
    },
    delete: (o: Meta) => {
      const n = graph.remove(o.metadata.uid ?? '') ?? nodeOf(o, r);
      for (const d of graph.dependentsOf(n.uid)) attempt.add(d.uid);
      for (const ref of n.owners) {
        const on = graph.get(ref.uid);
        if (on?.deleting) owners.add(on.uid);
      }
    },
  });

  async function syncInformers(): Promise<void> {
    resources = await discoverResources(client);
    const wanted = resources.filter(
      (r) => ['list', 'watch', 'delete'].every((v) => r.verbs.includes(v)) && !IGNORED.has(`${r.group}/${r.resource}`),
    );
    const keys = new Set(wanted.map(resKey));
    for (const [k, inf] of informers)
      if (!keys.has(k)) {
        inf.stop();
        informers.delete(k);
      }
    const starting: Promise<void>[] = [];
    for (const r of wanted) {
      if (informers.has(resKey(r))) continue;
      const shared = opts.shared?.existing(r);
      if (shared) {
        const h = handlersFor(r);
        shared.addHandlers(h);
        informers.set(resKey(r), { stop: () => shared.removeHandlers(h) });
        continue;
      }
      const inf = new Informer<Meta>(client, r, handlersFor(r), { transform: metaOnly, log });
      informers.set(resKey(r), inf);
      starting.push(
        inf.start().catch((e) => {
          log.debug('gc: informer failed', { resource: r.resource, error: String(e) });
          informers.delete(resKey(r));
          inf.stop();
        }),
      );
    }
    await Promise.all(starting);
  }

  type OwnerState = 'solid' | 'dangling' | 'waiting';
  async function ownerState(
    dep: Node,
    ref: { apiVersion: string; kind: string; name: string; uid: string },
  ): Promise<OwnerState> {
    const known = graph.get(ref.uid);
    const state = (n: { deleting: boolean; finalizers: string[] }): OwnerState =>
      n.deleting && n.finalizers.includes('foregroundDeletion') ? 'waiting' : 'solid';
    if (known) return state(known);
    const res = resourceForKind(resources, ref.apiVersion, ref.kind);
    if (!res) return 'solid'; // a kind this server does not serve (yet): leave the dependent alone
    try {
      const o = await client.request<KubeObject>('GET', resourcePath(res, dep.namespace, ref.name));
      if (o.metadata.uid !== ref.uid) return 'dangling';
      return state({ deleting: Boolean(o.metadata.deletionTimestamp), finalizers: o.metadata.finalizers ?? [] });
    } catch (e) {
      if (isNotFound(e)) return 'dangling';
      throw e;
    }
  }

  async function deleteNode(n: Node, policy: 'Background' | 'Foreground' | 'Orphan'): Promise<void> {
    log.debug('gc: deleting', { resource: n.resource.resource, namespace: n.namespace, name: n.name, policy });
    try {
      await client.request('DELETE', resourcePath(n.resource, n.namespace, n.name), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: policy, preconditions: { uid: n.uid } },
      });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  /** Read-modify-write of one object's metadata with its resourceVersion (409 → retried by the queue). */
  async function editMeta(
    n: Node,
    edit: (m: KubeObject['metadata']) => Partial<KubeObject['metadata']> | undefined,
  ): Promise<void> {
    const path = resourcePath(n.resource, n.namespace, n.name);
    let live: KubeObject;
    try {
      live = await client.request<KubeObject>('GET', path);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (live.metadata.uid !== n.uid) return;
    const change = edit(live.metadata);
    if (!change) return;
    try {
      await client.request('PATCH', path, {
        body: { metadata: { ...change, resourceVersion: live.metadata.resourceVersion } },
        contentType: 'application/merge-patch+json',
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async function attemptToDelete(uid: string): Promise<void> {
    const n = graph.get(uid);
    if (!n || !n.owners.length) return;
    if (n.deleting && !n.finalizers.includes('foregroundDeletion')) return;
    const states = await Promise.all(n.owners.map(async (ref) => ({ ref, state: await ownerState(n, ref) })));
    const solid = states.filter((s) => s.state === 'solid');
    const dangling = new Set(states.filter((s) => s.state === 'dangling').map((s) => s.ref.uid));
    const waiting = states.filter((s) => s.state === 'waiting');
    if (solid.length) {
      if (dangling.size) {
        await editMeta(n, (m) => {
          const refs = (m.ownerReferences ?? []).filter((r) => !dangling.has(r.uid));
          return refs.length === (m.ownerReferences ?? []).length ? undefined : { ownerReferences: refs };
        });
      }
      return;
    }
    if (n.deleting) return;
    if (waiting.length && graph.dependentsOf(n.uid).length) return deleteNode(n, 'Foreground');
    const policy = n.finalizers.includes('orphan')
      ? 'Orphan'
      : n.finalizers.includes('foregroundDeletion')
        ? 'Foreground'
        : 'Background';
    return deleteNode(n, policy);
  }

  async function deletingOwner(uid: string): Promise<void> {
    const n = graph.get(uid);
    if (!n || !n.deleting) return;
    const removeFinalizer = (f: string) =>
      editMeta(n, (m) => (m.finalizers?.includes(f) ? { finalizers: m.finalizers.filter((x) => x !== f) } : undefined));
    if (n.finalizers.includes('orphan')) {
      for (const d of graph.dependentsOf(uid)) {
        await editMeta(d, (m) => {
          const refs = (m.ownerReferences ?? []).filter((r) => r.uid !== uid);
          return refs.length === (m.ownerReferences ?? []).length ? undefined : { ownerReferences: refs };
        });
      }
      return removeFinalizer('orphan');
    }
    if (n.finalizers.includes('foregroundDeletion')) {
      const deps = graph.dependentsOf(uid);
      for (const d of deps) if (!d.deleting) attempt.add(d.uid);
      const blocking = deps.filter((d) => d.owners.some((o) => o.uid === uid && o.blockOwnerDeletion));
      if (blocking.length === 0) return removeFinalizer('foregroundDeletion');
    }
  }

  await syncInformers();
  const onError = (what: string) => (k: string, e: unknown) =>
    log.debug(`gc: ${what} failed`, { uid: k, error: e instanceof Error ? e.message : String(e) });
  attempt.run(attemptToDelete, opts.workers ?? 2, onError('attemptToDelete'));
  owners.run(deletingOwner, 1, onError('deletingOwner'));
  const timer = setInterval(() => {
    syncInformers().catch((e) => log.debug('gc: rediscovery failed', { error: String(e) }));
  }, opts.rediscoverMs ?? 30_000);
  timer.unref();
  return {
    graph,
    stop() {
      clearInterval(timer);
      attempt.stop();
      owners.stop();
      for (const i of informers.values()) i.stop();
      informers.clear();
    },
  };
}
