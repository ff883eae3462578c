// The built-in local-path provisioner (k3s ships rancher's): a default StorageClass `local-path`
// (WaitForFirstConsumer, reclaim Delete) and, for each claim of that class whose consumer pod is
// on this node (`volume.kubernetes.io/selected-node`), a hostPath PersistentVolume under
// `<storage dir>/pvc-<uid>_<namespace>_<name>` with node affinity to this node, bound to the claim
// (no separate binder runs). A released volume is deleted with its directory (reclaim Delete) or
// marked Released (Retain).
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Logger } from '../../../common/index.js';
import { Informer, WorkQueue, type KubeClient } from '../../client/index.js';
import type { KubeObject } from '../../api/index.js';

export const PROVISIONER = 'rancher.io/local-path';
export const CLASS = 'local-path';
export const SELECTED_NODE = 'volume.kubernetes.io/selected-node';

interface Claim extends KubeObject {
  metadata: KubeObject['metadata'] & { name: string; namespace: string; uid: string };
  spec?: {
    storageClassName?: string;
    volumeName?: string;
    accessModes?: string[];
    resources?: { requests?: { storage?: string } };
  };
  status?: { phase?: string };
}
interface Volume extends KubeObject {
  metadata: KubeObject['metadata'] & { name: string };
  spec?: {
    claimRef?: { namespace?: string; name?: string; uid?: string };
    persistentVolumeReclaimPolicy?: string;
    hostPath?: { path: string };
    storageClassName?: string;
  };
  status?: { phase?: string };
}

export class LocalPathProvisioner {
  private claims?: Informer<Claim>;
  private volumes?: Informer<Volume>;
  private queue = new WorkQueue<string>();

  constructor(
    private client: KubeClient,
    private node: string,
    private storageDir: string,
    private log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.ensureClass();
    mkdirSync(this.storageDir, { recursive: true, mode: 0o755 });
    const q = (o: { metadata: { namespace?: string; name?: string } }, kind: string) =>
      this.queue.add(`${kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    this.claims = new Informer<Claim>(
      this.client,
      { group: '', version: 'v1', resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', namespaced: true },
      { add: (o) => q(o, 'pvc'), update: (_, o) => q(o, 'pvc'), delete: (o) => this.releaseFor(o) },
      { log: this.log },
    );
    this.volumes = new Informer<Volume>(
      this.client,
      { group: '', version: 'v1', resource: 'persistentvolumes', kind: 'PersistentVolume', namespaced: false },
      { add: (o) => q(o, 'pv'), update: (_, o) => q(o, 'pv'), delete: (o) => this.removeDir(o) },
      { log: this.log },
    );
    await Promise.all([this.claims.start(), this.volumes.start()]);
    this.queue.run(
      (k) => this.sync(k),
      2,
      (k, e) => this.log.warn('local-path sync failed', { key: k, error: String(e) }),
    );
  }

  stop(): void {
    this.queue.stop();
    this.claims?.stop();
    this.volumes?.stop();
  }

  private async ensureClass(): Promise<void> {
    try {
      await this.client.request('POST', '/apis/storage.k8s.io/v1/storageclasses', {
        body: {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
          provisioner: PROVISIONER,
          reclaimPolicy: 'Delete',
          volumeBindingMode: 'WaitForFirstConsumer',
        },
      });
    } catch (e) {
      if ((e as { code?: string }).code !== 'AlreadyExists') throw e;
    }
  }

  /** The directory a volume of this provisioner uses (always under the storage dir). */
  pathFor(c: Claim): string {
    return join(this.storageDir, `pvc-${c.metadata.uid}_${c.metadata.namespace}_${c.metadata.name}`);
  }

  private releaseFor(c: Claim): void {
    for (const v of this.volumes?.list() ?? [])
      if (v.spec?.claimRef?.uid === c.metadata.uid) this.queue.add(`pv//${v.metadata.name}`);
  }

  private async sync(key: string): Promise<void> {
    const [kind, ns, name] = key.split('/');
    if (kind === 'pvc') return this.provision(this.claims?.get(`${ns}/${name}`));
    return this.reclaim(this.volumes?.get(name));
  }

  private ours(c: Claim): boolean {
    const cls = c.spec?.storageClassName;
    return (cls === undefined || cls === CLASS) && c.metadata.annotations?.[SELECTED_NODE] === this.node;
  }

  private async provision(c: Claim | undefined): Promise<void> {
    if (!c || c.spec?.volumeName || c.metadata.deletionTimestamp || !this.ours(c)) return;
    const pvName = `pvc-${c.metadata.uid}`;
    const path = this.pathFor(c);
    mkdirSync(path, { recursive: true, mode: 0o777 });
    const storage = c.spec?.resources?.requests?.storage ?? '1Gi';
    const accessModes = c.spec?.accessModes?.length ? c.spec.accessModes : ['ReadWriteOnce'];
    try {
      await this.client.request('POST', '/api/v1/persistentvolumes', {
        body: {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: {
            name: pvName,
            annotations: {
              'pv.kubernetes.io/provisioned-by': PROVISIONER,
              'local.path.provisioner/selected-node': this.node,
            },
          },
          spec: {
            capacity: { storage },
            accessModes,
            persistentVolumeReclaimPolicy: 'Delete',
            storageClassName: CLASS,
            volumeMode: 'Filesystem',
            hostPath: { path, type: 'DirectoryOrCreate' },
            nodeAffinity: {
              required: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [this.node] }] },
                ],
              },
            },
            claimRef: {
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              namespace: c.metadata.namespace,
              name: c.metadata.name,
              uid: c.metadata.uid,
            },
          },
        },
      });
    } catch (e) {
      if ((e as { code?: string }).code !== 'AlreadyExists') throw e;
    }
    await this.client.request('PATCH', `/api/v1/persistentvolumes/${pvName}/status`, {
      body: { status: { phase: 'Bound' } },
      contentType: 'application/merge-patch+json',
    });
    const claimPath = `/api/v1/namespaces/${encodeURIComponent(c.metadata.namespace)}/persistentvolumeclaims/${encodeURIComponent(c.metadata.name)}`;
    await this.client.request('PATCH', claimPath, {
      body: {
        metadata: {
          annotations: {
            'pv.kubernetes.io/bind-completed': 'yes',
            'pv.kubernetes.io/bound-by-controller': 'yes',
            'volume.kubernetes.io/storage-provisioner': PROVISIONER,
          },
        },
        spec: { volumeName: pvName },
      },
      contentType: 'application/merge-patch+json',
    });
    await this.client.request('PATCH', `${claimPath}/status`, {
      body: { status: { phase: 'Bound', accessModes, capacity: { storage } } },
      contentType: 'application/merge-patch+json',
    });
    this.log.info('provisioned volume', { claim: `${c.metadata.namespace}/${c.metadata.name}`, volume: pvName, path });
  }

  /** Removes a deleted (or reclaimed) volume's directory: only one this provisioner made here. */
  private removeDir(v: Volume): void {
    if (v.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] !== PROVISIONER) return;
    if (v.metadata.annotations?.['local.path.provisioner/selected-node'] !== this.node) return;
    const path = v.spec?.hostPath?.path;
    if (path && resolve(path).startsWith(resolve(this.storageDir) + sep))
      rmSync(path, { recursive: true, force: true });
  }

  private async reclaim(v: Volume | undefined): Promise<void> {
    if (!v || v.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] !== PROVISIONER) return;
    if (v.metadata.annotations?.['local.path.provisioner/selected-node'] !== this.node) return;
    const ref = v.spec?.claimRef;
    const claim = ref ? this.claims?.get(`${ref.namespace}/${ref.name}`) : undefined;
    if (claim && claim.metadata.uid === ref?.uid) return;
    if (v.spec?.persistentVolumeReclaimPolicy === 'Retain') {
      if (v.status?.phase !== 'Released')
        await this.client.request('PATCH', `/api/v1/persistentvolumes/${v.metadata.name}/status`, {
          body: { status: { phase: 'Released' } },
          contentType: 'application/merge-patch+json',
        });
      return;
    }
    const path = v.spec?.hostPath?.path;
    if (path && resolve(path).startsWith(resolve(this.storageDir) + sep))
      rmSync(path, { recursive: true, force: true });
    try {
      await this.client.request('DELETE', `/api/v1/persistentvolumes/${v.metadata.name}`);
    } catch (e) {
      if ((e as { code?: string }).code !== 'NotFound') throw e;
    }
    this.log.info('deleted released volume', { volume: v.metadata.name });
  }
}
