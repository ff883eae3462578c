// Subresources: `status` (GET/PUT/PATCH touching only status), `scale` (autoscaling/v1 Scale view
// of the definition's replicas paths), namespaces' `finalize`, pods' `binding` and
// `ephemeralcontainers`.
import type { KubeObject } from '../../api/index.js';
import type { HandlerResult, RequestScope } from '../context.js';
import { getPath, setPath } from '../jsonpath.js';
import { applyJsonPatch } from '../patch/json.js';
import { applyMergePatch } from '../patch/merge.js';
import { decodeDocument, mediaType, readBody } from '../http.js';
import { isObject, mustRead } from '../rest.js';
import { formatLabelSelector } from '../selectors.js';
import { ApiError, errBadRequest, errMethodNotAllowed } from '../status.js';
import { handleGet } from './get.js';
import { handlePatch } from './patch.js';
import { handleUpdate } from './update.js';
import { writeUpdate } from './write.js';
import { decodeRequest } from './create.js';
import { handleBinding } from './binding.js';

export async function handleSubresource(r: RequestScope): Promise<HandlerResult> {
  const sub = r.info.subresource!;
  const verb = r.info.verb;
  if (sub === 'status' && r.def.subresources?.status) {
    if (verb === 'get') return handleGet(r);
    if (verb === 'update') return handleUpdate(r, 'status');
    if (verb === 'patch') return handlePatch(r, 'status');
    throw errMethodNotAllowed(`${verb} is not supported on ${r.def.plural}/status`);
  }
  if (sub === 'scale' && r.def.subresources?.scale) return scale(r);
  // A CertificateSigningRequest's approval conditions live in its status (kubectl certificate approve).
  if (sub === 'approval' && r.def.kind === 'CertificateSigningRequest' && r.def.group === 'certificates.k8s.io') {
    if (verb === 'get') return handleGet(r);
    if (verb === 'update') return handleUpdate(r, 'status');
    if (verb === 'patch') return handlePatch(r, 'status');
    throw errMethodNotAllowed(`${verb} is not supported on certificatesigningrequests/approval`);
  }
  if (sub === 'binding' && r.def.kind === 'Pod' && r.def.group === '') return handleBinding(r);
  // A Pod's ephemeral containers (kubectl debug): the Pod itself is read and written, and a write
  // changes spec.ephemeralContainers only (pipeline/update.ts; the pod strategy's rules).
  if (sub === 'ephemeralcontainers' && r.def.kind === 'Pod' && r.def.group === '') {
    if (verb === 'get') return handleGet(r);
    if (verb === 'update') return handleUpdate(r, 'ephemeralcontainers');
    if (verb === 'patch') return handlePatch(r, 'ephemeralcontainers');
    throw errMethodNotAllowed(`${verb} is not supported on pods/ephemeralcontainers`);
  }
  if (sub === 'finalize' && r.def.kind === 'Namespace' && r.def.group === '' && verb === 'update') return finalize(r);
  // A subresource not served is a route that does not exist, as upstream answers it (with
  // details: {} — kubectl debug reads a 404 without details as "ephemeral containers are disabled").
  throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

function toScale(r: RequestScope, obj: KubeObject): KubeObject {
  const sc = r.def.subresources!.scale!;
  const sel = sc.labelSelectorPath ? getPath(obj, sc.labelSelectorPath) : undefined;
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: Number(getPath(obj, sc.specReplicasPath) ?? 0) },
    status: {
      replicas: Number(getPath(obj, sc.statusReplicasPath) ?? 0),
      selector: typeof sel === 'string' ? sel : formatLabelSelector(sel ?? getPath(obj, '.spec.selector')),
    },
  };
}

async function scale(r: RequestScope): Promise<HandlerResult> {
  const sc = r.def.subresources!.scale!;
  for (let attempt = 0; ; attempt++) {
    const { obj, kv } = await mustRead(r);
    const cur = toScale(r, obj);
    if (r.info.verb === 'get') return { code: 200, body: cur };
    let next: unknown;
    if (r.info.verb === 'update') next = await decodeRequest(r);
    else if (r.info.verb === 'patch') {
      const type = mediaType(r.req);
      const body = decodeDocument(await readBody(r.req), 'json');
      if (type === 'application/json-patch+json') next = applyJsonPatch(cur, body);
      else if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json')
        next = applyMergePatch(cur, body);
      else throw new ApiError(415, 'UnsupportedMediaType', `unsupported patch type for scale: ${type}`);
    } else throw errMethodNotAllowed(`${r.info.verb} is not supported on ${r.def.plural}/scale`);
    const replicas = isObject(next) && isObject(next.spec) ? next.spec.replicas : undefined;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw new ApiError(
        422,
        'Invalid',
        `Scale.autoscaling "${obj.metadata.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        {
          name: obj.metadata.name,
          group: 'autoscaling',
          kind: 'Scale',
          causes: [
            {
              reason: 'FieldValueInvalid',
              field: 'spec.replicas',
              message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
            },
          ],
        },
      );
    }
    const rv = isObject(next) && isObject(next.metadata) ? next.metadata.resourceVersion : undefined;
    const updated = structuredClone(obj);
    setPath(updated as Record<string, unknown>, sc.specReplicasPath, replicas);
    if (rv) updated.metadata.resourceVersion = String(rv);
    try {
      const out = await writeUpdate(r, obj, kv, updated, { subresource: 'scale' });
      return { code: 200, body: toScale(r, out.obj) };
    } catch (e) {
      if (e instanceof ApiError && e.reason === 'Conflict' && !rv && attempt < 5) continue;
      throw e;
    }
  }
}

async function finalize(r: RequestScope): Promise<HandlerResult> {
  const body = await decodeRequest(r);
  if (!isObject(body)) throw errBadRequest('expected a Namespace object');
  const { obj, kv } = await mustRead(r);
  const finalizers =
    isObject(body.spec) && Array.isArray(body.spec.finalizers) ? (body.spec.finalizers as string[]) : [];
  const next = structuredClone(obj);
  next.spec = { ...((next.spec as object) ?? {}), finalizers };
  // (a terminating namespace whose last finalizer goes is deleted by this update)
  const out = await writeUpdate(r, obj, kv, next, { subresource: 'finalize', skipManaged: true });
  return { code: 200, body: out.obj };
}
