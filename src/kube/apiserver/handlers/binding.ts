// pods/binding (POST): the scheduler's way to assign a pod to a node, as upstream's BindingREST.
// The pod gets spec.nodeName, the binding's annotations and PodScheduled=True; a pod that is
// being deleted, already assigned or still gated is refused with a 409 on pods/binding.
// Dry-run (`dryRun=All`) writes nothing.
import type { KubeObject } from '../../api/index.js';
import type { HandlerResult, RequestScope } from '../context.js';
import { decodeRequestBody } from './create.js';
import { isObject, readForUpdate, storeUpdate } from '../rest.js';
import { ApiError, errBadRequest, errConflict, errMethodNotAllowed } from '../status.js';

interface Condition {
  type: string;
  status: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  [k: string]: unknown;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export async function handleBinding(r: RequestScope): Promise<HandlerResult> {
  if (r.info.verb !== 'create') throw errMethodNotAllowed(`${r.info.verb} is not supported on pods/binding`);
  const body = await decodeRequestBody(r.req);
  if (!isObject(body)) throw errBadRequest('not a Binding object');
  const meta = isObject(body.metadata) ? body.metadata : {};
  const name = r.info.name!;
  if (meta.name !== name) throw errBadRequest('name in URL does not match name in Binding object');
  const target = isObject(body.target) ? body.target : {};
  const problems: string[] = [];
  if (target.kind !== undefined && target.kind !== '' && target.kind !== 'Node')
    problems.push(
      `target.kind: Unsupported value: ${JSON.stringify(target.kind)}: supported values: "Node", "<empty>"`,
    );
  if (typeof target.name !== 'string' || !target.name) problems.push('target.name: Required value');
  if (problems.length)
    throw new ApiError(
      500,
      'InternalError',
      `Internal error occurred: ${problems.length === 1 ? problems[0] : `[${problems.join(', ')}]`}`,
    );
  const node = String(target.name);
  const uid = typeof meta.uid === 'string' ? meta.uid : '';
  const annotations = isObject(meta.annotations) ? (meta.annotations as Record<string, string>) : {};
  const conflict = (why: string) => errConflict({ resource: 'pods/binding', name }, why);
  // The first attempt starts from the store's recent copy when it has one (no quorum read before
  // the write); a refusal or a conflict on such a copy is confirmed on a fresh read.
  let fresh = false;
  // The pod written is built here and dropped after: watchers may share it.
  r.shareWritten = true;
  for (let attempt = 0; ; attempt++) {
    // The shared decoded pod (often the object its create stored, without a parse): read-only,
    // so the binding's changes go into copies of the parts they touch.
    const { obj, kv, recent } = await readForUpdate(r, undefined, fresh, true);
    const spec = (obj.spec ?? {}) as { nodeName?: string; schedulingGates?: unknown[] };
    const refusal =
      uid && obj.metadata.uid !== uid
        ? errConflict(
            { resource: 'pods', name },
            `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${obj.metadata.uid ?? ''}`,
          )
        : obj.metadata.deletionTimestamp
          ? conflict(`pod ${name} is being deleted, cannot be assigned to a host`)
          : spec.nodeName
            ? conflict(`pod ${name} is already assigned to node ${JSON.stringify(spec.nodeName)}`)
            : spec.schedulingGates?.length
              ? conflict(`pod ${name} has non-empty .spec.schedulingGates`)
              : undefined;
    if (refusal && recent) {
      fresh = true;
      continue;
    }
    if (refusal) throw refusal;
    const status = (obj.status ?? {}) as { conditions?: Condition[] };
    let conds = status.conditions ?? [];
    const i = conds.findIndex((c) => c.type === 'PodScheduled');
    const scheduled: Condition = { type: 'PodScheduled', status: 'True', lastTransitionTime: now() };
    if (i < 0) conds = [...conds, scheduled];
    else if (conds[i].status !== 'True') conds = conds.map((c, j) => (j === i ? scheduled : c));
    const next: KubeObject = {
      ...obj,
      metadata: Object.keys(annotations).length
        ? { ...obj.metadata, annotations: { ...(obj.metadata.annotations ?? {}), ...annotations } }
        : obj.metadata,
      spec: { ...spec, nodeName: node },
      status: { ...status, conditions: conds },
    };
    try {
      // As upstream's GuaranteedUpdate on the pod: a direct conditional write of the mutation (no
      // pod validation, defaulting, admission or managedFields: the binding is what was admitted).
      await storeUpdate(r, next, kv.modRevision);
      return {
        code: 201,
        body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 },
      };
    } catch (e) {
      if (e instanceof ApiError && e.reason === 'Conflict' && attempt < 5) {
        fresh = true;
        continue;
      }
      throw e;
    }
  }
}
