// PUT: full replacement with optimistic concurrency (409 Conflict on a stale resourceVersion).
import type { HandlerResult, RequestScope } from '../context.js';
import { checkBody, checkFields, readForUpdate } from '../rest.js';
import { decodeRequest } from './create.js';
import { ApiError } from '../status.js';
import { writeUpdate } from './write.js';

export async function handleUpdate(
  r: RequestScope,
  subresource?: 'status' | 'ephemeralcontainers',
): Promise<HandlerResult> {
  const body = checkBody(r, await decodeRequest(r));
  checkFields(r, body);
  // An update without a resourceVersion is unconditional: retried on a concurrent write.
  for (let attempt = 0; ; attempt++) {
    const next = structuredClone(body);
    // The first attempt starts from the store's recent copy (no read before the write when it has
    // the revision the client sent); a retry after a conflict reads afresh.
    const { obj: old, kv, recent } = await readForUpdate(r, body.metadata.resourceVersion, attempt > 0);
    if (next.metadata.name === undefined) next.metadata.name = old.metadata.name;
    try {
      const out = await writeUpdate(r, old, kv, next, { subresource, recent });
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
