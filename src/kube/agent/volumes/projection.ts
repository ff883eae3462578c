// The files of configMap, secret, downwardAPI and projected volumes (upstream's MakePayload for each
// plugin): every key or only the listed items, modes from the item or the volume's defaultMode,
// optional sources, and upstream's messages for what is missing.
import type { DownwardAPIVolumeFile, KeyToPath, Pod, VolumeProjection } from '../types.js';
import { fieldValue, resourceValue, type EnvContext, type ObjectSource } from '../pods/env.js';
import type { FileProjection } from './atomic-writer.js';

export class MountError extends Error {}

export interface TokenSource {
  /** A token for the pod's service account (TokenRequest bound to the pod). */
  token(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string>;
}

export interface ProjectionContext {
  pod: Pod;
  objects: ObjectSource;
  tokens: TokenSource;
  hostIPs: string[];
  podIPs: string[];
  allocatable: EnvContext['allocatable'];
}

type Payload = Map<string, FileProjection>;

function keyed(
  data: Map<string, Buffer>,
  items: KeyToPath[] | undefined,
  mode: number,
  missingKey: (k: string) => string,
  optional: boolean,
  out: Payload,
): void {
  if (!items?.length) {
    for (const [k, v] of data) out.set(k, { data: v, mode });
    return;
  }
  for (const it of items) {
    const v = data.get(it.key);
    if (!v) {
      if (optional) continue;
      throw new MountError(missingKey(it.key));
    }
    out.set(it.path, { data: v, mode: it.mode ?? mode });
  }
}

async function configMapFiles(
  ctx: ProjectionContext,
  src: { name?: string; items?: KeyToPath[]; optional?: boolean },
  mode: number,
  out: Payload,
): Promise<void> {
  const cm = await ctx.objects.configMap(ctx.pod.metadata.namespace, src.name ?? '');
  if (!cm) {
    if (src.optional) return;
    throw new MountError(`configmap "${src.name}" not found`);
  }
  const data = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) data.set(k, Buffer.from(v));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) data.set(k, Buffer.from(v, 'base64'));
  keyed(data, src.items, mode, (k) => `configmap references non-existent config key: ${k}`, !!src.optional, out);
}

async function secretFiles(
  ctx: ProjectionContext,
  src: { name?: string; items?: KeyToPath[]; optional?: boolean },
  mode: number,
  out: Payload,
): Promise<void> {
  const s = await ctx.objects.secret(ctx.pod.metadata.namespace, src.name ?? '');
  if (!s) {
    if (src.optional) return;
    throw new MountError(`secret "${src.name}" not found`);
  }
  const data = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(s.data ?? {})) data.set(k, Buffer.from(v, 'base64'));
  keyed(data, src.items, mode, (k) => `references non-existent secret key: ${k}`, !!src.optional, out);
}

function downwardFiles(ctx: ProjectionContext, items: DownwardAPIVolumeFile[], mode: number, out: Payload): void {
  for (const it of items) {
    let v = '';
    if (it.fieldRef) v = fieldValue(ctx.pod, it.fieldRef, ctx.hostIPs, ctx.podIPs);
    else if (it.resourceFieldRef) {
      const c =
        ctx.pod.spec.containers.find((x) => x.name === it.resourceFieldRef?.containerName) ??
        ctx.pod.spec.containers[0];
      v = resourceValue(ctx.pod, c, it.resourceFieldRef, ctx.allocatable);
    }
    out.set(it.path, { data: Buffer.from(v), mode: it.mode ?? mode });
  }
}

export async function configMapPayload(
  ctx: ProjectionContext,
  v: { name?: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean },
): Promise<Payload> {
  const out: Payload = new Map();
  await configMapFiles(ctx, v, v.defaultMode ?? 0o644, out);
  return out;
}

export async function secretPayload(
  ctx: ProjectionContext,
  v: { secretName?: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean },
): Promise<Payload> {
  const out: Payload = new Map();
  await secretFiles(ctx, { name: v.secretName, items: v.items, optional: v.optional }, v.defaultMode ?? 0o644, out);
  return out;
}

export function downwardPayload(
  ctx: ProjectionContext,
  v: { items?: DownwardAPIVolumeFile[]; defaultMode?: number },
): Payload {
  const out: Payload = new Map();
  downwardFiles(ctx, v.items ?? [], v.defaultMode ?? 0o644, out);
  return out;
}

export async function projectedPayload(
  ctx: ProjectionContext,
  v: { sources?: VolumeProjection[]; defaultMode?: number },
): Promise<Payload> {
  const out: Payload = new Map();
  const mode = v.defaultMode ?? 0o644;
  for (const s of v.sources ?? []) {
    if (s.configMap) await configMapFiles(ctx, s.configMap, mode, out);
    else if (s.secret) await secretFiles(ctx, s.secret, mode, out);
    else if (s.downwardAPI) downwardFiles(ctx, s.downwardAPI.items ?? [], mode, out);
    else if (s.serviceAccountToken) {
      const t = s.serviceAccountToken;
      const token = await ctx.tokens.token(ctx.pod, t.audience, t.expirationSeconds ?? 3600);
      out.set(t.path, { data: Buffer.from(token), mode });
    }
  }
  return out;
}
