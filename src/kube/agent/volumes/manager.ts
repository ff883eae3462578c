// The pod's volumes on the host, laid out as kubelet does under `<root>/pods/<uid>/volumes/
// kubernetes.io~<plugin>/<name>`: emptyDir (a directory, or tmpfs for medium Memory, sized by
// sizeLimit), hostPath (with its type checks), configMap/secret/downwardAPI/projected (written by
// the atomic writer, re-written in place on every sync so updates reach running containers),
// persistentVolumeClaim (the bound PV's host path). setUp is idempotent; tearDown unmounts and
// removes what the agent made for a pod and never follows a hostPath or PV.
import { existsSync, mkdirSync, chmodSync, chownSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { traceMark, traceNow } from '../../../common/index.js';
import { join } from 'node:path';
import type { Pod, Volume } from '../types.js';
import { qty } from '../pods/resources.js';
import { writeAtomic } from './atomic-writer.js';
import { checkHostPath } from './host-path.js';
import { mountTmpfs, unmountAll, isMountPoint } from './mounts.js';
import {
  configMapPayload,
  downwardPayload,
  MountError,
  projectedPayload,
  secretPayload,
  type ProjectionContext,
} from './projection.js';

export interface ClaimSource {
  /** The host directory of the PV bound to the claim (made when missing), or a MountError. */
  claimPath(pod: Pod, claimName: string): Promise<string>;
}

export interface MountedVolume {
  hostPath: string;
  readOnly: boolean;
  /** configMap/secret/downwardAPI/projected: a subPath of these is a copy (not updated). */
  projected: boolean;
}

export interface VolumeManagerOptions {
  /** kubelet's root dir (pods/<uid>/… live here). */
  root: string;
  claims: ClaimSource;
  /** Secret and projected volumes on tmpfs (default true; needs root). */
  memoryBackedSecrets?: boolean;
}

const PLUGIN: Record<string, string> = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
};

export class VolumeManager {
  constructor(private opts: VolumeManagerOptions) {}

  podDir(uid: string): string {
    return join(this.opts.root, 'pods', uid);
  }

  /** Pod uids that have a directory (for cleanup of pods the agent no longer knows). */
  podUids(): string[] {
    try {
      return readdirSync(join(this.opts.root, 'pods'));
    } catch {
      return [];
    }
  }

  /** Sets up every volume of the pod; throws MountError naming the first that failed. */
  async setUp(ctx: ProjectionContext): Promise<Map<string, MountedVolume>> {
    const pod = ctx.pod;
    const out = new Map<string, MountedVolume>();
    // asynchronous: a directory's creation can wait long on the file system's journal under pod
    // churn, and a synchronous one blocked every pod's work meanwhile
    await mkdir(join(this.podDir(pod.metadata.uid), 'volumes'), { recursive: true, mode: 0o750 });
    for (const v of pod.spec.volumes ?? []) {
      try {
        out.set(v.name, await this.setUpOne(ctx, v));
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new MountError(`MountVolume.SetUp failed for volume "${v.name}" : ${msg}`);
      }
    }
    return out;
  }

  private dir(uid: string, plugin: string, name: string): string {
    return join(this.podDir(uid), 'volumes', PLUGIN[plugin], name);
  }

  private async setUpOne(ctx: ProjectionContext, v: Volume): Promise<MountedVolume> {
    const pod = ctx.pod;
    const uid = pod.metadata.uid;
    const fsGroup = pod.spec.securityContext?.fsGroup;
    const memSecrets = this.opts.memoryBackedSecrets !== false;
    if (v.emptyDir) {
      const d = this.dir(uid, 'emptyDir', v.name);
      mkdirSync(d, { recursive: true });
      if (v.emptyDir.medium === 'Memory') await mountTmpfs(d, this.memorySize(pod, v), '0777');
      if (!isMountPoint(d) || v.emptyDir.medium === 'Memory') {
        chmodSync(d, fsGroup !== undefined ? 0o2777 : 0o777);
        if (fsGroup !== undefined) chownSync(d, -1, fsGroup);
      }
      return { hostPath: d, readOnly: false, projected: false };
    }
    if (v.hostPath) {
      checkHostPath(v.hostPath.path, v.hostPath.type ?? '');
      return { hostPath: v.hostPath.path, readOnly: false, projected: false };
    }
    if (v.persistentVolumeClaim) {
      const p = await this.opts.claims.claimPath(pod, v.persistentVolumeClaim.claimName);
      return { hostPath: p, readOnly: v.persistentVolumeClaim.readOnly === true, projected: false };
    }
    const kind = v.configMap
      ? 'configMap'
      : v.secret
        ? 'secret'
        : v.downwardAPI
          ? 'downwardAPI'
          : v.projected
            ? 'projected'
            : '';
    if (!kind)
      throw new MountError(
        `unsupported volume type (only emptyDir, hostPath, configMap, secret, downwardAPI, projected and persistentVolumeClaim)`,
      );
    const d = this.dir(uid, kind, v.name);
    let t0 = traceNow();
    await mkdir(d, { recursive: true, mode: 0o755 });
    traceMark(uid, 'vol.mkdir', t0);
    t0 = traceNow();
    if (memSecrets && (kind === 'secret' || kind === 'projected')) await mountTmpfs(d, undefined, '0755');
    traceMark(uid, 'vol.tmpfs', t0);
    t0 = traceNow();
    const payload = v.configMap
      ? await configMapPayload(ctx, v.configMap)
      : v.secret
        ? await secretPayload(ctx, v.secret)
        : v.downwardAPI
          ? downwardPayload(ctx, v.downwardAPI)
          : await projectedPayload(ctx, v.projected ?? {});
    traceMark(uid, 'vol.payload', t0);
    t0 = traceNow();
    writeAtomic(d, payload, fsGroup);
    traceMark(uid, 'vol.write', t0);
    return { hostPath: d, readOnly: true, projected: true };
  }

  /** tmpfs size: sizeLimit, else the pod's memory limit when every container has one. */
  private memorySize(pod: Pod, v: Volume): number | undefined {
    const limit = v.emptyDir?.sizeLimit !== undefined ? qty(v.emptyDir.sizeLimit) : 0;
    const cs = pod.spec.containers;
    const podLimit = cs.every((c) => qty(c.resources?.limits?.memory) > 0)
      ? cs.reduce((n, c) => n + qty(c.resources?.limits?.memory), 0)
      : 0;
    const sizes = [limit, podLimit].filter((n) => n > 0);
    return sizes.length ? Math.min(...sizes) : undefined;
  }

  /** Bytes used by each disk-backed emptyDir with a sizeLimit that is over it (for eviction). */
  overLimit(pod: Pod): { name: string; used: number; limit: number } | undefined {
    for (const v of pod.spec.volumes ?? []) {
      if (!v.emptyDir || v.emptyDir.medium === 'Memory' || v.emptyDir.sizeLimit === undefined) continue;
      const limit = qty(v.emptyDir.sizeLimit);
      const d = this.dir(pod.metadata.uid, 'emptyDir', v.name);
      if (!existsSync(d)) continue;
      const used = du(d);
      if (used > limit) return { name: v.name, used, limit };
    }
    return undefined;
  }

  /** Unmounts the pod's tmpfs volumes and removes its directory. */
  async tearDown(uid: string): Promise<void> {
    const dir = this.podDir(uid);
    if (!existsSync(dir)) return;
    await unmountAll(dir);
    // asynchronously: a recursive removal blocked the event loop (every pod on the node) for tens
    // of ms a pod when many pods went at once
    await rm(dir, { recursive: true, force: true });
  }
}

function du(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += du(p);
    else if (e.isFile()) n += statSync(p).blocks * 512;
  }
  return n;
}
