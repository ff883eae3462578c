// POST: create with generateName, system metadata, defaulting, validation, the namespace check,
// managedFields for the creating manager, and dry-run.
import type { KubeObject } from '../../api/index.js';
import type { HandlerResult, RequestScope } from '../context.js';
import { decodeDocument, mediaType, readBody } from '../http.js';
import { decodeProtobuf } from '../protobuf.js';
import { generateNameSuffix, initSystemMeta } from '../meta.js';
import { recordUpdate } from '../patch/apply.js';
import {
  admitObject,
  checkBody,
  checkFields,
  checkNamespace,
  dryRun,
  refuseResourceVersion,
  schemaCtx,
  storeCreate,
} from '../rest.js';
import { ApiError, errBadRequest } from '../status.js';
import { managerName } from './write.js';
import { isService } from '../service-ips.js';

export function decodeRequest(r: RequestScope): Promise<unknown> {
  return decodeRequestBody(r.req);
}

/** A request body as JSON: JSON, YAML or kubectl's protobuf (bounded; 413/415/400 on bad input). */
export async function decodeRequestBody(req: import('node:http').IncomingMessage): Promise<unknown> {
  const r = { req };
  const type = mediaType(r.req);
  if (type === 'application/vnd.kubernetes.protobuf') return decodeProtobuf(await readBody(r.req));
  if (!['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml'].includes(type)) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
    );
  }
  return decodeDocument(await readBody(r.req), type);
}

export async function handleCreate(r: RequestScope): Promise<HandlerResult> {
  if (r.info.name !== undefined && !r.info.subresource)
    throw errBadRequest('create: a name is not allowed in the URL of a create (POST) request');
  const obj = checkBody(r, await decodeRequest(r));
  checkFields(r, obj);
  const created = await createObject(r, obj);
  return { code: 201, body: created };
}

export async function createObject(
  r: RequestScope,
  obj: KubeObject,
  managed?: KubeObject['metadata']['managedFields'],
): Promise<KubeObject> {
  const def = r.def;
  refuseResourceVersion(obj);
  if (def.namespaced) {
    const ns = r.info.namespace;
    if (obj.metadata.namespace && ns && obj.metadata.namespace !== ns) {
      throw errBadRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata.namespace = ns ?? obj.metadata.namespace;
  } else delete obj.metadata.namespace;
  if (!obj.metadata.name && typeof obj.metadata.generateName === 'string' && obj.metadata.generateName) {
    obj.metadata.name = obj.metadata.generateName + generateNameSuffix();
  }
  r.target.name = obj.metadata.name;
  initSystemMeta(obj, def);
  // Status is the server's or the controller's to set, except where upstream keeps it on create:
  // Namespaces (phase) and Nodes (a kubelet registers its node with capacity and conditions).
  if (def.subresources?.status && def.kind !== 'Namespace' && !(def.group === '' && def.kind === 'Node'))
    delete obj.status;
  delete obj.metadata.managedFields;
  admitObject(r, obj);
  if (def.namespaced) await checkNamespace(r, obj.metadata.namespace!);
  for (const a of r.ctx.admission) await a('create', def, obj, undefined, r.user);
  if (managed) obj.metadata.managedFields = managed;
  else recordUpdate(def, schemaCtx(def), undefined, obj, { manager: managerName(r), apiVersion: obj.apiVersion! });
  const alloc = isService(def) ? await r.ctx.services?.allocate(obj, undefined, dryRun(r)) : undefined;
  try {
    return await storeCreate(r, obj);
  } catch (e) {
    await alloc?.undo();
    throw e;
  }
}
