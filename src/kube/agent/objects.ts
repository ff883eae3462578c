// ConfigMaps and Secrets the node's pods refer to (volumes, env, envFrom, imagePullSecrets), each
// watched on its own (`fieldSelector=metadata.name=X` in its namespace) while some pod uses it, as
// kubelet's watch-based manager does. A change calls back with the object's key so the pods that
// use it sync again (configMap and secret volumes follow updates in about a second).
import type { Logger } from '../../common/index.js';
import { Informer, type KubeClient } from '../client/index.js';
import type { ObjectSource } from './pods/env.js';
import type { ConfigMap, Pod, Secret } from './types.js';
import { isSkiffError } from '../../common/index.js';

type Kind = 'configmaps' | 'secrets';

interface Watched {
  informer: Informer<ConfigMap & { metadata: { name: string } }>;
  ready: Promise<void>;
  users: Set<string>;
  idleTimer?: NodeJS.Timeout;
}

/** Every ConfigMap and Secret a pod refers to, as `kind/namespace/name` keys. */
export function podReferences(pod: Pod): string[] {
  const ns = pod.metadata.namespace;
  const out = new Set<string>();
  const cm = (n?: string) => n && out.add(`configmaps/${ns}/${n}`);
  const sec = (n?: string) => n && out.add(`secrets/${ns}/${n}`);
  for (const v of pod.spec.volumes ?? []) {
    cm(v.configMap?.name);
    sec(v.secret?.secretName);
    for (const s of v.projected?.sources ?? []) {
      cm(s.configMap?.name);
      sec(s.secret?.name);
    }
  }
  for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    for (const e of c.envFrom ?? []) {
      cm(e.configMapRef?.name);
      sec(e.secretRef?.name);
    }
    for (const e of c.env ?? []) {
      cm(e.valueFrom?.configMapKeyRef?.name);
      sec(e.valueFrom?.secretKeyRef?.name);
    }
  }
  for (const s of pod.spec.imagePullSecrets ?? []) sec(s.name);
  return [...out];
}

export class ObjectCache implements ObjectSource {
  private watched = new Map<string, Watched>();
  private byPod = new Map<string, string[]>();
  /** Set by stop(): a pod sync still in flight when the agent stops must not start watches again
   *  (their informers, on a closed client, would retry for ever and keep the process alive). */
  private closed = false;

  constructor(
    private client: KubeClient,
    private log: Logger,
    /** Called with `kind/namespace/name` when a watched object is added, changed or deleted. */
    private onChange: (key: string, users: string[]) => void,
    private idleMs = 60_000,
  ) {}

  /** Records what the pod uses (starting watches); releases what it no longer uses. */
  register(pod: Pod): void {
    if (this.closed) return;
    const uid = pod.metadata.uid;
    const keys = podReferences(pod);
    const old = this.byPod.get(uid) ?? [];
    this.byPod.set(uid, keys);
    for (const k of keys) this.watch(k).users.add(uid);
    for (const k of old) if (!keys.includes(k)) this.release(k, uid);
  }

  unregister(uid: string): void {
    for (const k of this.byPod.get(uid) ?? []) this.release(k, uid);
    this.byPod.delete(uid);
  }

  private release(key: string, uid: string): void {
    const w = this.watched.get(key);
    if (!w) return;
    w.users.delete(uid);
    if (w.users.size || w.idleTimer) return;
    w.idleTimer = setTimeout(() => {
      if (w.users.size) return;
      w.informer.stop();
      this.watched.delete(key);
    }, this.idleMs);
    w.idleTimer.unref();
  }

  private watch(key: string): Watched {
    const have = this.watched.get(key);
    if (have) {
      if (have.idleTimer) {
        clearTimeout(have.idleTimer);
        have.idleTimer = undefined;
      }
      return have;
    }
    const [kind, namespace, name] = key.split('/') as [Kind, string, string];
    const changed = () => this.onChange(key, [...(this.watched.get(key)?.users ?? [])]);
    let synced = false;
    const informer = new Informer<ConfigMap & { metadata: { name: string } }>(
      this.client,
      { group: '', version: 'v1', resource: kind, kind: kind === 'secrets' ? 'Secret' : 'ConfigMap', namespaced: true },
      {
        add: () => synced && changed(),
        update: (a, b) => synced && a.metadata.resourceVersion !== b.metadata.resourceVersion && changed(),
        delete: () => changed(),
      },
      { namespace, fieldSelector: `metadata.name=${name}`, log: this.log },
    );
    const w: Watched = {
      informer,
      users: new Set(),
      ready: informer.start().then(
        () => {
          synced = true;
        },
        (e) => this.log.debug('object watch failed', { key, error: String(e) }),
      ),
    };
    this.watched.set(key, w);
    return w;
  }

  private async get<T>(kind: Kind, namespace: string, name: string): Promise<T | undefined> {
    const key = `${kind}/${namespace}/${name}`;
    const w = this.watched.get(key);
    if (w) {
      await w.ready;
      if (w.informer.hasSynced) return w.informer.get(`${namespace}/${name}`) as T | undefined;
    }
    try {
      return await this.client.request<T>(
        'GET',
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/${kind}/${encodeURIComponent(name)}`,
      );
    } catch (e) {
      if (isSkiffError(e, 'NotFound')) return undefined;
      throw e;
    }
  }

  configMap(namespace: string, name: string): Promise<ConfigMap | undefined> {
    return this.get<ConfigMap>('configmaps', namespace, name);
  }
  secret(namespace: string, name: string): Promise<Secret | undefined> {
    return this.get<Secret>('secrets', namespace, name);
  }

  stop(): void {
    this.closed = true;
    for (const w of this.watched.values()) {
      clearTimeout(w.idleTimer);
      w.informer.stop();
    }
    this.watched.clear();
  }
}
