// Pull and push with Docker's JSON progress messages. Pull: the registry client stores the blobs,
// then the tag (and `repo@digest`) records are written, the layers are unpacked into the engine's
// snapshotter ("Extracting"/"Pull complete") and the summary lines follow. Nothing is written to the
// stream before the manifest resolved, so an unknown repository is a plain 404 the CLI can print.
import { invalidArgument, notFound } from '../../../common/index.js';
import {
  MediaType,
  canonicalName,
  isIndexMediaType,
  parseManifest,
  parsePlatform,
  parseReference,
  type Descriptor,
  type Images,
  type Reference,
  type Snapshotter,
  type PlatformSpec,
} from '../../../image/index.js';
import {
  RegistryTransport,
  fetchManifest,
  pullImage,
  pushImage,
  type AuthConfig,
  type ProgressEvent,
} from '../../../registry/index.js';
import { LayerProgress, type Emit } from './progress.js';

export interface TransferOptions {
  auth?: AuthConfig;
  insecureRegistries?: string[];
  mirrors?: string[];
  registryMirrors?: Record<string, string[]>;
  signal?: AbortSignal;
  emit: Emit;
}

/** `fromImage` + `tag` as the CLI sends them (`busybox` + `latest`, or a digest in `tag`). */
export function pullReference(fromImage: string, tag?: string): Reference {
  if (!fromImage) throw invalidArgument('fromImage: name an image to pull', { field: 'fromImage' });
  let r = parseReference(fromImage, { defaultTag: false });
  if (tag) r = tag.startsWith('sha256:') ? r.withDigest(tag) : r.withTag(tag);
  if (!r.tag && !r.digest) r = r.withTag('latest');
  return r;
}

function registryEvent(p: LayerProgress, e: ProgressEvent): void {
  if ((e.status === 'Downloading' || e.status === 'Pushing') && e.current !== undefined)
    p.bytes(e.id, e.status, e.current, e.total);
  else p.status(e.id, e.status);
}

export async function pull(
  images: Images,
  sn: Snapshotter,
  ref: Reference,
  o: TransferOptions & { platform?: string },
): Promise<{ id: string; name: string }> {
  const platform: PlatformSpec | undefined = o.platform ? parsePlatform(o.platform) : undefined;
  let started = false;
  const p = new LayerProgress(o.emit);
  const begin = () => {
    if (started) return;
    started = true;
    o.emit({ status: `Pulling from ${ref.path}`, id: ref.tag ?? ref.digest });
  };
  const downloaded = new Map<string, number>();
  const res = await pullImage(ref, {
    store: images.content,
    platform,
    auth: o.auth,
    insecureRegistries: o.insecureRegistries,
    mirrors: o.mirrors,
    registryMirrors: o.registryMirrors,
    signal: o.signal,
    onProgress: (e) => {
      begin();
      if (e.status === 'Download complete' || e.status === 'Downloading')
        downloaded.set(e.id, e.total ?? e.current ?? 0);
      if (e.status === 'Already exists') downloaded.delete(e.id);
      registryEvent(p, e);
    },
  });
  begin();
  const topInfo = await images.content.info(res.resolvedDigest);
  const mediaType = res.indexDigest ? (res.index?.mediaType ?? MediaType.OciIndex) : res.manifestMediaType;
  const target: Descriptor = { mediaType, digest: res.resolvedDigest, size: topInfo.size };
  const name = canonicalName(ref.toString());
  const prev = await images.store.get(name).catch(() => undefined); // no previous image under that name
  if (prev && prev.target.digest !== target.digest) await keepDangling(images, prev.target, name);
  await images.store.put(name, target);
  if (!ref.digest) await images.store.put(`${ref.name}@${res.resolvedDigest}`, target);
  const layers = res.manifest.layers;
  await images.unpack(name, sn, { platform, signal: o.signal });
  for (const l of layers) {
    const id = l.digest.slice(7, 19);
    if (!downloaded.has(id)) continue;
    p.bytes(id, 'Extracting', l.size, l.size, true);
    p.status(id, 'Pull complete');
  }
  const id = (await images.resolve(name, platform)).id;
  o.emit({ status: `Digest: ${res.resolvedDigest}` });
  const upToDate = prev?.target.digest === target.digest;
  o.emit({
    status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${ref.familiarString()}`,
  });
  return { id, name };
}

/** When a tag moves to another image, the old image stays as a dangling one (Docker's `<none>`)
 *  unless another record still names it. */
async function keepDangling(images: Images, old: Descriptor, movedName: string): Promise<void> {
  const others = (await images.store.list()).filter((r) => r.name !== movedName && r.target.digest === old.digest);
  if (!others.length) await images.store.put(old.digest, old);
}

/** The descriptor to push for a record: the whole index when every child manifest is here, else
 *  the platform manifest. */
async function pushTarget(images: Images, name: string): Promise<string> {
  const r = await images.resolve(name);
  const t = r.record.target;
  if (!isIndexMediaType(t.mediaType)) return t.digest;
  const idx = parseManifest(await images.content.readAll(t.digest), t.mediaType);
  if (idx.kind !== 'index') return r.manifestDesc.digest;
  for (const m of idx.index.manifests) if (!(await images.content.has(m.digest))) return r.manifestDesc.digest;
  return t.digest;
}

/** `POST /images/{name}/push?tag=`: one tag, or every tag of the repository when `tag` is empty. */
export async function push(images: Images, name: string, tag: string | undefined, o: TransferOptions): Promise<void> {
  const repo = parseReference(name, { defaultTag: false });
  let refs: Reference[];
  if (tag || repo.tag) refs = [tag ? repo.withTag(tag) : repo];
  else {
    refs = (await images.store.list())
      .map((r) => r.name)
      .filter((n) => !n.startsWith('sha256:'))
      .map((n) => parseReference(n, { defaultTag: false }))
      .filter((r) => r.name === repo.name && r.tag);
  }
  for (const r of refs) if (!(await images.store.has(r.toString()))) refs = refs.filter((x) => x !== r);
  if (!refs.length)
    throw notFound(`An image does not exist locally with the tag: ${repo.familiarName()}${tag ? `:${tag}` : ''}`, {
      field: 'name',
    });
  o.emit({ status: `The push refers to repository [${repo.name}]` });
  const p = new LayerProgress(o.emit);
  for (const r of refs) {
    const digest = await pushTarget(images, r.toString());
    const res = await pushImage(r, {
      store: images.content,
      manifestDigest: digest,
      auth: o.auth,
      insecureRegistries: o.insecureRegistries,
      signal: o.signal,
      onProgress: (e) => registryEvent(p, e),
    });
    o.emit({ status: `${r.tag}: digest: ${res.digest} size: ${res.size}` });
    o.emit({ progressDetail: {}, aux: { Tag: r.tag, Digest: res.digest, Size: res.size } });
    const rec = await images.store.get(r.toString());
    await images.store.put(
      `${r.name}@${res.digest}`,
      res.digest === rec.target.digest ? rec.target : { mediaType: res.mediaType, digest: res.digest, size: res.size },
    );
  }
}

/**
 * `GET /distribution/{name}/json` (docker-py's inspect_distribution, `docker manifest`-less
 * lookups): the registry's descriptor of the reference and the platforms it serves — an index's
 * entries, or a manifest's config's os/architecture — without pulling anything, as moby does.
 */
export async function inspectDistribution(
  ref: Reference,
  o: { auth?: AuthConfig; insecureRegistries?: string[]; signal?: AbortSignal },
): Promise<{ Descriptor: Descriptor; Platforms: Record<string, unknown>[] }> {
  const t = new RegistryTransport(ref.domain === 'docker.io' ? 'registry-1.docker.io' : ref.domain, {
    auth: o.auth,
    insecureRegistries: o.insecureRegistries,
  });
  const top = await fetchManifest(t, ref.path, ref.object, o.signal);
  const parsed = parseManifest(top.bytes, top.mediaType || undefined);
  const mediaType = top.mediaType || (parsed.kind === 'index' ? MediaType.OciIndex : MediaType.OciManifest);
  const Descriptor = { mediaType, digest: top.digest, size: top.bytes.length };
  if (parsed.kind === 'index')
    return { Descriptor, Platforms: parsed.index.manifests.flatMap((m) => (m.platform ? [m.platform] : [])) };
  const res = await t.call('GET', `/v2/${ref.path}/blobs/${parsed.manifest.config.digest}`, {
    scopes: [`repository:${ref.path}:pull`],
    signal: o.signal,
  });
  if (res.status !== 200) return { Descriptor, Platforms: [] };
  const c = JSON.parse((await res.buffer(4 << 20)).toString('utf8')) as Record<string, unknown>;
  const p: Record<string, unknown> = { architecture: c.architecture ?? '', os: c.os ?? '' };
  if (c.variant) p.variant = c.variant;
  if (c['os.version']) p['os.version'] = c['os.version'];
  return { Descriptor, Platforms: [p] };
}
