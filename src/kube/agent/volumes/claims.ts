// persistentVolumeClaim volumes from the agent's side: the claim must exist and be bound; the bound
// PV's hostPath (or local) directory is what the container mounts. A claim of a
// WaitForFirstConsumer class that has no node yet is given this node (the scheduler's
// volume-binding step, for pods bound with spec.nodeName), so the provisioner can make its volume.
import type { KubeClient } from '../../client/index.js';
import type { Pod } from '../types.js';
import { checkHostPath } from './host-path.js';
import { SELECTED_NODE } from './local-path.js';
import type { ClaimSource } from './manager.js';
import { MountError } from './projection.js';
import { isSkiffError } from '../../../common/index.js';

interface ClaimObj {
  metadata: { annotations?: Record<string, string>; deletionTimestamp?: string };
  spec?: { volumeName?: string; storageClassName?: string };
  status?: { phase?: string };
}
interface PvObj {
  spec?: { hostPath?: { path: string; type?: string }; local?: { path: string } };
}
interface ClassObj {
  metadata: { name: string; annotations?: Record<string, string> };
  volumeBindingMode?: string;
}

export class ApiClaims implements ClaimSource {
  constructor(
    private client: KubeClient,
    private node: string,
  ) {}

  private async get<T>(path: string): Promise<T | undefined> {
    try {
      return await this.client.request<T>('GET', path);
    } catch (e) {
      if (isSkiffError(e, 'NotFound')) return undefined;
      throw e;
    }
  }

  private async waitsForConsumer(className: string | undefined): Promise<boolean> {
    if (className === undefined) {
      const list = await this.client.request<{ items: ClassObj[] }>('GET', '/apis/storage.k8s.io/v1/storageclasses');
      const dflt = list.items.find(
        (c) => c.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
      );
      return dflt?.volumeBindingMode === 'WaitForFirstConsumer';
    }
    const sc = await this.get<ClassObj>(`/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(className)}`);
    return sc?.volumeBindingMode === 'WaitForFirstConsumer';
  }

  async claimPath(pod: Pod, claimName: string): Promise<string> {
    const ns = pod.metadata.namespace;
    const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/persistentvolumeclaims/${encodeURIComponent(claimName)}`;
    const pvc = await this.get<ClaimObj>(path);
    if (!pvc) throw new MountError(`persistentvolumeclaim "${claimName}" not found`);
    if (pvc.metadata.deletionTimestamp) throw new MountError(`persistentvolumeclaim "${claimName}" is being deleted`);
    const pvName = pvc.spec?.volumeName;
    if (!pvName || pvc.status?.phase !== 'Bound') {
      if (!pvc.metadata.annotations?.[SELECTED_NODE] && (await this.waitsForConsumer(pvc.spec?.storageClassName)))
        await this.client.request('PATCH', path, {
          body: { metadata: { annotations: { [SELECTED_NODE]: this.node } } },
          contentType: 'application/merge-patch+json',
        });
      throw new MountError(`persistentvolumeclaim "${claimName}" is not bound`);
    }
    const pv = await this.get<PvObj>(`/api/v1/persistentvolumes/${encodeURIComponent(pvName)}`);
    if (!pv) throw new MountError(`persistentvolume "${pvName}" not found`);
    if (pv.spec?.hostPath) {
      checkHostPath(pv.spec.hostPath.path, pv.spec.hostPath.type ?? '');
      return pv.spec.hostPath.path;
    }
    if (pv.spec?.local) {
      checkHostPath(pv.spec.local.path, 'Directory');
      return pv.spec.local.path;
    }
    throw new MountError(
      `persistentvolume "${pvName}" has no hostPath or local source (the only kinds this node mounts)`,
    );
  }
}
