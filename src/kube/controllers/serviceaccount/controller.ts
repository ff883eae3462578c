// ServiceAccount controller (upstream's serviceaccounts-controller): every active namespace has a
// ServiceAccount named `default`; one deleted is made again. Namespace and ServiceAccount events
// enqueue the namespace; sync(namespace) creates what is missing.
import { resourcePath } from '../../client/index.js';
import { isAlreadyExists, isNotFound } from '../shared/control.js';
import { Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { R } from '../shared/resources.js';
import type { KubeObject } from '../shared/types.js';
import { isSkiffError } from '../../../common/index.js';

export interface ServiceAccountControllerOptions {
  /** Accounts every namespace gets (default ['default']). */
  names?: string[];
}

export function startServiceAccountController(
  ctx: ControllerContext,
  opts: ServiceAccountControllerOptions = {},
): Controller {
  const log = ctx.log.child({ controller: 'serviceaccount' });
  const names = opts.names ?? ['default'];
  const nsInf = ctx.informers.for(R.namespaces);
  const saInf = ctx.informers.for(R.serviceaccounts);
  const loop = new Loop({ ...ctx, log }, { name: 'serviceaccount', sync });

  nsInf.addHandlers({
    add: (n) => loop.add(n.metadata.name ?? ''),
    update: (_o, n) => loop.add(n.metadata.name ?? ''),
  });
  saInf.addHandlers({
    delete: (sa) => {
      if (names.includes(sa.metadata.name ?? '')) loop.add(sa.metadata.namespace ?? '');
    },
  });

  async function sync(ns: string): Promise<void> {
    const n = nsInf.get(undefined, ns);
    if (!n || n.metadata.deletionTimestamp || (n.status as { phase?: string } | undefined)?.phase === 'Terminating')
      return;
    for (const name of names) {
      if (saInf.get(ns, name)) continue;
      const sa: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } };
      try {
        await ctx.client.request('POST', resourcePath(R.serviceaccounts, ns), { body: sa });
      } catch (e) {
        // Already there (the cache lags), or the namespace went away / is terminating.
        if (isAlreadyExists(e) || isNotFound(e) || isSkiffError(e, 'FailedPrecondition')) continue;
        throw e;
      }
    }
  }

  return { name: 'serviceaccount', run: () => loop.run(), stop: () => loop.stop() };
}
