// Namespace controller: a namespace being deleted (deletionTimestamp, status.phase Terminating,
// `kubernetes` in spec.finalizers) has every namespaced kind in it deleted (deletecollection,
// background propagation); while something remains (objects held by finalizers) the namespace
// says so in its conditions and is checked again; once empty its `kubernetes` finalizer is
// removed through /finalize and the API server deletes it.
import type { Logger } from '../../../common/index.js';
import type { KubeObject } from '../../api/index.js';
import { discoverResources, Informer, resourcePath, WorkQueue, type KubeClient } from '../../client/index.js';
import { isSkiffError } from '../../../common/index.js';

export interface NamespaceControllerOptions {
  log: Logger;
  workers?: number;
  recheckMs?: number;
}

const NAMESPACES = { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false };
const isNotFound = (e: unknown) => isSkiffError(e, 'NotFound');

interface Condition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export async function startNamespaceController(
  client: KubeClient,
  opts: NamespaceControllerOptions,
): Promise<{ stop(): void }> {
  const queue = new WorkQueue<string>();
  const enqueue = (o: KubeObject) => {
    if (o.metadata.deletionTimestamp) queue.add(o.metadata.name!);
  };
  const informer = new Informer(client, NAMESPACES, { add: enqueue, update: (_o, n) => enqueue(n) }, { log: opts.log });

  async function sync(name: string): Promise<void> {
    let ns: KubeObject;
    try {
      ns = await client.request<KubeObject>('GET', resourcePath(NAMESPACES, undefined, name));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    const specFinalizers = (ns.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [];
    if (!ns.metadata.deletionTimestamp || !specFinalizers.includes('kubernetes')) return;
    const kinds = (await discoverResources(client)).filter(
      (r) =>
        r.namespaced &&
        r.verbs.includes('list') &&
        (r.verbs.includes('deletecollection') || r.verbs.includes('delete')),
    );
    const remaining: string[] = [];
    const finalizersLeft = new Map<string, number>();
    for (const r of kinds) {
      const path = resourcePath(r, name);
      const opts = { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } };
      try {
        if (r.verbs.includes('deletecollection')) await client.request('DELETE', path, opts);
        else {
          const list = await client.request<{ items: KubeObject[] }>('GET', path);
          for (const o of list.items)
            await client.request('DELETE', resourcePath(r, name, o.metadata.name), opts).catch((e) => {
              if (!isNotFound(e)) throw e;
            });
        }
        const left = await client.request<{ items: KubeObject[] }>('GET', path, { query: { limit: 50 } });
        if (left.items.length) {
          // Upstream's words, "<resource>.<group>" even for the core group ("configmaps.").
          remaining.push(`${r.resource}.${r.group} has ${left.items.length} resource instances`);
          for (const o of left.items)
            for (const f of new Set(o.metadata.finalizers ?? []))
              finalizersLeft.set(f, (finalizersLeft.get(f) ?? 0) + 1);
        }
      } catch (e) {
        if (isNotFound(e)) continue; // the kind went away meanwhile (a CRD deleted)
        throw e;
      }
    }
    if (remaining.length) {
      const byFinalizer = [...finalizersLeft].map(([f, n]) => `${f} in ${n} resource instances`).sort();
      await setConditions(ns, deletionConditions(remaining.sort(), byFinalizer));
      queue.addAfter(name, opts.recheckMs ?? 1000);
      return;
    }
    const body = {
      ...ns,
      spec: { ...(ns.spec as object), finalizers: specFinalizers.filter((f) => f !== 'kubernetes') },
    };
    try {
      await client.request('PUT', resourcePath(NAMESPACES, undefined, name, 'finalize'), { body });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    opts.log.debug('namespace controller: finalized', { namespace: name });
  }

  async function setConditions(ns: KubeObject, conds: Condition[]): Promise<void> {
    const name = ns.metadata.name!;
    const old = (ns.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    const have = old.map(({ lastTransitionTime: _t, ...c }) => c);
    if (JSON.stringify(have) === JSON.stringify(conds)) return; // unchanged: no write every recheck
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    // A condition whose status did not change keeps its transition time.
    const since = (c: Condition) =>
      old.find((o) => o.type === c.type && o.status === c.status)?.lastTransitionTime ?? now;
    try {
      await client.request('PATCH', resourcePath(NAMESPACES, undefined, name, 'status'), {
        body: { status: { conditions: conds.map((c) => ({ ...c, lastTransitionTime: since(c) })) } },
        contentType: 'application/merge-patch+json',
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  await informer.start();
  queue.run(sync, opts.workers ?? 2, (k, e) =>
    opts.log.debug('namespace controller: sync failed', {
      namespace: k,
      error: e instanceof Error ? e.message : String(e),
    }),
  );
  return {
    stop() {
      queue.stop();
      informer.stop();
    },
  };
}

/** The five conditions upstream's namespace deleter writes on a terminating namespace, in its
 *  order: the three failure kinds (none here: discovery and deletes that fail are retried) and
 *  what remains. `kubectl describe namespace` shows them. */
export function deletionConditions(remaining: string[], finalizers: string[]): Condition[] {
  return [
    {
      type: 'NamespaceDeletionDiscoveryFailure',
      status: 'False',
      reason: 'ResourcesDiscovered',
      message: 'All resources successfully discovered',
    },
    {
      type: 'NamespaceDeletionGroupVersionParsingFailure',
      status: 'False',
      reason: 'ParsedGroupVersions',
      message: 'All legacy kube types successfully parsed',
    },
    {
      type: 'NamespaceDeletionContentFailure',
      status: 'False',
      reason: 'ContentDeleted',
      message: 'All content successfully deleted, may be waiting on finalization',
    },
    remaining.length
      ? {
          type: 'NamespaceContentRemaining',
          status: 'True',
          reason: 'SomeResourcesRemain',
          message: `Some resources are remaining: ${remaining.join(', ')}`,
        }
      : {
          type: 'NamespaceContentRemaining',
          status: 'False',
          reason: 'ContentRemoved',
          message: 'All content successfully removed',
        },
    finalizers.length
      ? {
          type: 'NamespaceFinalizersRemaining',
          status: 'True',
          reason: 'SomeFinalizersRemain',
          message: `Some content in the namespace has finalizers remaining: ${finalizers.join(', ')}`,
        }
      : {
          type: 'NamespaceFinalizersRemaining',
          status: 'False',
          reason: 'ContentHasNoFinalizers',
          message: 'All content-preserving finalizers finished',
        },
  ];
}
