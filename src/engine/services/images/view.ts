// Docker's JSON shapes for images: the list summary (`GET /images/json`), ImageInspect
// (`GET /images/{name}/json`) and history items, built from catalog entries.
import { invalidArgument } from '../../../common/index.js';
import { chainIds } from '../../../image/index.js';
import { matchLabels, validateFilters, filterBool, type Filters } from '../common/filters.js';
import { referenceMatches, type Catalog, type ImageEntry } from './catalog.js';

const unix = (iso: string | undefined) => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
};

export function createdOf(e: ImageEntry): string {
  return e.config.created ?? e.createdAt;
}

export function summary(e: ImageEntry, containers: number) {
  return {
    Id: e.id,
    ParentId: e.parent,
    RepoTags: e.repoTags,
    RepoDigests: e.repoDigests,
    Created: unix(createdOf(e)),
    Size: e.size,
    SharedSize: -1,
    VirtualSize: e.size,
    Labels: e.config.config?.Labels ?? {},
    Containers: containers,
    Descriptor: e.manifestDesc,
  };
}

const IMAGE_FILTERS = ['dangling', 'label', 'reference', 'before', 'since', 'until'];

/** Applies `GET /images/json` filters; `before`/`since` name images. */
export async function filterImages(entries: ImageEntry[], f: Filters, catalog: Catalog): Promise<ImageEntry[]> {
  validateFilters(f, IMAGE_FILTERS);
  let out = entries;
  const dangling = filterBool(f, 'dangling');
  if (dangling !== undefined) out = out.filter((e) => (e.repoTags.length === 0) === dangling);
  if (f.label?.length) out = out.filter((e) => matchLabels(e.config.config?.Labels ?? {}, f.label));
  if (f.reference?.length)
    out = out.map((e) => referenceMatches(e, f.reference)).filter((e): e is ImageEntry => e !== undefined);
  for (const [key, cmp] of [
    ['before', (a: number, b: number) => a < b],
    ['since', (a: number, b: number) => a > b],
  ] as const) {
    for (const name of f[key] ?? []) {
      const ref = (await catalog.find(name)).entry;
      const t = Date.parse(createdOf(ref));
      out = out.filter((e) => cmp(Date.parse(createdOf(e)), t));
    }
  }
  if (f.until?.length) {
    const lim = parseUntil(f.until[0]);
    out = out.filter((e) => Date.parse(createdOf(e)) / 1000 <= lim);
  }
  return out;
}

function parseUntil(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const d = /^(\d+)(s|m|h)$/.exec(v);
  if (d) return Date.now() / 1000 - Number(d[1]) * ({ s: 1, m: 60, h: 3600 } as const)[d[2] as 's' | 'm' | 'h'];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidArgument(`Invalid filter 'until=${v}'`, { field: 'filters.until' });
  return t / 1000;
}

function runConfig(e: ImageEntry, which: 'config' | 'container_config' = 'config') {
  const c = ((which === 'config' ? e.config.config : (e.config as { container_config?: unknown }).container_config) ??
    {}) as NonNullable<ImageEntry['config']['config']>;
  return {
    Hostname: '',
    Domainname: '',
    User: c.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: c.ExposedPorts ?? null,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: c.Env ?? null,
    Cmd: c.Cmd ?? null,
    Healthcheck: c.Healthcheck ?? undefined,
    ArgsEscaped: c.ArgsEscaped ?? undefined,
    Image: '',
    Volumes: c.Volumes ?? null,
    WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null,
    OnBuild: c.OnBuild ?? null,
    Labels: c.Labels ?? null,
    StopSignal: c.StopSignal ?? undefined,
    Shell: c.Shell ?? undefined,
  };
}

/** moby's ImageInspect. */
export function inspect(e: ImageEntry, o: { snapshotter: string; snapshotDir?: string }) {
  const cfg = e.config as Record<string, unknown>;
  const chain = chainIds(e.config.rootfs.diff_ids);
  return {
    Id: e.id,
    RepoTags: e.repoTags,
    RepoDigests: e.repoDigests,
    Parent: e.parent,
    Comment: (e.config.history ?? []).at(-1)?.comment ?? '',
    Created: createdOf(e),
    Container: (cfg.container as string | undefined) ?? '',
    // The committed container's config (dockerd's container_config), else the image's own.
    ContainerConfig: runConfig(e, 'container_config' in cfg ? 'container_config' : 'config'),
    DockerVersion: (cfg.docker_version as string | undefined) ?? '',
    Author: e.config.author ?? '',
    Config: runConfig(e),
    Architecture: e.config.architecture,
    Variant: e.config.variant,
    Os: e.config.os,
    OsVersion: e.config['os.version'],
    Size: e.size,
    VirtualSize: e.size,
    GraphDriver: {
      Name: o.snapshotter,
      Data: chain.length
        ? { TopLayer: chain[chain.length - 1], ...(o.snapshotDir ? { SnapshotRoot: o.snapshotDir } : {}) }
        : null,
    },
    RootFS: { Type: 'layers', Layers: e.config.rootfs.diff_ids },
    Metadata: {
      LastTagTime:
        e.records
          .map((r) => r.updatedAt)
          .sort()
          .at(-1) ?? '0001-01-01T00:00:00Z',
    },
    Descriptor: e.manifestDesc,
  };
}

/** `GET /images/{name}/history`: newest first; the top item carries the id and tags. */
export function history(e: ImageEntry) {
  const hist = e.config.history?.length
    ? e.config.history
    : e.config.rootfs.diff_ids.map(() => ({ created: e.config.created, created_by: '', comment: '' }));
  let layer = 0;
  const items = hist.map((h) => {
    const empty = 'empty_layer' in h && h.empty_layer;
    const size = empty ? 0 : (e.manifest.layers[layer++]?.size ?? 0);
    return {
      Id: '<missing>',
      Created: unix(h.created),
      CreatedBy: h.created_by ?? '',
      Tags: null as string[] | null,
      Size: size,
      Comment: h.comment ?? '',
    };
  });
  items.reverse();
  if (items.length) {
    items[0].Id = e.id;
    items[0].Tags = e.repoTags.length ? e.repoTags : null;
  }
  return items;
}
