// Volumes, local driver: `<data-root>/volumes/<name>/_data` plus `volume.json` (labels, options,
// creation time) beside it. Driver options `type`/`device`/`o` mount a file system there on first
// use (e.g. `type=tmpfs,device=tmpfs,o=size=64m`, or `type=none,o=bind,device=/path`), as Docker's
// local driver does. In-use checks ask the containers service (looked up lazily on the context).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { conflict, invalidArgument, isSkiffError, notFound, newId, randomSuffix } from '../../common/index.js';
import type { EngineBase, EngineContext, VolumeInfo, VolumesService } from './context.js';
import { matchLabels, validateFilters, filterBool, type Filters } from './common/filters.js';
import { apparentSize } from './containers/size.js';

const run = promisify(execFile);
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const OPTION_KEYS = new Set(['type', 'device', 'o', 'size']);

interface VolumeDoc {
  Name: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
}

export interface CreateVolumeBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

type Ctx = EngineBase & Partial<Pick<EngineContext, 'containers'>>;

function checkName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw invalidArgument(
      `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
      { field: 'Name' },
    );
  }
}

function strRecord(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw invalidArgument(`${field}: must be an object of strings`, { field });
  for (const [k, x] of Object.entries(v))
    if (typeof x !== 'string') throw invalidArgument(`${field}.${k}: must be a string`, { field: `${field}.${k}` });
  return v as Record<string, string>;
}

export class EngineVolumes implements VolumesService {
  private readonly locks = new Map<string, Promise<unknown>>();
  constructor(private ctx: Ctx) {}

  /** Points the service at the full engine context (when it was built from the base only). */
  attach(ctx: EngineContext): this {
    this.ctx = ctx;
    return this;
  }

  get root(): string {
    return join(this.ctx.root, 'volumes');
  }
  private dir(name: string) {
    return join(this.root, name);
  }
  private dataDir(name: string) {
    return join(this.root, name, '_data');
  }

  private lock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined); // the failure reaches the caller through `next`
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return next;
  }

  private users(name: string): string[] {
    return this.ctx.containers?.volumeUsers(name) ?? [];
  }

  private async read(name: string): Promise<VolumeDoc | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir(name), 'volume.json'), 'utf8')) as VolumeDoc;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private info(d: VolumeDoc): VolumeInfo {
    return {
      Name: d.Name,
      Driver: 'local',
      Mountpoint: this.dataDir(d.Name),
      CreatedAt: d.CreatedAt,
      Labels: d.Labels,
      Scope: 'local',
      Options: d.Options,
    };
  }

  async create(body: CreateVolumeBody = {}): Promise<VolumeInfo> {
    if (body.Driver && body.Driver !== 'local')
      throw notFound(`plugin "${body.Driver}" not found`, { field: 'Driver' });
    if (body.Name !== undefined && typeof body.Name !== 'string')
      throw invalidArgument('Name: must be a string', { field: 'Name' });
    const labels = strRecord(body.Labels, 'Labels');
    const opts = strRecord(body.DriverOpts, 'DriverOpts');
    const name = body.Name || newId();
    // the local driver's checks, in dockerd's words (`create NAME: …`)
    for (const k of Object.keys(opts))
      if (!OPTION_KEYS.has(k))
        throw invalidArgument(`create ${name}: invalid option: "${k}"`, { field: `DriverOpts.${k}` });
    if (opts.type && !opts.device)
      throw invalidArgument(`create ${name}: missing required option: "device"`, { field: 'DriverOpts.device' });
    checkName(name);
    return this.lock(name, async () => {
      const have = await this.read(name);
      if (have) return this.info(have);
      const doc: VolumeDoc = {
        Name: name,
        CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        Labels: labels,
        Options: opts,
      };
      await mkdir(this.root, { recursive: true });
      const tmp = join(this.root, `.tmp-${name}-${randomSuffix()}`);
      await mkdir(join(tmp, '_data'), { recursive: true, mode: 0o755 });
      await writeFile(join(tmp, 'volume.json'), JSON.stringify(doc));
      try {
        await rename(tmp, this.dir(name));
      } catch (e) {
        await rm(tmp, { recursive: true, force: true });
        const again = await this.read(name);
        if (again) return this.info(again);
        throw e;
      }
      this.ctx.events.emit({ Type: 'volume', Action: 'create', id: name, attributes: { driver: 'local' } });
      return this.info(doc);
    });
  }

  async ensure(
    name: string,
    opts: {
      labels?: Record<string, string>;
      anonymous?: boolean;
      driver?: string;
      driverOpts?: Record<string, string>;
    } = {},
  ): Promise<VolumeInfo> {
    const labels = { ...(opts.labels ?? {}), ...(opts.anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
    const d = await this.read(name);
    const v = d
      ? this.info(d)
      : await this.create({ Name: name, Labels: labels, Driver: opts.driver, DriverOpts: opts.driverOpts });
    await this.mountIfNeeded(v);
    return v;
  }

  /** Mounts a volume created with `type`/`device`/`o` options (idempotent). */
  private async mountIfNeeded(v: VolumeInfo): Promise<void> {
    const o = v.Options;
    if (!o.type && !o.device) return;
    if (await this.isMounted(v.Mountpoint)) return;
    const args = o.type && o.type !== 'none' ? ['-t', o.type] : [];
    const mo = [o.o, o.size ? `size=${o.size}` : undefined].filter(Boolean).join(',');
    if (mo) args.push('-o', mo);
    try {
      await run('mount', [...args, o.device ?? o.type ?? 'none', v.Mountpoint]);
    } catch (e) {
      throw invalidArgument(
        `error while mounting volume '${v.Name}': ${String((e as { stderr?: string }).stderr ?? e).trim()}`,
        { field: 'DriverOpts' },
      );
    }
  }

  private async isMounted(path: string): Promise<boolean> {
    const text = await readFile('/proc/self/mountinfo', 'utf8');
    return text.split('\n').some((l) => l.split(' ')[4] === path);
  }

  async inspect(name: string): Promise<VolumeInfo> {
    const d = await this.read(name);
    if (!d) throw notFound(`get ${name}: no such volume`, { field: 'name' });
    return this.info(d);
  }

  async list(f: Filters): Promise<{ Volumes: VolumeInfo[]; Warnings: string[] | null }> {
    validateFilters(f, ['name', 'label', 'dangling', 'driver', 'label!']);
    const dangling = filterBool(f, 'dangling');
    let names: string[] = [];
    try {
      names = (await readdir(this.root)).filter((n) => !n.startsWith('.'));
    } catch {
      /* none yet */
    }
    const out: VolumeInfo[] = [];
    for (const n of names.sort()) {
      const d = await this.read(n).catch(() => undefined); // a volume removed while listing is skipped
      if (!d) continue;
      if (f.name?.length && !f.name.some((x) => n.includes(x))) continue;
      if (f.driver?.length && !f.driver.includes('local')) continue;
      if (!matchLabels(d.Labels, f.label)) continue;
      if (f['label!']?.length && f['label!'].some((l) => matchLabels(d.Labels, [l]))) continue;
      if (dangling !== undefined && (this.users(n).length === 0) !== dangling) continue;
      out.push(this.info(d));
    }
    return { Volumes: out, Warnings: null };
  }

  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.lock(name, async () => {
      const d = await this.read(name);
      if (!d) {
        if (opts.force) return;
        throw notFound(`get ${name}: no such volume`, { field: 'name' });
      }
      const users = this.users(name);
      if (users.length) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      const mp = this.dataDir(name);
      if ((d.Options.type || d.Options.device) && (await this.isMounted(mp))) await run('umount', [mp]);
      // Rename first so a crash mid-delete never leaves a half-removed volume that still lists.
      const gone = join(this.root, `.rm-${name}-${randomSuffix()}`);
      await rename(this.dir(name), gone);
      await rm(gone, { recursive: true, force: true });
      this.ctx.events.emit({ Type: 'volume', Action: 'destroy', id: name, attributes: { driver: 'local' } });
    });
  }

  /** `POST /volumes/prune`: unused anonymous volumes, or every unused one with `all=true`. */
  async prune(f: Filters): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    validateFilters(f, ['label', 'label!', 'all']);
    const all = filterBool(f, 'all') ?? false;
    const deleted: string[] = [];
    let space = 0;
    for (const v of (await this.list({})).Volumes) {
      if (!all && !(ANONYMOUS_LABEL in v.Labels)) continue;
      if (!matchLabels(v.Labels, f.label)) continue;
      if (f['label!']?.length && f['label!'].some((l) => matchLabels(v.Labels, [l]))) continue;
      if (this.users(v.Name).length) continue;
      const size = await dirSize(v.Mountpoint);
      try {
        await this.remove(v.Name);
      } catch (e) {
        if (isSkiffError(e, 'Conflict') || isSkiffError(e, 'NotFound')) continue;
        throw e;
      }
      deleted.push(v.Name);
      space += size;
    }
    this.ctx.events.emit({ Type: 'volume', Action: 'prune', id: '', attributes: { reclaimed: String(space) } });
    return { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: space };
  }

  /** Volumes with `UsageData` (for `/system/df`). */
  async usage(): Promise<VolumeInfo[]> {
    const vs = (await this.list({})).Volumes;
    for (const v of vs) v.UsageData = { Size: await dirSize(v.Mountpoint), RefCount: this.users(v.Name).length };
    return vs;
  }
}

/** A volume's size as dockerd's directory.Size gives it: apparent sizes of what is below it (files
 *  and symlinks, hard links once, directories not counted). */
export async function dirSize(dir: string): Promise<number> {
  return existsSync(dir) ? apparentSize(dir) : 0;
}

export function createVolumesService(ctx: Ctx): EngineVolumes {
  return new EngineVolumes(ctx);
}
