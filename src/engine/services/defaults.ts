// Minimal ImagesService / VolumesService used by the daemon until (or unless) the images side's full
// services are wired in: image resolution + unpacking straight from src/image, and local-driver
// volume directories under DATA_ROOT/volumes/<name>/_data.
import { mkdirSync, rmSync, existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../common/index.js';
import type { EngineBase, ImagesService, VolumesService, VolumeInfo } from '../api/context.js';

export function baseImages(base: EngineBase): ImagesService {
  return {
    async resolve(ref) {
      const r = await base.imageStore.resolve(ref);
      return { id: r.id, name: r.record.name, config: r.config };
    },
    unpack: (ref, signal) => base.imageStore.unpack(ref, base.snapshotter, { signal }),
  };
}

export function baseVolumes(base: EngineBase): VolumesService {
  const root = join(base.root, 'volumes');
  const meta = (name: string) => join(root, name, 'meta.json');
  return {
    async ensure(name, opts = {}) {
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) throw invalidArgument(`volume name "${name}" includes invalid characters`, { field: 'Name' });
      const dir = join(root, name);
      if (existsSync(meta(name))) return JSON.parse(readFileSync(meta(name), 'utf8')) as VolumeInfo;
      mkdirSync(join(dir, '_data'), { recursive: true });
      const v: VolumeInfo = { Name: name, Driver: 'local', Mountpoint: join(dir, '_data'), CreatedAt: new Date().toISOString(),
        Labels: { ...(opts.labels ?? {}), ...(opts.anonymous ? { 'com.docker.volume.anonymous': '' } : {}) }, Scope: 'local', Options: {} };
      writeFileSync(`${meta(name)}.tmp`, JSON.stringify(v));
      renameSync(`${meta(name)}.tmp`, meta(name));
      base.events.emit({ Type: 'volume', Action: 'create', id: name, attributes: { driver: 'local' } });
      return v;
    },
    async remove(name) {
      if (!existsSync(join(root, name))) return;
      rmSync(join(root, name), { recursive: true, force: true });
      base.events.emit({ Type: 'volume', Action: 'destroy', id: name, attributes: { driver: 'local' } });
    },
  };
}
