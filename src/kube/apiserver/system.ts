// The server's own writes (bootstrap policy, ...) go through the same pipeline as a client's:
// defaulting, validation, admission and the store, as upstream's bootstrap controllers write
// through the API. A system scope stands in for the HTTP request.
import type { KubeObject, ResourceDefinition } from '../api/index.js';
import type { ApiContext, OperationScope, UserInfo } from './context.js';
import { createObject } from './pipeline/create.js';
import { isAlreadyExists } from './status.js';

/** The identity the server's own writes run as. */
export const APISERVER_USER: UserInfo = { username: 'system:apiserver', groups: ['system:masters'] };

export function systemScope(ctx: ApiContext, def: ResourceDefinition, namespace?: string): OperationScope {
  return {
    ctx,
    def,
    req: { headers: { 'user-agent': 'skiff-apiserver' } },
    query: new URLSearchParams(),
    info: {
      kind: 'resource',
      verb: 'create',
      group: def.group,
      version: def.version,
      namespace,
      resource: def.plural,
      path: '',
    },
    target: { resource: def.plural, group: def.group },
    warnings: [],
    user: APISERVER_USER,
  };
}

/** Creates `obj` unless it exists (another server may create it at the same moment). */
export async function createIfMissing(ctx: ApiContext, def: ResourceDefinition, obj: KubeObject): Promise<boolean> {
  try {
    await createObject(systemScope(ctx, def, obj.metadata.namespace), structuredClone(obj));
    return true;
  } catch (e) {
    if (isAlreadyExists(e)) return false;
    throw e;
  }
}
