// ControllerRevisions for DaemonSets and StatefulSets (upstream's controller history): each
// distinct pod template is a revision whose data is the patch `kubectl rollout undo` applies
// ({"spec":{"template":{…,"$patch":"replace"}}}), named <owner>-<hash>, numbered in order of use.
// Re-using an old template re-numbers its revision instead of making a new one.
import { resourcePath, type KubeClient } from '../../client/index.js';
import { isAlreadyExists, isNotFound, ownerRefFor } from './control.js';
import { canonicalJSON, controllerRef, safeEncode, templateHash } from './pods.js';
import { R } from './resources.js';
import type { KubeObject, PodTemplateSpec } from './types.js';

export const REVISION_HASH_LABEL = 'controller-revision-hash';
/** The label upstream's controller history puts on a StatefulSet's revisions. */
export const HISTORY_HASH_LABEL = 'controller.kubernetes.io/hash';

export interface ControllerRevision extends KubeObject {
  data?: unknown;
  revision?: number;
}

/** The revision's data as upstream's getPatch makes it: the template as Go encodes it, whose
 *  metadata always carries `creationTimestamp: null`. */
export const revisionData = (template: PodTemplateSpec | undefined) => {
  const t = structuredClone(template ?? {});
  return {
    spec: { template: { ...t, metadata: { creationTimestamp: null, ...(t.metadata ?? {}) }, $patch: 'replace' } },
  };
};

/** What identifies a revision's template: its data without that `creationTimestamp: null`, so a
 *  revision written before the field was added is still the same template (no rollout). */
function dataKey(data: unknown): string {
  const t = (data as { spec?: { template?: { metadata?: Record<string, unknown> } } } | undefined)?.spec?.template;
  if (t?.metadata?.creationTimestamp !== null) return canonicalJSON(data);
  const { creationTimestamp: _c, ...metadata } = t.metadata;
  return canonicalJSON({ ...(data as object), spec: { template: { ...t, metadata } } });
}

/** Upstream's HashControllerRevision for data written as JSON: 32-bit FNV-1 (not 1a) over the
 *  bytes json.Marshal gives (keys sorted, <, >, & escaped) and the collision count, in the
 *  alphabet without vowels. StatefulSet revision names match kube-controller-manager's. */
export function revisionJSONHash(data: unknown, collisionCount = 0): string {
  const json = canonicalJSON(data)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  let h = 0x811c9dc5;
  for (const b of Buffer.from(json + String(collisionCount), 'utf8')) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return safeEncode(String(h >>> 0));
}

const num = (r: ControllerRevision) => (typeof r.revision === 'number' ? r.revision : 0);
export const byRevisionNumber = (a: ControllerRevision, b: ControllerRevision) =>
  num(a) - num(b) || ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1);

/** A revision name is taken by other data: the owner bumps status.collisionCount and retries. */
export class HashCollision extends Error {
  constructor(readonly revisionName: string) {
    super(`controller revision ${revisionName} exists with other data (hash collision)`);
  }
}

export interface HistoryOptions {
  client: KubeClient;
  owner: KubeObject;
  ownerApiVersion: string;
  ownerKind: string;
  /** Revisions the owner controls (from the informer). */
  revisions: ControllerRevision[];
  template: PodTemplateSpec | undefined;
  collisionCount?: number;
  /** Labels of the revision (the template's); the hash label is added. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** How the name's hash is made: 'template' (the DaemonSet's, like the pod-template-hash) or
   *  'json' (upstream's controller history, StatefulSets), and the label it goes in. */
  hash?: 'template' | 'json';
  hashLabel?: string;
}

/** The current revision (found, re-numbered, or created) and every revision after the change. */
export async function currentRevision(
  o: HistoryOptions,
): Promise<{ current: ControllerRevision; all: ControllerRevision[] }> {
  const data = revisionData(o.template);
  const key = dataKey(data);
  const all = [...o.revisions].sort(byRevisionNumber);
  const max = all.reduce((m, r) => Math.max(m, num(r)), 0);
  const same = all.filter((r) => dataKey(r.data) === key);
  const ns = o.owner.metadata.namespace;
  if (same.length) {
    const cur = same[same.length - 1];
    if (num(cur) === max) return { current: cur, all };
    const out = await o.client.request<ControllerRevision>(
      'PUT',
      resourcePath(R.controllerrevisions, ns, cur.metadata.name),
      { body: { ...cur, revision: max + 1 } },
    );
    return { current: out, all: all.map((r) => (r === cur ? out : r)) };
  }
  const hash = o.hash === 'json' ? revisionJSONHash(data, o.collisionCount) : templateHash(data, o.collisionCount);
  const prefix = (o.owner.metadata.name ?? '').slice(0, 223);
  const rev: ControllerRevision = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: `${prefix}-${hash}`,
      namespace: ns,
      labels: { ...(o.labels ?? {}), [o.hashLabel ?? REVISION_HASH_LABEL]: hash },
      ...(o.annotations && Object.keys(o.annotations).length ? { annotations: o.annotations } : {}),
      ownerReferences: [ownerRefFor(o.owner, o.ownerApiVersion, o.ownerKind)],
    },
    data,
    revision: max + 1,
  };
  try {
    const out = await o.client.request<ControllerRevision>('POST', resourcePath(R.controllerrevisions, ns), {
      body: rev,
    });
    return { current: out, all: [...all, out] };
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const live = await o.client.request<ControllerRevision>(
      'GET',
      resourcePath(R.controllerrevisions, ns, rev.metadata.name),
    );
    if (dataKey(live.data) === key && controllerRef(live)?.uid === o.owner.metadata.uid) {
      const out =
        num(live) === max + 1
          ? live
          : await o.client.request<ControllerRevision>(
              'PUT',
              resourcePath(R.controllerrevisions, ns, live.metadata.name),
              {
                body: { ...live, revision: max + 1 },
              },
            );
      return { current: out, all: [...all, out] };
    }
    throw new HashCollision(rev.metadata.name ?? '');
  }
}

/** Deletes the oldest revisions beyond `limit`, keeping the current one and those live pods use. */
export async function truncateHistory(
  client: KubeClient,
  all: ControllerRevision[],
  current: ControllerRevision,
  live: Set<string>,
  limit: number,
): Promise<void> {
  const old = all
    .filter(
      (r) =>
        r.metadata.name !== current.metadata.name &&
        !live.has(r.metadata.name ?? '') &&
        !live.has(r.metadata.labels?.[REVISION_HASH_LABEL] ?? ''),
    )
    .sort(byRevisionNumber);
  for (const r of old.slice(0, Math.max(0, old.length - limit))) {
    try {
      await client.request('DELETE', resourcePath(R.controllerrevisions, r.metadata.namespace, r.metadata.name));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
