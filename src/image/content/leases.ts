// Leases: short-lived GC roots. A pull, build or import takes a lease, records the blobs,
// ingests and snapshots it creates on it, and deletes it when the image reference exists —
// so a garbage collection in between never removes work in progress. One JSON file per lease.
import { readdir, unlink, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument, notFound, alreadyExists, randomSuffix } from '../../common/index.js';
import { KeyedMutex, readJsonFile, writeFileAtomic } from '../atomic-file.js';

export interface LeaseResource {
  type: 'content' | 'ingest' | 'snapshot';
  /** digest (content), ingest ref, or snapshot key */
  id: string;
  /** snapshotter name, for snapshots */
  snapshotter?: string;
}

export interface Lease {
  id: string;
  createdAt: string;
  /** ISO time after which the lease no longer protects anything. */
  expiresAt?: string;
  labels: Record<string, string>;
  resources: LeaseResource[];
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class LeaseManager {
  private readonly lock = new KeyedMutex();
  constructor(readonly dir: string) {}

  private file(id: string): string {
    if (!ID_RE.test(id)) throw invalidArgument(`invalid lease id ${JSON.stringify(id)}`, { field: 'id' });
    return join(this.dir, `${id}.json`);
  }

  async create(opts: { id?: string; expiresInMs?: number; labels?: Record<string, string> } = {}): Promise<Lease> {
    const id = opts.id ?? `lease-${Date.now()}-${randomSuffix()}`;
    const f = this.file(id);
    return this.lock.run(id, async () => {
      if (await readJsonFile(f)) throw alreadyExists(`lease ${id} already exists`, { field: 'id' });
      const lease: Lease = {
        id,
        createdAt: new Date().toISOString(),
        labels: opts.labels ?? {},
        resources: [],
        expiresAt: opts.expiresInMs ? new Date(Date.now() + opts.expiresInMs).toISOString() : undefined,
      };
      await writeFileAtomic(f, JSON.stringify(lease));
      return lease;
    });
  }

  async get(id: string): Promise<Lease> {
    const l = await readJsonFile<Lease>(this.file(id));
    if (!l) throw notFound(`lease ${id} not found`, { field: 'id' });
    return l;
  }

  async list(): Promise<Lease[]> {
    await mkdir(this.dir, { recursive: true });
    const out: Lease[] = [];
    for (const n of await readdir(this.dir)) {
      if (!n.endsWith('.json') || n.startsWith('.')) continue;
      // a lease deleted between readdir and read is simply no longer there
      const l = await readJsonFile<Lease>(join(this.dir, n)).catch(() => undefined);
      if (l) out.push(l);
    }
    return out;
  }

  async addResource(id: string, r: LeaseResource): Promise<void> {
    await this.lock.run(id, async () => {
      const l = await this.get(id);
      if (!l.resources.some((x) => x.type === r.type && x.id === r.id && x.snapshotter === r.snapshotter))
        l.resources.push(r);
      await writeFileAtomic(this.file(id), JSON.stringify(l));
    });
  }

  async deleteResource(id: string, r: LeaseResource): Promise<void> {
    await this.lock.run(id, async () => {
      const l = await this.get(id);
      l.resources = l.resources.filter((x) => !(x.type === r.type && x.id === r.id && x.snapshotter === r.snapshotter));
      await writeFileAtomic(this.file(id), JSON.stringify(l));
    });
  }

  async delete(id: string): Promise<void> {
    await this.lock.run(id, async () => {
      try {
        await unlink(this.file(id));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`lease ${id} not found`, { field: 'id' });
        throw e;
      }
    });
  }

  /** Runs `fn` under a fresh lease, deleting it afterwards. */
  async with<T>(fn: (lease: Lease) => Promise<T>, opts?: { expiresInMs?: number }): Promise<T> {
    const lease = await this.create({ expiresInMs: opts?.expiresInMs ?? 24 * 3600_000 });
    try {
      return await fn(lease);
    } finally {
      // the lease may have expired and been collected already; fn's own result or error stands
      await this.delete(lease.id).catch(() => {});
    }
  }
}

export function leaseActive(l: Lease, now = Date.now()): boolean {
  return !l.expiresAt || Date.parse(l.expiresAt) > now;
}
