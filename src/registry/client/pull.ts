// pullImage: resolves a reference to a manifest (selecting the platform from an index), then stores
// config and layers (bounded parallelism, resumable, verified) and finally the manifest and index in
// the ContentStore — children before parents, so a stored manifest implies its blobs are there.
// Blobs get containerd-style labels: gc refs on manifests/indexes and the distribution source.
import { invalidArgument, isSkiffError } from '../../common/index.js';
import {
  MANIFEST_MEDIA_TYPES,
  parseManifest,
  selectManifest,
  parsePlatform,
  sha256Digest,
  type ContentStore,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type PlatformSpec,
  type Reference,
} from '../../image/index.js';
import { remoteError } from './errors.js';
import { endpoints, mapLimit, shortId, toReference, type ClientOptions } from './common.js';
import { fetchBlob } from './blob-fetch.js';
import type { RegistryTransport } from './transport.js';

export interface PullOptions extends ClientOptions {
  store: ContentStore;
  /** Platform to select from an index (default the host's, linux/amd64 here). */
  platform?: PlatformSpec | string;
}

export interface PullResult {
  reference: string;
  /** Digest of the image manifest (platform-specific). */
  manifestDigest: string;
  manifestMediaType: string;
  manifest: ImageManifest;
  configDigest: string;
  /** Set when the reference named an index / manifest list. */
  index?: ImageIndex;
  indexDigest?: string;
  /** The digest the reference resolved to (the index's when there is one): `RepoDigests`. */
  resolvedDigest: string;
  /** Where it came from (a mirror or the origin). */
  endpoint: string;
}

const MANIFEST_LIMIT = 4 << 20;

export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}

export async function fetchManifest(
  t: RegistryTransport,
  path: string,
  ref: string,
  signal?: AbortSignal,
): Promise<FetchedManifest> {
  const res = await t.call('GET', `/v2/${path}/manifests/${ref}`, {
    scopes: [`repository:${path}:pull`],
    signal,
    headers: { Accept: MANIFEST_MEDIA_TYPES.join(', ') },
  });
  if (res.status !== 200) throw await remoteError(res, `manifest ${path}:${ref}`);
  const bytes = await res.buffer(MANIFEST_LIMIT);
  const digest = sha256Digest(bytes);
  const header = res.headers['docker-content-digest'] as string | undefined;
  if (ref.startsWith('sha256:') && ref !== digest) {
    throw invalidArgument(`manifest ${path}@${ref} from ${t.host} has digest ${digest}: content does not match`, {
      field: 'digest',
      reason: 'DIGEST_INVALID',
    });
  }
  if (header && header.startsWith('sha256:') && header !== digest) {
    throw invalidArgument(
      `manifest ${path}:${ref} from ${t.host}: Docker-Content-Digest says ${header} but the content is ${digest}`,
      { field: 'digest', reason: 'DIGEST_INVALID' },
    );
  }
  const ct = (res.headers['content-type'] ?? '').split(';')[0].trim();
  return { bytes, digest, mediaType: ct };
}

async function putManifest(store: ContentStore, m: FetchedManifest, labels: Record<string, string>): Promise<void> {
  if (await store.has(m.digest)) {
    await store.setLabels(m.digest, { ...(await store.info(m.digest)).labels, ...labels });
    return;
  }
  await store.put(m.bytes, { expectedDigest: m.digest, labels });
}

async function pullFrom(t: RegistryTransport, ref: Reference, o: PullOptions): Promise<PullResult> {
  const path = ref.path;
  const platform = typeof o.platform === 'string' ? parsePlatform(o.platform) : o.platform;
  const source = { [`containerd.io/distribution.source.${ref.domain}`]: path };
  const top = await fetchManifest(t, path, ref.object, o.signal);
  let parsed = parseManifest(top.bytes, top.mediaType || undefined);
  let index: ImageIndex | undefined;
  let indexM: FetchedManifest | undefined;
  let m = top;
  if (parsed.kind === 'index') {
    index = parsed.index;
    indexM = top;
    const child = selectManifest(index.manifests as Descriptor[], platform);
    m = await fetchManifest(t, path, child.digest, o.signal);
    parsed = parseManifest(m.bytes, child.mediaType);
    if (parsed.kind !== 'manifest')
      throw invalidArgument(`${ref}: the index entry for the platform is itself an index (${child.digest})`, {
        field: 'manifests',
      });
  }
  const manifest = parsed.manifest;
  const layers = manifest.layers as Descriptor[];
  const config = manifest.config as Descriptor;
  for (const l of layers) o.onProgress?.({ id: shortId(l.digest), status: 'Pulling fs layer' });
  await fetchBlob(t, path, config, o.store, { ...o, quiet: true, labels: source });
  const concurrency = o.concurrency ?? 3;
  const results = await mapLimit(layers, concurrency, async (l) => {
    if (l.urls?.length && !(await o.store.has(l.digest))) {
      throw invalidArgument(
        `layer ${l.digest} is a foreign layer (${l.mediaType}) served from ${l.urls[0]}: not supported`,
        { field: 'layers' },
      );
    }
    return fetchBlob(t, path, l, o.store, { ...o, labels: source });
  });
  results.forEach((r, i) => {
    if (r === 'exists') o.onProgress?.({ id: shortId(layers[i].digest), status: 'Already exists' });
  });
  const mLabels: Record<string, string> = { ...source, 'containerd.io/gc.ref.content.config': config.digest };
  layers.forEach((l, i) => {
    mLabels[`containerd.io/gc.ref.content.l.${i}`] = l.digest;
  });
  await putManifest(o.store, m, mLabels);
  if (indexM && index) {
    const iLabels: Record<string, string> = { ...source };
    index.manifests.forEach((d, i) => {
      iLabels[`containerd.io/gc.ref.content.m.${i}`] = d.digest;
    });
    await putManifest(o.store, indexM, iLabels);
  }
  return {
    reference: ref.toString(),
    manifestDigest: m.digest,
    manifestMediaType: parsed.mediaType,
    manifest,
    configDigest: config.digest,
    index,
    indexDigest: indexM?.digest,
    resolvedDigest: top.digest,
    endpoint: t.host,
  };
}

/** Pulls `ref` into `store`. Tries docker.io mirrors first, then the origin. */
export async function pullImage(ref: string | Reference, o: PullOptions): Promise<PullResult> {
  const r = toReference(ref);
  let last: unknown;
  for (const t of endpoints(r, o, false)) {
    try {
      return await pullFrom(t, r, o);
    } catch (e) {
      last = e;
      if (o.signal?.aborted) throw e;
      // A mirror that fails for any reason is skipped; the origin's own error is final.
      if (isSkiffError(e, 'InvalidArgument') && e.reason !== 'DIGEST_INVALID' && e.field !== 'digest') throw e;
    }
  }
  throw last;
}
