// PUT: full replacement with optimistic concurrency (409 Conflict on a stale resourceVersion).
import type { HandlerResult, RequestScope } from '../context.js';
import { checkBody, checkFields, readForUpdate } from '../rest.js';
import { decodeRequest } from './create.js';
import { ApiError, errMethodNotServed } from '../status.js';
import { writeUpdate } from './write.js';

export async function handleUpdate(
  r: RequestScope,
  subresource?: 'status' | 'ephemeralcontainers',
): Promise<HandlerResult> {
  if (r.info.name === undefined) throw errMethodNotServed();
  const body = checkBody(r, await decodeRequest(r));
  checkFields(r, body);
  // The object written goes only into the answer: watchers of this kind may share it, and the
  // answer is its stored JSON text (as a create's).
  r.shareWritten = true;
  // An update without a resourceVersion is unconditional: retried on a concurrent write. One with
  // a resourceVersion is tried once, so its first attempt may consume the decoded body itself.
  const once = Boolean(body.metadata.resourceVersion);
  for (let attempt = 0; ; attempt++) {
    const next = once ? body : structuredClone(body);
    // The first attempt starts from the store's recent copy (no read before the write when it has
    // the revision the client sent); a retry after a conflict reads afresh. The base is the shared
    // decoded object of that revision (the last write's own object, no parse): the update rules
    // only read it (checked by running the API suites with it deep-frozen).
    const { obj: old, kv, recent } = await readForUpdate(r, body.metadata.resourceVersion, attempt > 0, true);
    if (next.metadata.name === undefined) next.metadata.name = old.metadata.name;
    try {
      const out = await writeUpdate(r, old, kv, next, { subresource, recent });
      const raw = r.ctx.registry.storedBytes(r.def, out.obj);
      return raw === undefined ? { code: 200, body: out.obj } : { code: 200, body: raw, raw: true };
    } catch (e) {
      if (e instanceof ApiError && e.reason === 'Conflict' && !e.details?.causes && !once && attempt < 10) continue;
      throw e;
    }
  }
}
