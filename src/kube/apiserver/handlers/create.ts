// POST: decodes and checks the body (JSON, YAML or kubectl's protobuf; kind, apiVersion, unknown
// fields), then runs the create pipeline (pipeline/create.ts).
import type { KubeObject } from '../../api/index.js';
import type { HandlerResult, RequestScope } from '../context.js';
import { decodeDocument, mediaType, readBody } from '../http.js';
import { decodeProtobuf } from '../protobuf.js';
import { checkBody, checkFields } from '../rest.js';
import { ApiError, errMethodNotServed } from '../status.js';
import { createObject as runCreate } from '../pipeline/create.js';
import { parseJsonBody } from '../decode-errors.js';

/** The body of a POST or PUT of `r`'s kind; JSON refused in the decoder's words when unparsable. */
export async function decodeRequest(r: RequestScope): Promise<unknown> {
  if (mediaType(r.req) !== 'application/json') return decodeRequestBody(r.req);
  return parseJsonBody(r.def, await readBody(r.req));
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
  if (r.info.name !== undefined && !r.info.subresource) throw errMethodNotServed();
  const obj = checkBody(r, await decodeRequest(r));
  checkFields(r, obj);
  // The created object only goes into the answer: watchers of this kind may share it.
  r.shareWritten = true;
  const created = await createObject(r, obj);
  // The answer is the stored JSON when it is canonical (no second serialisation).
  const raw = r.ctx.registry.storedBytes(r.def, created);
  return raw === undefined ? { code: 201, body: created } : { code: 201, body: raw, raw: true };
}

/** Creates `obj` through the create pipeline (pipeline/create.ts); `managed` replaces the Update
 *  managedFields entry this request would record (server-side apply records its Apply entry). */
export function createObject(
  r: RequestScope,
  obj: KubeObject,
  managed?: KubeObject['metadata']['managedFields'],
): Promise<KubeObject> {
  return runCreate(r, obj, { managed });
}
