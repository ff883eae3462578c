// Per-network state on disk: the network's configuration plus its endpoints, which are also the
// host-local IPAM (an address is taken exactly when an endpoint holds it). One JSON file per
// network, written atomically (temp file + rename) under a lock file so two processes sharing a
// state directory never hand out one address twice.
import {
  mkdirSync,
  readFileSync,
  writeFileSync,
  renameSync,
  openSync,
  closeSync,
  unlinkSync,
  readdirSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { internal, unavailable, sleep } from '../common/index.js';

export const portMappingSchema = z.object({
  hostIp: z.string(),
  hostPort: z.number().int(),
  containerPort: z.number().int(),
  proto: z.enum(['tcp', 'udp']),
});
export type PortMapping = z.infer<typeof portMappingSchema>;

export const endpointSchema = z.object({
  id: z.string(),
  name: z.string(),
  aliases: z.array(z.string()),
  ip: z.string(),
  mac: z.string(),
  ifname: z.string(),
  hostVeth: z.string(),
  netns: z.string(),
  netnsIno: z.number(),
  ports: z.array(portMappingSchema),
});
export type Endpoint = z.infer<typeof endpointSchema>;

export const networkConfigSchema = z.object({
  name: z.string(),
  bridge: z.string(),
  subnet: z.string(),
  gateway: z.string(),
  ipRange: z.string().optional(),
  internal: z.boolean(),
  mtu: z.number().int(),
  dns: z.boolean(),
  labels: z.record(z.string(), z.string()),
  created: z.string(),
});
export type NetworkConfig = z.infer<typeof networkConfigSchema>;

export const networkStateSchema = z.object({
  config: networkConfigSchema,
  endpoints: z.record(z.string(), endpointSchema),
});
export type NetworkState = z.infer<typeof networkStateSchema>;

export class StateDir {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  names(): string[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5));
  }

  read(name: string): NetworkState | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(name), 'utf8');
    } catch {
      return undefined;
    }
    const r = networkStateSchema.safeParse(JSON.parse(text));
    if (!r.success) throw internal(`network state ${this.file(name)} is malformed: ${r.error.issues[0]?.message}`);
    return r.data;
  }

  write(s: NetworkState): void {
    const tmp = `${this.file(s.config.name)}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(s, null, 1));
    renameSync(tmp, this.file(s.config.name));
  }

  delete(name: string): void {
    try {
      unlinkSync(this.file(name));
    } catch {
      /* gone */
    }
  }

  /** Runs fn holding the directory's lock file (stale locks of dead processes are taken over). */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    const lock = join(this.dir, '.lock');
    for (let i = 0; ; i++) {
      try {
        const fd = openSync(lock, 'wx');
        writeFileSync(fd, String(process.pid));
        closeSync(fd);
        break;
      } catch {
        let holder = 0;
        try {
          holder = Number(readFileSync(lock, 'utf8'));
        } catch {
          continue;
        }
        if (!holder || !existsSync(`/proc/${holder}`)) {
          try {
            unlinkSync(lock);
          } catch {
            /* raced */
          }
          continue;
        }
        if (i > 500) throw unavailable(`network state ${this.dir} is locked by process ${holder}`);
        await sleep(10);
      }
    }
    try {
      return await fn();
    } finally {
      try {
        unlinkSync(lock);
      } catch {
        /* gone */
      }
    }
  }
}
