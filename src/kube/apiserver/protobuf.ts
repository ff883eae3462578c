// Decoding of Kubernetes' protobuf request bodies (`application/vnd.kubernetes.protobuf`): the
// `k8s\0` magic + runtime.Unknown envelope, then the object as the message of its kind, read with
// protobufjs from upstream's descriptors (proto/kube.json, made by scripts/gen-kube-proto.mjs from
// k8s.io/api's generated.proto files). kubectl's generated (typed) clients always send built-in
// kinds as protobuf with no JSON fallback (`kubectl create configmap|deployment|pdb|ingress|
// priorityclass`, `kubectl debug --copy-to`, `kubectl debug node/…`, `auth can-i`), so every field
// of every built-in kind must come through. Responses stay JSON (those clients accept it).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { internal } from '../../common/index.js';
import { errBadRequest } from './status.js';

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
/** Scalars that are pointers in the Go types (`*int32`, `*bool`): sent only when set, so a 0 or a
 *  false is meaningful (runAsUser: 0, allowPrivilegeEscalation: false, replicas: 0). Other
 *  scalars are always sent and their zero means unset (Go's omitempty), so it is dropped. From
 *  k8s.io/api's types.go; `timeoutSeconds`, `port`, `readOnly` and `count` are left out because
 *  they are plain values in their common kinds (probes, services, mounts, events). */
const POINTER_SCALARS = new Set(
  (
    'activeDeadlineSeconds allocateLoadBalancerNodePorts allowPrivilegeEscalation allowVolumeExpansion ' +
    'attachRequired automountServiceAccountToken averageUtilization backoffLimit backoffLimitPerIndex ' +
    'blockOwnerDeletion borrowingLimitPercent collisionCount completions controller defaultMode ' +
    'deletionGracePeriodSeconds enableServiceLinks endPort expirationSeconds failedJobsHistoryLimit fsGroup ' +
    'gracePeriodSeconds hostProcess hostUsers immutable leaseDurationSeconds leaseTransitions lendablePercent ' +
    'manualSelector maxFailedIndexes minDomains minReplicas mode nominalConcurrencyShares optional ' +
    'orphanDependents parallelism partition podInfoOnMount priority privileged progressDeadlineSeconds ' +
    'readOnlyRootFilesystem ready replicas requiresRepublish revisionHistoryLimit runAsGroup runAsNonRoot ' +
    'runAsUser seLinuxMount serving setHostnameAsFQDN shareProcessNamespace stabilizationWindowSeconds ' +
    'started startingDeadlineSeconds storageCapacity successfulJobsHistoryLimit suspend ' +
    'targetAverageUtilization targetCPUUtilizationPercentage terminating terminationGracePeriodSeconds ' +
    'tolerationSeconds ttlSecondsAfterFinished'
  ).split(' '),
);

/** Go structs embedded with `json:",inline"`: a message of their own in protobuf, their fields
 *  flattened into the outer object in JSON (Probe.handler, Volume.volumeSource, …). */
const INLINE = new Set([
  'handler',
  'volumeSource',
  'persistentVolumeSource',
  'localObjectReference',
  'ingressRuleValue',
  'rule',
  'ruleWithOperations',
  'deviceConfiguration',
  'ephemeralContainerCommon',
]);

let root: protobuf.Root | undefined;
/** The descriptors, loaded on the first protobuf body: beside this file in the sources,
 *  dist/proto/ in the bundle. */
function types(): protobuf.Root {
  if (root) return root;
  for (const rel of ['./proto/kube.json', '../proto/kube.json']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return (root = protobuf.Root.fromJSON(JSON.parse(readFileSync(p, 'utf8'))));
  }
  // An installation defect (the build did not copy it), not a client's error.
  throw internal('src/kube/apiserver/proto/kube.json not found (the build copies it to dist/proto/)');
}

/** The message of a kind: `apps/v1` → k8s.io.api.apps.v1, `rbac.authorization.k8s.io/v1` →
 *  k8s.io.api.rbac.v1, `v1` → core; meta kinds (DeleteOptions) from apimachinery. */
function messageOf(apiVersion: string, kind: string): protobuf.Type | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const pkg = group.split('.')[0];
  for (const name of [`k8s.io.api.${pkg}.${version}.${kind}`, `${META}.${kind}`]) {
    const t = types().lookup(name);
    if (t instanceof protobuf.Type) return t;
  }
  return undefined;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const pad = (n: number, w: number) => String(n).padStart(w, '0');
function timestamp(m: Record<string, unknown>, micro: boolean): string | undefined {
  const secs = num(m.seconds ?? 0);
  if (secs <= 0) return undefined; // Go's zero time: null in JSON
  const base = new Date(secs * 1000).toISOString().slice(0, 19);
  return micro ? `${base}.${pad(Math.floor(num(m.nanos ?? 0) / 1000), 6)}Z` : `${base}Z`;
}
/** A Go time.Duration in nanoseconds as Go prints it (1h2m3.5s, 150ms). */
function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let rest = Math.abs(ns);
  if (rest < 1e9) return `${sign}${rest >= 1e6 ? rest / 1e6 + 'ms' : rest >= 1e3 ? rest / 1e3 + 'µs' : rest + 'ns'}`;
  const h = Math.floor(rest / 3.6e12);
  rest -= h * 3.6e12;
  const m = Math.floor(rest / 6e10);
  rest -= m * 6e10;
  return `${sign}${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${rest / 1e9}s`;
}
const rawJson = (b: Uint8Array | undefined): unknown => {
  if (!b?.length) return undefined;
  try {
    return JSON.parse(Buffer.from(b).toString('utf8'));
  } catch {
    throw errBadRequest('protobuf: an embedded object is not JSON');
  }
};

/** One value of a field, as it reads in JSON (undefined: leave the field out). */
function value(f: protobuf.Field, v: unknown): unknown {
  const t = f.resolvedType;
  if (t instanceof protobuf.Type) {
    const m = v as Record<string, unknown>;
    switch (t.fullName.slice(1)) {
      case `${META}.Time`:
        return timestamp(m, false);
      case `${META}.MicroTime`:
        return timestamp(m, true);
      case `${META}.Duration`:
        return goDuration(num(m.duration ?? 0));
      case `${META}.FieldsV1`:
        return rawJson(m.Raw as Uint8Array);
      case 'k8s.io.apimachinery.pkg.runtime.RawExtension':
        return rawJson(m.raw as Uint8Array);
      case 'k8s.io.apimachinery.pkg.api.resource.Quantity':
        return (m.string as string) ?? '0';
      case 'k8s.io.apimachinery.pkg.util.intstr.IntOrString':
        return num(m.type ?? 0) === 1 ? (m.strVal ?? '') : num(m.intVal ?? 0);
      default:
        return toJson(t, m);
    }
  }
  if (f.type === 'bytes') return Buffer.from(v as Uint8Array).toString('base64');
  if (f.type === 'string') return v === '' ? undefined : v;
  if (f.type === 'bool') return v || POINTER_SCALARS.has(f.name) ? v : undefined;
  const n = num(v);
  return n !== 0 || POINTER_SCALARS.has(f.name) ? n : undefined;
}

function toJson(type: protobuf.Type, m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    if (!Object.hasOwn(m, f.name)) continue;
    const v = m[f.name];
    if (f.map) {
      const entries = Object.entries(v as Record<string, unknown>);
      // Map values are kept as sent, zero or not (a label "" or a quantity "0" is data).
      if (entries.length)
        out[f.name] = Object.fromEntries(
          entries.map(([k, x]) => [
            k,
            f.resolvedType || f.type === 'bytes' ? value(f, x) : f.type === 'string' ? x : num(x),
          ]),
        );
    } else if (f.repeated) {
      const arr = v as unknown[];
      if (arr.length)
        out[f.name] = arr.map((x) =>
          f.resolvedType
            ? (value(f, x) ?? {})
            : f.type === 'bytes'
              ? value(f, x)
              : f.type === 'string' || f.type === 'bool'
                ? x
                : num(x),
        );
    } else {
      const x = value(f, v);
      if (x !== undefined && f.resolvedType && INLINE.has(f.name)) Object.assign(out, x);
      else if (x !== undefined) out[f.name] = x;
    }
  }
  return out;
}

/** Decodes a `k8s\0`-framed protobuf body into the JSON form of the object. */
export function decodeProtobuf(buf: Uint8Array): Record<string, unknown> {
  if (buf.length < 4 || buf[0] !== 0x6b || buf[1] !== 0x38 || buf[2] !== 0x73 || buf[3] !== 0) {
    throw errBadRequest('protobuf: missing the k8s\\0 envelope prefix');
  }
  const decode = (t: protobuf.Type, b: Uint8Array) => {
    try {
      return t.decode(b) as unknown as Record<string, unknown>;
    } catch (e) {
      throw errBadRequest(`protobuf: ${(e as Error).message}`);
    }
  };
  const envelope = decode(types().lookupType('k8s.io.apimachinery.pkg.runtime.Unknown'), buf.subarray(4));
  const tm = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = tm.apiVersion ?? '';
  const kind = tm.kind ?? '';
  const t = messageOf(apiVersion, kind);
  if (!t) throw errBadRequest(`protobuf: no built-in kind ${kind || '(none)'} in ${apiVersion || '(none)'}`);
  return { apiVersion, kind, ...toJson(t, decode(t, (envelope.raw as Uint8Array) ?? new Uint8Array())) };
}
