// StorageObjectInUseProtection (upstream's default plugin): a new PersistentVolumeClaim gets the
// kubernetes.io/pvc-protection finalizer and a new PersistentVolume kubernetes.io/pv-protection,
// so neither goes while in use; the storage-protection controller removes them once unused.
import type { AdmissionPlugin } from './types.js';
import { isResource } from './types.js';

export const storageObjectInUseProtection: AdmissionPlugin = {
  name: 'StorageObjectInUseProtection',
  async admit(a) {
    if (a.operation !== 'CREATE' || !a.object) return;
    const finalizer = isResource(a, '', 'persistentvolumeclaims')
      ? 'kubernetes.io/pvc-protection'
      : isResource(a, '', 'persistentvolumes')
        ? 'kubernetes.io/pv-protection'
        : undefined;
    if (!finalizer) return;
    const m = a.object.metadata;
    if (!(m.finalizers ?? []).includes(finalizer)) m.finalizers = [...(m.finalizers ?? []), finalizer];
  },
};
