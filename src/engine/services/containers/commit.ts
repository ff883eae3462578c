// `docker commit` (POST /commit): the container's writable-layer diff as a new layer over its
// image, with its config (plus the body's fields and the `--change` instructions) as the image's.
import { applyChanges, type ImageRunConfig } from '../../../image/index.js';
import { createLogger, logFailure } from '../../../common/index.js';
import type { Readable } from 'node:stream';
import type { CommitOptions } from '../images.js';
import type { Containers } from './service.js';

const log = createLogger({ component: 'engine.containers' });

export interface CommitInput {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes: string[];
  /** Pause a running container while its diff is taken (dockerd's default). */
  pause: boolean;
  /** Config fields from the request body, over the container's. */
  config: Record<string, unknown>;
}

/** What commit needs from the images service. */
export interface CommitImages {
  commitFromDiff(layerTar: Readable, config: ImageRunConfig, o: CommitOptions): Promise<string>;
}

export async function commitContainer(s: Containers, images: CommitImages, o: CommitInput): Promise<string> {
  const c = s.get(o.container);
  const base: Record<string, unknown> = {
    User: c.Config.User,
    Env: c.Config.Env,
    Cmd: c.Config.Cmd ?? undefined,
    Entrypoint: c.Config.Entrypoint ?? undefined,
    WorkingDir: c.Config.WorkingDir,
    Labels: c.Config.Labels,
    ExposedPorts: c.Config.ExposedPorts ?? undefined,
    Volumes: c.Config.Volumes ?? undefined,
    StopSignal: c.Config.StopSignal,
    ...(c.Config.Healthcheck ? { Healthcheck: c.Config.Healthcheck } : {}),
    ...o.config,
  };
  // The body's fields are the client's config JSON, taken as dockerd takes them (unvalidated: the
  // image config is a loose object whose unknown fields are kept).
  const config = applyChanges(base as ImageRunConfig, o.changes);
  const pause = o.pause && c.State.Running && !c.State.Paused;
  if (pause) await s.pause(c.Id);
  try {
    const diff = await s.ctx.snapshotter.diff(c.SnapshotKey);
    const id = await images.commitFromDiff(diff, config, {
      parent: c.Image,
      repo: o.repo,
      tag: o.tag,
      comment: o.comment,
      author: o.author,
      container: c.Id,
      containerConfig: c.Config,
      createdBy: [c.Path, ...c.Args].join(' '),
    });
    s.ctx.events.emit({
      Type: 'container',
      Action: 'commit',
      id: c.Id,
      attributes: { name: c.Name.slice(1), image: c.ImageName, comment: o.comment ?? '' },
    });
    return id;
  } finally {
    if (pause) await s.unpause(c.Id).catch(logFailure(log, 'commit: unpause failed', { id: c.Id }));
  }
}
