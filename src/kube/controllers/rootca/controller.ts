// Root CA publisher (upstream's root-ca-cert-publisher): every active namespace has a ConfigMap
// `kube-root-ca.crt` whose `ca.crt` is the cluster CA, so pods can verify the API server at
// kubernetes.default.svc. Edits are undone, deletes re-created.
import { resourcePath } from '../../client/index.js';
import { isAlreadyExists, isNotFound } from '../shared/control.js';
import { Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { R } from '../shared/resources.js';
import type { KubeObject } from '../shared/types.js';
import { isSkiffError } from '../../../common/index.js';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export function startRootCAPublisher(ctx: ControllerContext, opts: { caPem: string }): Controller {
  const log = ctx.log.child({ controller: 'root-ca-cert-publisher' });
  const nsInf = ctx.informers.for(R.namespaces);
  const cmInf = ctx.informers.for<ConfigMap>(R.configmaps, { fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}` });
  const loop = new Loop({ ...ctx, log }, { name: 'root-ca-cert-publisher', sync });
  const enqueueCm = (cm: ConfigMap) => loop.add(cm.metadata.namespace ?? '');

  nsInf.addHandlers({
    add: (n) => loop.add(n.metadata.name ?? ''),
    update: (_o, n) => loop.add(n.metadata.name ?? ''),
  });
  cmInf.addHandlers({ update: (_o, cm) => enqueueCm(cm), delete: enqueueCm });

  async function sync(ns: string): Promise<void> {
    const n = nsInf.get(undefined, ns);
    if (!n || n.metadata.deletionTimestamp || (n.status as { phase?: string } | undefined)?.phase === 'Terminating')
      return;
    const cm = cmInf.get(ns, ROOT_CA_CONFIGMAP);
    const data = { 'ca.crt': opts.caPem };
    try {
      if (!cm) {
        await ctx.client.request('POST', resourcePath(R.configmaps, ns), {
          body: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: ROOT_CA_CONFIGMAP,
              namespace: ns,
              annotations: { 'kubernetes.io/description': DESCRIPTION },
            },
            data,
          },
        });
        return;
      }
      const same =
        JSON.stringify(cm.data ?? {}) === JSON.stringify(data) &&
        cm.metadata.annotations?.['kubernetes.io/description'] === DESCRIPTION;
      if (same) return;
      const next = structuredClone(cm);
      next.data = data;
      next.metadata.annotations = { ...(next.metadata.annotations ?? {}), 'kubernetes.io/description': DESCRIPTION };
      delete (next as { binaryData?: unknown }).binaryData;
      await ctx.client.request('PUT', resourcePath(R.configmaps, ns, ROOT_CA_CONFIGMAP), { body: next });
    } catch (e) {
      if (isAlreadyExists(e) || isNotFound(e) || isSkiffError(e, 'FailedPrecondition')) return;
      throw e;
    }
  }

  return { name: 'root-ca-cert-publisher', run: () => loop.run(), stop: () => loop.stop() };
}
