// GET of one object (or one of its status/scale views): JSON, or a one-row Table.
import type { HandlerResult, RequestScope } from '../context.js';
import { wantsPartialMetadata, wantsTable } from '../http.js';
import { mustRead } from '../rest.js';
import { parseIncludeObject, partialShapeError, toPartialMetadata, toTable } from '../table.js';

export async function handleGet(r: RequestScope): Promise<HandlerResult> {
  const { obj } = await mustRead(r);
  const tv = wantsTable(r.req);
  if (tv)
    return {
      code: 200,
      body: toTable(r.def, [obj], {
        include: parseIncludeObject(r.query.get('includeObject')),
        version: tv,
        resourceVersion: obj.metadata.resourceVersion,
      }),
    };
  const partial = wantsPartialMetadata(r.req);
  if (partial) {
    if (partial.list) throw partialShapeError(r.def, 'list');
    return { code: 200, body: toPartialMetadata(obj, partial.version) };
  }
  return { code: 200, body: obj };
}
