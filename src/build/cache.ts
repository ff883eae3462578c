// The build cache: step key → the stage state after that step (config, layers, top snapshot).
// One JSON file per key under `<dir>/`: each is written atomically (rename), survives restarts, and
// needs no single-writer database. A hit is used only when its layers and snapshot still exist.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Descriptor, ImageConfig, Snapshotter } from '../image/index.js';
import type { StageState, StepCtx } from './state.js';
import { randomSuffix } from '../common/index.js';

export interface CacheEntry {
  config: ImageConfig;
  layers: Descriptor[];
  top?: string;
  /** The instruction (entries written before these fields existed lack them). */
  step?: string;
  /** The layer this step added, if any. */
  layer?: Descriptor;
  created?: string;
  lastUsed?: string;
  usage?: number;
}

export class BuildCache {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** The key of a step: the parent state, the instruction (after substitution) and extra inputs. */
  static key(parent: StageState, step: string, extra: string): string {
    const h = createHash('sha256');
    const cfg = {
      ...parent.config,
      created: undefined,
      history: (parent.config.history ?? []).map((x) => x.created_by),
    };
    h.update(JSON.stringify({ cfg, top: parent.top ?? '', step, extra }));
    return h.digest('hex');
  }

  get(key: string): CacheEntry | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, `${key}.json`), 'utf8')) as CacheEntry;
    } catch {
      return undefined;
    }
  }

  put(key: string, s: StageState, o: { step?: string; layer?: Descriptor } = {}): void {
    const now = new Date().toISOString();
    this.write(key, {
      config: s.config,
      layers: s.layers,
      top: s.top,
      step: o.step,
      layer: o.layer,
      created: now,
      lastUsed: now,
      usage: 1,
    });
  }

  /** Records a hit (LastUsedAt, UsageCount). */
  touch(key: string, e: CacheEntry): void {
    try {
      this.write(key, { ...e, lastUsed: new Date().toISOString(), usage: (e.usage ?? 1) + 1 });
    } catch {
      /* a read-only or full disk costs the statistics only */
    }
  }

  private write(key: string, e: CacheEntry): void {
    const tmp = join(this.dir, `.${key}.${randomSuffix()}`);
    writeFileSync(tmp, JSON.stringify(e));
    renameSync(tmp, join(this.dir, `${key}.json`));
  }

  /** Every entry with its file's time (entries older than the statistics fields use it). */
  list(): { key: string; entry: CacheEntry; mtime: Date }[] {
    const out: { key: string; entry: CacheEntry; mtime: Date }[] = [];
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json') || f.startsWith('.')) continue;
      try {
        const p = join(this.dir, f);
        out.push({
          key: f.slice(0, -5),
          entry: JSON.parse(readFileSync(p, 'utf8')) as CacheEntry,
          mtime: statSync(p).mtime,
        });
      } catch {
        /* removed meanwhile, or a torn file from before atomic writes */
      }
    }
    return out;
  }

  /** Drops every entry; returns how many and their bytes. */
  prune(): { CachesDeleted: string[]; SpaceReclaimed: number } {
    const deleted: string[] = [];
    let bytes = 0;
    for (const f of readdirSync(this.dir)) {
      const p = join(this.dir, f);
      try {
        bytes += statSync(p).size;
      } catch {
        /* raced */
      }
      rmSync(p, { force: true });
      if (f.endsWith('.json') && !f.startsWith('.')) deleted.push(f.slice(0, -5));
    }
    return { CachesDeleted: deleted, SpaceReclaimed: bytes };
  }

  /** Runs one step through the cache: a hit (whose snapshot still exists) is restored into `s`;
   *  otherwise `run` makes the step and its result is recorded. True on a hit. After a miss, later
   *  steps of the stage are not looked up (`cacheBroken`). */
  async step(
    s: StageState,
    stepKey: string,
    extra: string,
    c: Pick<StepCtx, 'noCache' | 'desc'>,
    sn: Pick<Snapshotter, 'stat'>,
    run: () => Promise<void>,
  ): Promise<boolean> {
    const key = BuildCache.key(s, stepKey, extra);
    if (!c.noCache && !s.cacheBroken) {
      const e = this.get(key);
      if (
        e &&
        (!e.top ||
          (await sn.stat(e.top).then(
            () => true,
            () => false,
          )))
      ) {
        const args = s.args;
        Object.assign(s, { config: e.config, layers: e.layers, top: e.top, args });
        this.touch(key, e);
        return true;
      }
    }
    const before = s.layers.length;
    await run();
    s.cacheBroken = true;
    this.put(key, s, { step: c.desc, layer: s.layers.length > before ? s.layers.at(-1) : undefined });
    return false;
  }
}
