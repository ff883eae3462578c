// Making sure a container's image is on the node (kubelet's image manager): imagePullPolicy
// (Always, IfNotPresent, Never), credentials from imagePullSecrets (dockerconfigjson / dockercfg)
// matched by registry host, and a back-off per pod and image after a failed pull. Failures are
// ErrImagePull (the registry's message), ImagePullBackOff (with the last pull error) or
// ErrImageNeverPull, with upstream's events.
import { defaultPullPolicy } from '../../api/index.js';
import type { ContainerRuntime } from '../../../cri/index.js';
import type * as cri from '../../../cri/index.js';
import type { EventRecorder, ObjectRef } from '../events.js';
import type { Container, Pod, Secret } from '../types.js';
import { Backoff } from './backoff.js';

export class ImageError extends Error {
  constructor(
    readonly reason: 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName',
    message: string,
  ) {
    super(message);
  }
}

/** The registry host of an image reference (`docker.io` for Docker Hub short names). */
export function registryHost(image: string): string {
  const first = image.split('/')[0];
  if (image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return first;
  return 'docker.io';
}

const HUB_KEYS = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/'];

function hostOfKey(k: string): string {
  return k.replace(/^https?:\/\//, '').split('/')[0];
}

/** Credentials from pull secrets that apply to `image`, in the secrets' order. */
export function credentialsFor(image: string, secrets: Secret[]): cri.AuthConfigInput[] {
  const host = registryHost(image);
  const out: cri.AuthConfigInput[] = [];
  for (const s of secrets) {
    let auths: Record<string, { username?: string; password?: string; auth?: string; identitytoken?: string }> = {};
    try {
      if (s.data?.['.dockerconfigjson'])
        auths = JSON.parse(Buffer.from(s.data['.dockerconfigjson'], 'base64').toString()).auths ?? {};
      else if (s.data?.['.dockercfg']) auths = JSON.parse(Buffer.from(s.data['.dockercfg'], 'base64').toString());
    } catch {
      continue;
    }
    for (const [k, a] of Object.entries(auths)) {
      const kh = hostOfKey(k);
      const match = host === 'docker.io' ? HUB_KEYS.includes(k) || HUB_KEYS.includes(kh) : kh === host;
      if (!match) continue;
      let { username, password } = a;
      if ((!username || !password) && a.auth) {
        const dec = Buffer.from(a.auth, 'base64').toString();
        const i = dec.indexOf(':');
        if (i > 0) [username, password] = [dec.slice(0, i), dec.slice(i + 1)];
      }
      out.push({ username, password, serverAddress: kh, identityToken: a.identitytoken });
    }
  }
  return out;
}

export class ImagePuller {
  private backoff = new Backoff();
  private lastError = new Map<string, string>();
  private lastAttempt = new Map<string, number>();
  private inflight = new Map<string, Promise<string>>();

  constructor(
    private runtime: ContainerRuntime,
    private events: EventRecorder,
  ) {}

  /** The image's reference (id) on the node, pulling it as the policy says; throws ImageError. */
  async ensure(
    pod: Pod,
    c: Container,
    ref: ObjectRef,
    secrets: () => Promise<Secret[]>,
    sandbox: cri.PodSandboxConfigInput,
  ): Promise<string> {
    const image = c.image ?? '';
    if (!image)
      throw new ImageError(
        'InvalidImageName',
        `Failed to apply default image tag "": couldn't parse image name "": invalid reference format`,
      );
    const policy = c.imagePullPolicy ?? defaultPullPolicy(image);
    const present = policy === 'Always' ? undefined : (await this.runtime.imageStatus({ image: { image } })).image;
    if (present) {
      this.events.event(ref, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
      return present.id;
    }
    if (policy === 'Never') {
      const msg = `Container image "${image}" is not present with pull policy of Never`;
      this.events.event(ref, 'Warning', 'ErrImageNeverPull', msg);
      throw new ImageError('ErrImageNeverPull', msg);
    }
    const key = `${pod.metadata.uid}_${image}`;
    if (this.retryIn(pod, image) > 0) {
      const msg = `Back-off pulling image "${image}"`;
      this.events.event(ref, 'Normal', 'BackOff', msg);
      const prev = this.lastError.get(key);
      throw new ImageError('ImagePullBackOff', prev ? `${msg}: ErrImagePull: ${prev}` : msg);
    }
    this.events.event(ref, 'Normal', 'Pulling', `Pulling image "${image}"`);
    const t0 = performance.now();
    try {
      const creds = credentialsFor(image, await secrets());
      const id = await this.pull(image, creds, sandbox);
      const secs = ((performance.now() - t0) / 1000).toFixed(3);
      let size = 0;
      try {
        size = (await this.runtime.imageStatus({ image: { image } })).image?.size ?? 0;
      } catch {
        /* size is informational */
      }
      this.events.event(
        ref,
        'Normal',
        'Pulled',
        `Successfully pulled image "${image}" in ${secs}s (${secs}s including waiting). Image size: ${size} bytes.`,
      );
      this.lastError.delete(key);
      this.lastAttempt.delete(key);
      return id;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.backoff.next(key);
      this.lastAttempt.set(key, Date.now());
      this.lastError.set(key, msg);
      this.events.event(ref, 'Warning', 'Failed', `Failed to pull image "${image}": ${msg}`);
      throw new ImageError('ErrImagePull', msg);
    }
  }

  /** Milliseconds until a pull of this pod's image may be tried again (0: now). */
  retryIn(pod: Pod, image: string): number {
    const key = `${pod.metadata.uid}_${image}`;
    const last = this.lastAttempt.get(key);
    if (last === undefined) return 0;
    return Math.max(0, last + this.backoff.delay(key) - Date.now());
  }

  forget(uid: string): void {
    this.backoff.forget(`${uid}_`);
    for (const m of [this.lastError, this.lastAttempt])
      for (const k of m.keys()) if (k.startsWith(`${uid}_`)) m.delete(k);
  }

  /** One pull per image at a time; credentials are tried in order, then none. */
  private pull(image: string, creds: cri.AuthConfigInput[], sandbox: cri.PodSandboxConfigInput): Promise<string> {
    const key = `${image}\u0000${creds.map((c) => c.username).join(',')}`;
    const have = this.inflight.get(key);
    if (have) return have;
    const p = (async () => {
      let last: unknown;
      for (const auth of creds.length ? creds : [undefined]) {
        try {
          return (await this.runtime.pullImage({ image: { image }, auth, sandboxConfig: sandbox })).imageRef;
        } catch (e) {
          last = e;
        }
      }
      throw last;
    })().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}
