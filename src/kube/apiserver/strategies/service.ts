// Services: cluster IPs and node ports are claimed (service-ips.ts) after validation and before
// the store write, undone when the write fails; on update, what the old Service held and the new
// one does not is released once the write succeeded. Dry-run claims nothing.
import type { Claim, Strategy, WriteContext } from '../pipeline/strategy.js';
import type { KubeObject } from '../../api/index.js';

async function claim(obj: KubeObject, old: KubeObject | undefined, w: WriteContext): Promise<Claim | undefined> {
  const services = w.r.ctx.services;
  if (!services || w.subresource !== '') return undefined;
  const alloc = await services.allocate(obj, old, w.dryRun);
  return {
    undo: () => alloc.undo(),
    async commit() {
      if (!w.dryRun) for (const k of alloc.released) await services.release(k, old?.metadata.uid ?? '');
    },
  };
}

export const serviceStrategy: Strategy = {
  beginCreate: (obj, w) => claim(obj, undefined, w),
  beginUpdate: (obj, old, w) => claim(obj, old, w),
};
