// DefaultStorageClass (upstream's plugin): a new PersistentVolumeClaim that names no storage
// class (neither spec.storageClassName — "" counts as a choice — nor the beta annotation) gets
// the default StorageClass (annotated storageclass.kubernetes.io/is-default-class: "true"; the
// newest when several are, by name on a tie). Without a default the claim is left alone.
import type { KubeObject } from '../../api/index.js';
import type { AdmissionPlugin } from './types.js';
import { isResource } from './types.js';

const DEFAULT_ANNOTATIONS = [
  'storageclass.kubernetes.io/is-default-class',
  'storageclass.beta.kubernetes.io/is-default-class',
];
const BETA_CLASS = 'volume.beta.kubernetes.io/storage-class';

export function defaultClass(classes: KubeObject[]): KubeObject | undefined {
  const defaults = classes.filter((c) => DEFAULT_ANNOTATIONS.some((k) => c.metadata.annotations?.[k] === 'true'));
  defaults.sort((x, y) => {
    const tx = Date.parse(x.metadata.creationTimestamp ?? '') || 0;
    const ty = Date.parse(y.metadata.creationTimestamp ?? '') || 0;
    if (tx !== ty) return ty - tx;
    return (x.metadata.name ?? '') < (y.metadata.name ?? '') ? -1 : 1;
  });
  return defaults[0];
}

export const defaultStorageClass: AdmissionPlugin = {
  name: 'DefaultStorageClass',
  async admit(a) {
    if (a.operation !== 'CREATE' || !isResource(a, '', 'persistentvolumeclaims') || !a.object) return;
    const pvc = a.object;
    const spec = (pvc.spec ?? {}) as { storageClassName?: string | null };
    if (typeof spec.storageClassName === 'string' || pvc.metadata.annotations?.[BETA_CLASS] !== undefined) return;
    const d = defaultClass(await a.reader.list('storage.k8s.io', 'storageclasses'));
    if (d) pvc.spec = { ...spec, storageClassName: d.metadata.name };
  },
};
