// Writes every pod-owning controller makes: pods from a template (with the controller reference),
// deletes, batched creation that stops at the first failure (upstream's slowStartBatch), and the
// adoption / release of children by selector (upstream's ControllerRefManager).
import { isSkiffError } from '../../../common/index.js';
import { labelSelectorMatches, type LabelSelector } from '../../api/index.js';
import { resourcePath, type KubeClient, type ResourceRef } from '../../client/index.js';
import type { EventSink } from './events.js';
import { controllerRef } from './pods.js';
import { R } from './resources.js';
import type { KubeObject, ObjectRefLike, OwnerReference, Pod, PodTemplateSpec } from './types.js';

export const isNotFound = (e: unknown) => isSkiffError(e, 'NotFound');
export const isConflict = (e: unknown) => isSkiffError(e, 'Conflict');
export const isAlreadyExists = (e: unknown) => isSkiffError(e, 'AlreadyExists');
export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function ownerRefFor(owner: ObjectRefLike, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Generated names are cut so that name + 5 random characters stays a valid label (63). */
export function namePrefix(name: string): string {
  const p = `${name}-`;
  return p.length > 58 ? p.slice(0, 58) : p;
}

/** A pod (not yet created) from a template, as upstream's GetPodFromTemplate builds it. */
export function podFromTemplate(template: PodTemplateSpec | undefined, namespace: string, ref: OwnerReference): Pod {
  const t = structuredClone(template ?? {});
  const m = t.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: namePrefix(ref.name),
      namespace,
      labels: m.labels,
      annotations: m.annotations,
      finalizers: m.finalizers,
      ownerReferences: [ref],
    },
    spec: t.spec ?? { containers: [] },
  };
}

export class PodControl {
  constructor(
    private client: KubeClient,
    private events: EventSink,
  ) {}

  async create(owner: ObjectRefLike, pod: Pod): Promise<Pod> {
    const ns = pod.metadata.namespace ?? owner.metadata.namespace ?? '';
    try {
      const out = await this.client.request<Pod>('POST', resourcePath(R.pods, ns), { body: pod });
      this.events.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${out.metadata.name}`);
      return out;
    } catch (e) {
      this.events.event(owner, 'Warning', 'FailedCreate', `Error creating: ${errorText(e)}`);
      throw e;
    }
  }

  /** Deletes a pod (uid precondition). False when it was already gone (or replaced): no delete
   *  event will be seen for this request, so callers lower their expectations. */
  async delete(owner: ObjectRefLike, pod: Pod): Promise<boolean> {
    try {
      await this.client.request('DELETE', resourcePath(R.pods, pod.metadata.namespace, pod.metadata.name), {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: pod.metadata.uid } },
      });
      this.events.event(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      return true;
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return false;
      this.events.event(owner, 'Warning', 'FailedDelete', `Error deleting: ${errorText(e)}`);
      throw e;
    }
  }
}

/**
 * Runs `count` calls in batches of 1, 2, 4, … and stops at the first batch with a failure, so a
 * quota or an invalid template costs one failed call, not `count`. Returns the successes and the
 * first error.
 */
export async function slowStartBatch(
  count: number,
  fn: (i: number) => Promise<unknown>,
  initial = 1,
): Promise<{ ok: number; error?: unknown }> {
  let ok = 0;
  let i = 0;
  for (let batch = Math.min(count, initial); batch > 0; batch = Math.min(2 * batch, count - ok)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn(i++)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    ok += results.filter((r) => r.status === 'fulfilled').length;
    if (failed) return { ok, error: failed.reason };
  }
  return { ok };
}

export interface ClaimOptions {
  client: KubeClient;
  /** The children's resource. */
  ref: ResourceRef;
  owner: KubeObject;
  ownerRef: OwnerReference;
  selector: LabelSelector | undefined;
  /** Re-reads the owner live: adoption happens only while it exists with the same uid, not deleting. */
  canAdopt(): Promise<boolean>;
}

/**
 * The children this owner controls after adopting matching orphans and releasing owned children
 * that no longer match (upstream's ClaimPods / ClaimReplicaSets). Children of another controller
 * are never touched. Returned objects are the server's answers for patched children, else cached.
 */
export async function claimChildren<T extends KubeObject>(opts: ClaimOptions, children: T[]): Promise<T[]> {
  const { owner, client } = opts;
  const out: T[] = [];
  const deleting = Boolean(owner.metadata.deletionTimestamp);
  let adoptable: boolean | undefined;
  for (const c of children) {
    const ref = controllerRef(c);
    let match = false;
    try {
      match = labelSelectorMatches(opts.selector, c.metadata.labels);
    } catch {
      match = false; // an invalid selector matches nothing
    }
    const path = resourcePath(opts.ref, c.metadata.namespace, c.metadata.name);
    if (ref) {
      if (ref.uid !== owner.metadata.uid) continue;
      if (match || deleting) {
        if (match) out.push(c);
        continue;
      }
      // Release: owned but no longer selected.
      try {
        await client.request('PATCH', path, {
          body: {
            metadata: {
              resourceVersion: c.metadata.resourceVersion,
              ownerReferences: (c.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata.uid),
            },
          },
          contentType: 'application/merge-patch+json',
        });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      continue;
    }
    if (!match || deleting || c.metadata.deletionTimestamp) continue;
    adoptable ??= await opts.canAdopt();
    if (!adoptable) continue;
    try {
      const got = await client.request<T>('PATCH', path, {
        body: {
          metadata: {
            resourceVersion: c.metadata.resourceVersion,
            ownerReferences: [...(c.metadata.ownerReferences ?? []), opts.ownerRef],
          },
        },
        contentType: 'application/merge-patch+json',
      });
      out.push(got);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return out;
}

/**
 * Writes `status` to `obj`'s status subresource; on a conflict (the cache lagging our own last
 * write) re-reads the object and writes once more, as upstream's status updaters do. A status
 * computed from the caches is no less true on top of a newer object.
 */
export async function putStatus<T extends KubeObject>(
  client: KubeClient,
  ref: ResourceRef,
  obj: T,
  status: unknown,
): Promise<void> {
  const path = resourcePath(ref, obj.metadata.namespace, obj.metadata.name, 'status');
  try {
    await client.request('PUT', path, { body: { ...obj, status } });
    return;
  } catch (e) {
    if (isNotFound(e)) return;
    if (!isConflict(e)) throw e;
  }
  let fresh: T;
  try {
    fresh = await client.request<T>('GET', resourcePath(ref, obj.metadata.namespace, obj.metadata.name));
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  if (fresh.metadata.uid !== obj.metadata.uid) return;
  await client.request('PUT', path, { body: { ...fresh, status } });
}

/** canAdopt for claimChildren: a live read of the owner (uid unchanged, not being deleted). */
export function recheckOwner(client: KubeClient, ref: ResourceRef, owner: KubeObject): () => Promise<boolean> {
  return async () => {
    try {
      const live = await client.request<KubeObject>(
        'GET',
        resourcePath(ref, owner.metadata.namespace, owner.metadata.name),
      );
      return live.metadata.uid === owner.metadata.uid && !live.metadata.deletionTimestamp;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  };
}
