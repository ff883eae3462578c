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
    const finalizersLeft = new Set<string>();
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
          remaining.push(`${r.resource}${r.group ? '.' + r.group : ''} has ${left.items.length} resource instances`);
          for (const o of left.items) for (const f of o.metadata.finalizers ?? []) finalizersLeft.add(f);
        }
      } catch (e) {
        if (isNotFound(e)) continue; // the kind went away meanwhile (a CRD deleted)
        throw e;
      }
    }
    if (remaining.length) {
      await setConditions(ns, [
        {
          type: 'NamespaceContentRemaining',
          status: 'True',
          reason: 'SomeResourcesRemain',
          message: `Some resources are remaining: ${remaining.join(', ')}`,
        },
        {
          type: 'NamespaceFinalizersRemaining',
          status: finalizersLeft.size ? 'True' : 'False',
          reason: finalizersLeft.size ? 'SomeFinalizersRemain' : 'ContentHasNoFinalizers',
          message: finalizersLeft.size
            ? `Some content in the namespace has finalizers remaining: ${[...finalizersLeft].sort().join(', ')}`
            : 'All content-preserving finalizers finished',
        },
      ]);
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
    const have = ((ns.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).map(
      ({ lastTransitionTime: _t, ...c }) => c,
    );
    if (JSON.stringify(have) === JSON.stringify(conds)) return; // unchanged: no write every recheck
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      await client.request('PATCH', resourcePath(NAMESPACES, undefined, name, 'status'), {
        body: { status: { conditions: conds.map((c) => ({ ...c, lastTransitionTime: now })) } },
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
