// ServiceAccount (upstream's plugin): a new Pod runs as a ServiceAccount that must exist —
// `default` when none is named (looked up again for a second or so, since the controller creates
// it just after the namespace) — takes the account's imagePullSecrets when it has none, and,
// unless automountServiceAccountToken is false (on the pod, else on the account), gets the
// projected token volume `kube-api-access-xxxxx` (a bound token that expires after 3607 s, the
// cluster CA from the kube-root-ca.crt ConfigMap, the namespace through the downward API)
// mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container and
// init container that has nothing mounted there. Mirror pods (static pods' API copies) may not
// reference service accounts, secrets or token projections.
import type { KubeObject } from '../../api/index.js';
import { generateNameSuffix } from '../meta.js';
import { errForbidden } from '../status.js';
import type { AdmissionAttributes, AdmissionPlugin } from './types.js';
import { isResource } from './types.js';
import { sleep } from '../../../common/index.js';

export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const VOLUME_PREFIX = 'kube-api-access-';
/** Upstream's WarnOnlyBoundTokenExpirationSeconds: a little over an hour, so tokens older than an
 *  hour can be told apart while they are still accepted. */
export const TOKEN_EXPIRATION_SECONDS = 3607;
const MIRROR = 'kubernetes.io/config.mirror';

interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface Container {
  volumeMounts?: Mount[];
  env?: { valueFrom?: { secretKeyRef?: unknown } }[];
  envFrom?: { secretRef?: unknown }[];
}
interface PodSpec {
  serviceAccountName?: string;
  serviceAccount?: string;
  automountServiceAccountToken?: boolean;
  imagePullSecrets?: { name?: string }[];
  volumes?: { name: string; secret?: unknown; projected?: { sources?: { serviceAccountToken?: unknown }[] } }[];
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
}
interface ServiceAccount extends KubeObject {
  automountServiceAccountToken?: boolean;
  imagePullSecrets?: { name?: string }[];
}

export function tokenVolumeSource() {
  return {
    defaultMode: 0o644,
    sources: [
      { serviceAccountToken: { expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      {
        downwardAPI: {
          items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
        },
      },
    ],
  };
}

function forbidden(a: AdmissionAttributes, why: string) {
  return errForbidden(`pods "${a.name ?? ''}" is forbidden: ${why}`, { resource: 'pods', name: a.name });
}

export interface ServiceAccountPluginOptions {
  /** Lookups of a missing `default` account before giving up (upstream: 10, 100–200 ms apart). */
  defaultAttempts?: number;
}

export function serviceAccount(opts: ServiceAccountPluginOptions = {}): AdmissionPlugin {
  const attempts = opts.defaultAttempts ?? 10;
  const retryMs = 100 + Math.floor(Math.random() * 100);

  async function lookup(a: AdmissionAttributes, name: string): Promise<ServiceAccount> {
    const n = name === 'default' ? attempts : 1;
    for (let i = 0; i < n; i++) {
      if (i) await sleep(retryMs);
      const sa = await a.reader.get('', 'serviceaccounts', a.namespace, name);
      if (sa) return sa as ServiceAccount;
    }
    throw forbidden(a, `error looking up service account ${a.namespace}/${name}: serviceaccount "${name}" not found`);
  }

  function validateMirror(a: AdmissionAttributes, spec: PodSpec): void {
    if (spec.serviceAccountName) throw forbidden(a, 'a mirror pod may not reference service accounts');
    const containers = [
      ...(spec.containers ?? []),
      ...(spec.initContainers ?? []),
      ...(spec.ephemeralContainers ?? []),
    ];
    const secrets =
      (spec.imagePullSecrets ?? []).length > 0 ||
      (spec.volumes ?? []).some((v) => v.secret) ||
      containers.some(
        (c) => (c.env ?? []).some((e) => e.valueFrom?.secretKeyRef) || (c.envFrom ?? []).some((e) => e.secretRef),
      );
    if (secrets) throw forbidden(a, 'a mirror pod may not reference secrets');
    if ((spec.volumes ?? []).some((v) => (v.projected?.sources ?? []).some((s) => s.serviceAccountToken)))
      throw forbidden(a, 'a mirror pod may not use ServiceAccountToken volume projections');
  }

  function mountToken(spec: PodSpec): void {
    let volume = (spec.volumes ?? []).find((v) => v.name.startsWith(VOLUME_PREFIX))?.name;
    const hasVolume = volume !== undefined;
    volume ??= VOLUME_PREFIX + generateNameSuffix();
    let needed = false;
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      if ((c.volumeMounts ?? []).some((m) => m.mountPath === TOKEN_MOUNT_PATH)) continue;
      c.volumeMounts = [...(c.volumeMounts ?? []), { name: volume, readOnly: true, mountPath: TOKEN_MOUNT_PATH }];
      needed = true;
    }
    if (!hasVolume && needed)
      spec.volumes = [...(spec.volumes ?? []), { name: volume, projected: tokenVolumeSource() }];
  }

  return {
    name: 'ServiceAccount',
    async admit(a) {
      if (a.operation !== 'CREATE' || !isResource(a, '', 'pods') || !a.object) return;
      const pod = a.object;
      const spec = (pod.spec ?? {}) as PodSpec;
      pod.spec = spec;
      if (pod.metadata.annotations?.[MIRROR] !== undefined) return validateMirror(a, spec);
      if (!spec.serviceAccountName) spec.serviceAccountName = 'default';
      spec.serviceAccount = spec.serviceAccountName;
      const sa = await lookup(a, spec.serviceAccountName);
      const automount = spec.automountServiceAccountToken ?? sa.automountServiceAccountToken ?? true;
      if (automount) mountToken(spec);
      if (!spec.imagePullSecrets?.length && sa.imagePullSecrets?.length)
        spec.imagePullSecrets = sa.imagePullSecrets.map((s) => ({ name: s.name }));
    },
  };
}
