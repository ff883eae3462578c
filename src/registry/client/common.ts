// Options shared by pull and push, endpoint selection (docker.io → registry-1.docker.io, mirrors),
// progress events and a small concurrency limiter.
import { parseReference, type Reference } from '../../image/index.js';
import { credentialsFromDockerConfig, type AuthConfig } from './credentials.js';
import { RegistryTransport } from './transport.js';

/** Per-layer progress, in Docker's vocabulary (the engine maps these to its JSON progress stream). */
export interface ProgressEvent {
  /** Short digest (12 hex) of the layer, or the tag for whole-image messages. */
  id: string;
  status:
    | 'Pulling fs layer'
    | 'Waiting'
    | 'Downloading'
    | 'Verifying Checksum'
    | 'Download complete'
    | 'Already exists'
    | 'Retrying'
    | 'Preparing'
    | 'Pushing'
    | 'Pushed'
    | 'Layer already exists'
    | `Mounted from ${string}`
    | string;
  current?: number;
  total?: number;
}

export interface ClientOptions {
  /** Explicit credentials; otherwise looked up in the Docker config file. */
  auth?: AuthConfig;
  /** Path of a Docker-style config.json (default $DOCKER_CONFIG/config.json or ~/.docker/config.json). */
  dockerConfig?: string;
  /** Hosts reached over plain HTTP / unverified TLS (loopback always is). */
  insecureRegistries?: string[];
  /** Mirror URLs tried, in order, before docker.io itself (pulls only). */
  mirrors?: string[];
  /** Per-registry mirrors (pulls only): domain ("registry.k8s.io", "docker.io") → mirror URLs tried,
   *  in order, before that registry, as containerd's hosts.toml `[host]` entries. */
  registryMirrors?: Record<string, string[]>;
  /** Parallel blob transfers (default 3). */
  concurrency?: number;
  /** Retries on 5xx/network errors (default 3), with exponential back-off from `backoffMs` (200). */
  retries?: number;
  backoffMs?: number;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
}

export const DOCKER_HUB_HOST = 'registry-1.docker.io';

export function toReference(ref: string | Reference): Reference {
  return typeof ref === 'string' ? parseReference(ref) : ref;
}

/** Transports to try for a reference's domain: mirrors first (docker.io pulls only), then the origin. */
export function endpoints(ref: Reference, o: ClientOptions, forPush: boolean): RegistryTransport[] {
  const auth = o.auth ?? credentialsFromDockerConfig(ref.domain, o.dockerConfig);
  const t = { insecureRegistries: o.insecureRegistries, retries: o.retries, backoffMs: o.backoffMs };
  const origin = new RegistryTransport(ref.domain === 'docker.io' ? DOCKER_HUB_HOST : ref.domain, { ...t, auth });
  const list = [...(o.registryMirrors?.[ref.domain] ?? []), ...(ref.domain === 'docker.io' ? (o.mirrors ?? []) : [])];
  if (forPush || !list.length) return [origin];
  const mirrors = list.map((m) => {
    const host = m.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
    return new RegistryTransport(/^[a-z]+:\/\//i.test(m) ? m : `https://${m}`, {
      ...t,
      auth: o.auth ?? credentialsFromDockerConfig(host, o.dockerConfig),
    });
  });
  return [...mirrors, origin];
}

export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Runs `fn` over items with at most `limit` at once; the first failure rejects (others finish). */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown;
  let hasFailed = false;
  const worker = async () => {
    while (!hasFailed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        if (!hasFailed) {
          hasFailed = true;
          failed = e;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (hasFailed) throw failed;
  return out;
}

export { sleep } from '../../common/index.js';
