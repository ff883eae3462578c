// A container's environment as kubelet builds it: envFrom (ConfigMaps and Secrets, with a prefix),
// env values with `$(VAR)` expansion, valueFrom (fieldRef, resourceFieldRef, configMapKeyRef,
// secretKeyRef, optional references), then the Service variables of the pod's namespace
// (`<NAME>_SERVICE_HOST`, docker-link style `<NAME>_PORT_…`) for names not already set. A missing
// required reference is a CreateContainerConfigError with upstream's message.
import type {
  ConfigMap,
  Container,
  EnvVar,
  ObjectFieldSelector,
  Pod,
  ResourceFieldSelector,
  Secret,
} from '../types.js';
import { qty } from './resources.js';

export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
}

export interface ServiceInfo {
  name: string;
  clusterIP?: string;
  ports?: { name?: string; port: number; protocol?: string }[];
}

export interface EnvContext {
  pod: Pod;
  objects: ObjectSource;
  /** Services of the pod's namespace (for service links) and `default/kubernetes`. */
  services: ServiceInfo[];
  masterService?: ServiceInfo;
  hostIPs: string[];
  podIPs: string[];
  /** Node allocatable (cpu in millicores, memory and ephemeral-storage in bytes) for unset limits. */
  allocatable: { cpuMilli: number; memory: number; ephemeralStorage: number };
}

export class ConfigError extends Error {
  readonly reason = 'CreateContainerConfigError';
}

/** `$(VAR)` → its value when defined (else kept as written); `$$` → `$` (upstream's expansion). */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const end = input.indexOf(')', i + 2);
      if (end < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, end);
      const v = lookup(name);
      out += v ?? `$(${name})`;
      i = end;
    } else out += ch;
  }
  return out;
}

/** Any printable ASCII but `=` (upstream's relaxed environment variable names, on by default). */
export const isEnvName = (k: string) => k.length > 0 && /^[\x20-\x3c\x3e-\x7e]+$/.test(k);

export function serviceEnv(svcs: ServiceInfo[]): [string, string][] {
  const out: [string, string][] = [];
  for (const s of svcs) {
    if (!s.clusterIP || s.clusterIP === 'None' || !s.ports?.length) continue;
    const p = s.name.toUpperCase().replace(/-/g, '_');
    const ip = s.clusterIP;
    out.push([`${p}_SERVICE_HOST`, ip], [`${p}_SERVICE_PORT`, String(s.ports[0].port)]);
    for (const port of s.ports)
      if (port.name) out.push([`${p}_SERVICE_PORT_${port.name.toUpperCase().replace(/-/g, '_')}`, String(port.port)]);
    const proto = (s.ports[0].protocol ?? 'TCP').toLowerCase();
    out.push([`${p}_PORT`, `${proto}://${ip}:${s.ports[0].port}`]);
    for (const port of s.ports) {
      const pr = (port.protocol ?? 'TCP').toLowerCase();
      const base = `${p}_PORT_${port.port}_${pr.toUpperCase()}`;
      out.push(
        [base, `${pr}://${ip}:${port.port}`],
        [`${base}_PROTO`, pr],
        [`${base}_PORT`, String(port.port)],
        [`${base}_ADDR`, ip],
      );
    }
  }
  return out;
}

export function fieldValue(pod: Pod, f: ObjectFieldSelector, hostIPs: string[], podIPs: string[]): string {
  const path = f.fieldPath;
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (sub) return (sub[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[sub[2]] ?? '';
  const kv = (m: Record<string, string> | undefined) =>
    Object.keys(m ?? {})
      .sort()
      .map((k) => `${k}="${(m ?? {})[k].replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
      .join('\n');
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'metadata.labels':
      return kv(pod.metadata.labels);
    case 'metadata.annotations':
      return kv(pod.metadata.annotations);
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.hostIP':
      return hostIPs[0] ?? '';
    case 'status.hostIPs':
      return hostIPs.join(',');
    case 'status.podIP':
      return (pod.spec.hostNetwork ? hostIPs : podIPs)[0] ?? '';
    case 'status.podIPs':
      return (pod.spec.hostNetwork ? hostIPs : podIPs).join(',');
  }
  throw new ConfigError(`unsupported fieldPath: ${path}`);
}

export function resourceValue(
  pod: Pod,
  own: Container,
  f: ResourceFieldSelector,
  alloc: EnvContext['allocatable'],
): string {
  const c =
    (f.containerName
      ? [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((x) => x.name === f.containerName)
      : own) ?? own;
  const [kind, res] = f.resource.split('.', 2) as ['limits' | 'requests', string];
  const list = kind === 'limits' ? c.resources?.limits : c.resources?.requests;
  if (res === 'cpu') {
    let milli = qty(list?.cpu, true);
    if (!milli && kind === 'limits') milli = alloc.cpuMilli;
    const div = qty(f.divisor ?? '1', true) || 1000;
    return String(Math.ceil(milli / div));
  }
  if (res === 'memory' || res === 'ephemeral-storage' || res.startsWith('hugepages-')) {
    let v = qty(list?.[res]);
    if (!v && kind === 'limits')
      v = res === 'memory' ? alloc.memory : res === 'ephemeral-storage' ? alloc.ephemeralStorage : 0;
    const div = qty(f.divisor ?? '1') || 1;
    return String(Math.ceil(v / div));
  }
  throw new ConfigError(`unsupported container resource: ${f.resource}`);
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** The container's environment, in order; throws ConfigError for a missing required reference. */
export async function containerEnv(ctx: EnvContext, c: Container): Promise<[string, string][]> {
  const { pod, objects } = ctx;
  const ns = pod.metadata.namespace;
  const env = new Map<string, string>();
  const svc = new Map(serviceEnv(ctx.pod.spec.enableServiceLinks === false ? [] : ctx.services));
  for (const [k, v] of serviceEnv(ctx.masterService ? [ctx.masterService] : [])) svc.set(k, v);
  for (const src of c.envFrom ?? []) {
    const prefix = src.prefix ?? '';
    if (src.configMapRef) {
      const name = src.configMapRef.name ?? '';
      const cm = await objects.configMap(ns, name);
      if (!cm) {
        if (src.configMapRef.optional) continue;
        throw new ConfigError(`configmap "${name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) if (isEnvName(prefix + k)) env.set(prefix + k, v);
    } else if (src.secretRef) {
      const name = src.secretRef.name ?? '';
      const s = await objects.secret(ns, name);
      if (!s) {
        if (src.secretRef.optional) continue;
        throw new ConfigError(`secret "${name}" not found`);
      }
      for (const [k, v] of Object.entries(s.data ?? {})) if (isEnvName(prefix + k)) env.set(prefix + k, b64(v));
    }
  }
  const lookup = (n: string) => env.get(n) ?? svc.get(n);
  for (const e of c.env ?? []) await setVar(ctx, c, e, env, lookup);
  for (const [k, v] of svc) if (!env.has(k)) env.set(k, v);
  return [...env];
}

async function setVar(
  ctx: EnvContext,
  c: Container,
  e: EnvVar,
  env: Map<string, string>,
  lookup: (n: string) => string | undefined,
): Promise<void> {
  const { pod, objects } = ctx;
  const ns = pod.metadata.namespace;
  const vf = e.valueFrom;
  if (!vf) {
    env.set(e.name, expand(e.value ?? '', lookup));
    return;
  }
  if (vf.fieldRef) env.set(e.name, fieldValue(pod, vf.fieldRef, ctx.hostIPs, ctx.podIPs));
  else if (vf.resourceFieldRef) env.set(e.name, resourceValue(pod, c, vf.resourceFieldRef, ctx.allocatable));
  else if (vf.configMapKeyRef) {
    const r = vf.configMapKeyRef;
    const cm = await objects.configMap(ns, r.name ?? '');
    if (!cm) {
      if (r.optional) return;
      throw new ConfigError(`configmap "${r.name}" not found`);
    }
    const v = cm.data?.[r.key] ?? (cm.binaryData?.[r.key] !== undefined ? b64(cm.binaryData[r.key]) : undefined);
    if (v === undefined) {
      if (r.optional) return;
      throw new ConfigError(`couldn't find key ${r.key} in ConfigMap ${ns}/${r.name}`);
    }
    env.set(e.name, v);
  } else if (vf.secretKeyRef) {
    const r = vf.secretKeyRef;
    const s = await objects.secret(ns, r.name ?? '');
    if (!s) {
      if (r.optional) return;
      throw new ConfigError(`secret "${r.name}" not found`);
    }
    const v = s.data?.[r.key];
    if (v === undefined) {
      if (r.optional) return;
      throw new ConfigError(`couldn't find key ${r.key} in Secret ${ns}/${r.name}`);
    }
    env.set(e.name, b64(v));
  }
}
