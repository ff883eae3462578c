// PUT: full replacement with optimistic concurrency (409 Conflict on a stale resourceVersion).
import type { HandlerResult, RequestScope } from '../context.js';
import { checkBody, checkFields, mustRead } from '../rest.js';
import { decodeRequest } from './create.js';
import { writeUpdate } from './write.js';

export async function handleUpdate(r: RequestScope, subresource?: 'status'): Promise<HandlerResult> {
  const next = checkBody(r, await decodeRequest(r));
  checkFields(r, next);
  const { obj: old, kv } = await mustRead(r);
  if (next.metadata.name === undefined) next.metadata.name = old.metadata.name;
  const out = await writeUpdate(r, old, kv, next, { subresource });
  return { code: 200, body: out.obj };
}
