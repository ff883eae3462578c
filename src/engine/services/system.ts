// The engine-wide views of the Engine API's system routes (/info's counts, /system/df, /events):
// gathered here from the services so that the routes only shape the answer.
import type { BuildCacheRecord } from '../../build/index.js';
import type { Images, Snapshotter } from '../../image/index.js';
import type { EngineEvent, EventBus, EventListener } from '../events.js';
import type { Filters } from './common/filters.js';
import type { EngineInfo, VolumeInfo } from './context.js';
import type { ContainerRecord } from './containers/record.js';
import { summary } from './containers/view.js';
import { sizesOf } from './containers/size.js';

export interface SystemDeps {
  root: string;
  info: EngineInfo;
  imageStore: Images;
  snapshotter: Snapshotter;
  events: EventBus;
  containers: {
    all(): ContainerRecord[];
    count(): { total: number; running: number; paused: number; stopped: number };
  };
  images: { diskUsage(): Promise<{ Id: string; Size: number }[]> };
  volumes: { usage(): Promise<VolumeInfo[]> };
  build: { diskUsage(): Promise<BuildCacheRecord[]> };
}

export class SystemApi {
  readonly info: EngineInfo;
  readonly root: string;
  constructor(private readonly d: SystemDeps) {
    this.info = d.info;
    this.root = d.root;
  }

  containerCounts() {
    return this.d.containers.count();
  }

  imageCount(): Promise<number> {
    return this.d.imageStore.store.list().then(
      (l) => new Set(l.map((x) => x.target.digest)).size,
      () => 0, // /info answers with what it can: an unreadable store counts as none
    );
  }

  storageDriver(): string {
    return this.d.snapshotter.name === 'overlayfs' ? 'overlay2' : 'vfs';
  }

  async diskUsage() {
    const d = this.d;
    // an unreadable image store shows no images rather than failing the whole df
    const images = await d.images.diskUsage().catch(() => []);
    // The docker CLI reads UsageData of every volume (a missing one crashes its template).
    const volumes = await d.volumes.usage();
    const buildCache = await d.build.diskUsage();
    const all = d.containers.all();
    const sizes = await sizesOf(d.snapshotter, d.images, all);
    return {
      LayersSize: images.reduce((a, i) => a + (i.Size ?? 0), 0),
      Images: images,
      Containers: all.map((r, i) => summary(r, sizes[i])),
      Volumes: volumes,
      BuildCache: buildCache,
      // the CLI's `system df -v` heading ("Build cache usage: …") reads this total
      BuilderSize: buildCache.reduce((a, b) => a + b.Size, 0),
    };
  }

  subscribe(l: EventListener): () => void {
    return this.d.events.subscribe(l);
  }

  pastEvents(f: Filters, since?: number, until?: number): EngineEvent[] {
    return this.d.events.past(f, since, until);
  }
}
