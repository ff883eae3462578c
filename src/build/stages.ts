// A stage's starting state (FROM): an earlier stage of the same build (a copy of its state),
// scratch, or a base image from the image store, pulled when missing or with --pull, and unpacked
// into the build's snapshotter.
import { invalidArgument, isSkiffError } from '../common/index.js';
import { defaultPlatform, type Images, type Snapshotter } from '../image/index.js';
import { expandWord, type Stage } from './dockerfile/index.js';
import type { BuilderOptions, BuildOptions } from './builder.js';
import type { StageState } from './state.js';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What a base stage is made from: the image store, the snapshotter, and the pull of a missing image. */
export interface StageSources {
  images: Images;
  snapshotter: Snapshotter;
  pull?: BuilderOptions['pull'];
}

export async function baseStage(
  o: StageSources,
  st: Stage,
  globals: Map<string, string>,
  results: Map<string, StageState>,
  b: Pick<BuildOptions, 'pull' | 'signal' | 'registryAuths'>,
): Promise<StageState> {
  const name = expandWord(st.from.image, globals);
  if (!name)
    throw invalidArgument(`Dockerfile:${st.from.line}: FROM: base name (${st.from.image}) should not be blank`, {
      field: 'FROM',
    });
  const prev = results.get(name.toLowerCase());
  if (prev)
    return {
      config: structuredClone(prev.config),
      layers: [...prev.layers],
      top: prev.top,
      args: new Map(),
      cacheBroken: false,
    };
  if (name === 'scratch') {
    const p = defaultPlatform();
    return {
      config: {
        architecture: p.architecture,
        os: p.os,
        config: { Env: [DEFAULT_PATH] },
        rootfs: { type: 'layers', diff_ids: [] },
        history: [],
      },
      layers: [],
      args: new Map(),
      cacheBroken: false,
    };
  }
  if (b.pull && o.pull) await o.pull(name, b.signal, b.registryAuths);
  let img;
  try {
    img = await o.images.resolve(name);
  } catch (e) {
    if (!isSkiffError(e, 'NotFound') || !o.pull || b.pull) throw e;
    await o.pull(name, b.signal, b.registryAuths);
    img = await o.images.resolve(name);
  }
  const top = await o.images.unpack(name, o.snapshotter, { signal: b.signal });
  const config = structuredClone(img.config);
  // As the classic builder: a base image without PATH gets the default one.
  const rc = (config.config ??= {});
  if (!(rc.Env ?? []).some((e) => e.startsWith('PATH='))) rc.Env = [DEFAULT_PATH, ...(rc.Env ?? [])];
  return { config, layers: [...img.manifest.layers], top, args: new Map(), cacheBroken: false };
}
