// PUT: full replacement with optimistic concurrency (409 Conflict on a stale resourceVersion).
import type { HandlerResult, RequestScope } from '../context.js';
import { checkBody, checkFields, mustRead } from '../rest.js';
import { decodeRequest } from './create.js';
import { ApiError } from '../status.js';
import { writeUpdate } from './write.js';

export async function handleUpdate(r: RequestScope, subresource?: 'status'): Promise<HandlerResult> {
  const body = checkBody(r, await decodeRequest(r));
  checkFields(r, body);
  // An update without a resourceVersion is unconditional: retried on a concurrent write.
  for (let attempt = 0; ; attempt++) {
    const next = structuredClone(body);
    const { obj: old, kv } = await mustRead(r);
    if (next.metadata.name === undefined) next.metadata.name = old.metadata.name;
    try {
      const out = await writeUpdate(r, old, kv, next, { subresource });
      return { code: 200, body: out.obj };
    } catch (e) {
      if (
        e instanceof ApiError &&
        e.reason === 'Conflict' &&
        !e.details?.causes &&
        !body.metadata.resourceVersion &&
        attempt < 10
      )
        continue;
      throw e;
    }
  }
}
