// Decoding of Kubernetes' protobuf request bodies (`application/vnd.kubernetes.protobuf`): the
// `k8s\0` magic + runtime.Unknown envelope, then the object by field number. kubectl's generated
// (typed) clients always send built-in kinds as protobuf with no JSON fallback (`kubectl create
// configmap|secret|deployment|namespace`, `auth can-i`), so the server must read it. Only the
// messages those commands send are described here; unknown fields are skipped. Responses stay
// JSON (those clients accept it). Hand-written: a protobuf library would still need these
// descriptors, which upstream publishes only as .proto files.
import { errBadRequest } from './status.js';

type FieldType =
  | 'string'
  | 'bytes'
  | 'int'
  | 'bool'
  | 'strings'
  | 'map'
  | 'bytesmap'
  | 'quantitymap'
  | 'time'
  | 'intorstring'
  | 'quantity';
type Field = [name: string, type: FieldType | `msg:${string}` | `msgs:${string}`];
const M: Record<string, Record<number, Field>> = {
  ObjectMeta: {
    1: ['name', 'string'],
    2: ['generateName', 'string'],
    3: ['namespace', 'string'],
    5: ['uid', 'string'],
    6: ['resourceVersion', 'string'],
    7: ['generation', 'int'],
    8: ['creationTimestamp', 'time'],
    11: ['labels', 'map'],
    12: ['annotations', 'map'],
    13: ['ownerReferences', 'msgs:OwnerReference'],
    14: ['finalizers', 'strings'],
  },
  OwnerReference: {
    1: ['kind', 'string'],
    3: ['name', 'string'],
    4: ['uid', 'string'],
    5: ['apiVersion', 'string'],
    6: ['controller', 'bool'],
    7: ['blockOwnerDeletion', 'bool'],
  },
  ConfigMap: {
    1: ['metadata', 'msg:ObjectMeta'],
    2: ['data', 'map'],
    3: ['binaryData', 'bytesmap'],
    4: ['immutable', 'bool'],
  },
  Secret: {
    1: ['metadata', 'msg:ObjectMeta'],
    2: ['data', 'bytesmap'],
    3: ['type', 'string'],
    4: ['stringData', 'map'],
    5: ['immutable', 'bool'],
  },
  Namespace: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:NamespaceSpec'] },
  NamespaceSpec: { 1: ['finalizers', 'strings'] },
  ServiceAccount: { 1: ['metadata', 'msg:ObjectMeta'], 3: ['automountServiceAccountToken', 'bool'] },
  Deployment: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:DeploymentSpec'] },
  DeploymentSpec: {
    1: ['replicas', 'int'],
    2: ['selector', 'msg:LabelSelector'],
    3: ['template', 'msg:PodTemplateSpec'],
    4: ['strategy', 'msg:DeploymentStrategy'],
    5: ['minReadySeconds', 'int'],
    6: ['revisionHistoryLimit', 'int'],
    7: ['paused', 'bool'],
    9: ['progressDeadlineSeconds', 'int'],
  },
  DeploymentStrategy: { 1: ['type', 'string'] },
  LabelSelector: { 1: ['matchLabels', 'map'], 2: ['matchExpressions', 'msgs:LabelSelectorRequirement'] },
  LabelSelectorRequirement: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'strings'] },
  PodTemplateSpec: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:PodSpec'] },
  PodSpec: {
    2: ['containers', 'msgs:Container'],
    3: ['restartPolicy', 'string'],
    4: ['terminationGracePeriodSeconds', 'int'],
    6: ['dnsPolicy', 'string'],
    7: ['nodeSelector', 'map'],
    8: ['serviceAccountName', 'string'],
    10: ['nodeName', 'string'],
    11: ['hostNetwork', 'bool'],
    20: ['initContainers', 'msgs:Container'],
  },
  Container: {
    1: ['name', 'string'],
    2: ['image', 'string'],
    3: ['command', 'strings'],
    4: ['args', 'strings'],
    5: ['workingDir', 'string'],
    6: ['ports', 'msgs:ContainerPort'],
    7: ['env', 'msgs:EnvVar'],
    8: ['resources', 'msg:ResourceRequirements'],
    14: ['imagePullPolicy', 'string'],
    16: ['stdin', 'bool'],
    18: ['tty', 'bool'],
  },
  ContainerPort: {
    1: ['name', 'string'],
    2: ['hostPort', 'int'],
    3: ['containerPort', 'int'],
    4: ['protocol', 'string'],
    5: ['hostIP', 'string'],
  },
  EnvVar: { 1: ['name', 'string'], 2: ['value', 'string'] },
  ResourceRequirements: { 1: ['limits', 'quantitymap'], 2: ['requests', 'quantitymap'] },
  Job: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:JobSpec'] },
  JobSpec: {
    1: ['parallelism', 'int'],
    2: ['completions', 'int'],
    3: ['activeDeadlineSeconds', 'int'],
    4: ['selector', 'msg:LabelSelector'],
    5: ['manualSelector', 'bool'],
    6: ['template', 'msg:PodTemplateSpec'],
    7: ['backoffLimit', 'int'],
    8: ['ttlSecondsAfterFinished', 'int'],
    9: ['completionMode', 'string'],
    10: ['suspend', 'bool'],
  },
  CronJob: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:CronJobSpec'] },
  CronJobSpec: {
    1: ['schedule', 'string'],
    2: ['startingDeadlineSeconds', 'int'],
    3: ['concurrencyPolicy', 'string'],
    4: ['suspend', 'bool'],
    5: ['jobTemplate', 'msg:JobTemplateSpec'],
    6: ['successfulJobsHistoryLimit', 'int'],
    7: ['failedJobsHistoryLimit', 'int'],
    8: ['timeZone', 'string'],
  },
  JobTemplateSpec: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:JobSpec'] },
  Service: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:ServiceSpec'] },
  ServiceSpec: {
    1: ['ports', 'msgs:ServicePort'],
    2: ['selector', 'map'],
    3: ['clusterIP', 'string'],
    4: ['type', 'string'],
    5: ['externalIPs', 'strings'],
    7: ['sessionAffinity', 'string'],
    10: ['externalName', 'string'],
  },
  ServicePort: {
    1: ['name', 'string'],
    2: ['protocol', 'string'],
    3: ['port', 'int'],
    4: ['targetPort', 'intorstring'],
    5: ['nodePort', 'int'],
  },
  Role: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['rules', 'msgs:PolicyRule'] },
  ClusterRole: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['rules', 'msgs:PolicyRule'] },
  PolicyRule: {
    1: ['verbs', 'strings'],
    2: ['apiGroups', 'strings'],
    3: ['resources', 'strings'],
    4: ['resourceNames', 'strings'],
    5: ['nonResourceURLs', 'strings'],
  },
  RoleBinding: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['subjects', 'msgs:Subject'], 3: ['roleRef', 'msg:RoleRef'] },
  ClusterRoleBinding: {
    1: ['metadata', 'msg:ObjectMeta'],
    2: ['subjects', 'msgs:Subject'],
    3: ['roleRef', 'msg:RoleRef'],
  },
  Subject: { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] },
  RoleRef: { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] },
  ResourceQuota: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:ResourceQuotaSpec'] },
  ResourceQuotaSpec: { 1: ['hard', 'quantitymap'], 2: ['scopes', 'strings'] },
  SelfSubjectAccessReview: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:SelfSubjectAccessReviewSpec'] },
  SelfSubjectAccessReviewSpec: {
    1: ['resourceAttributes', 'msg:ResourceAttributes'],
    2: ['nonResourceAttributes', 'msg:NonResourceAttributes'],
  },
  SubjectAccessReview: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:SubjectAccessReviewSpec'] },
  SubjectAccessReviewSpec: {
    1: ['resourceAttributes', 'msg:ResourceAttributes'],
    2: ['nonResourceAttributes', 'msg:NonResourceAttributes'],
    3: ['user', 'string'],
    4: ['groups', 'strings'],
    6: ['uid', 'string'],
  },
  ResourceAttributes: {
    1: ['namespace', 'string'],
    2: ['verb', 'string'],
    3: ['group', 'string'],
    4: ['version', 'string'],
    5: ['resource', 'string'],
    6: ['subresource', 'string'],
    7: ['name', 'string'],
  },
  NonResourceAttributes: { 1: ['path', 'string'], 2: ['verb', 'string'] },
  SelfSubjectRulesReview: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:SelfSubjectRulesReviewSpec'] },
  SelfSubjectRulesReviewSpec: { 1: ['namespace', 'string'] },
  SelfSubjectReview: { 1: ['metadata', 'msg:ObjectMeta'] },
  TokenRequest: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:TokenRequestSpec'] },
  TokenRequestSpec: {
    1: ['audiences', 'strings'],
    3: ['boundObjectRef', 'msg:BoundObjectReference'],
    4: ['expirationSeconds', 'int'],
  },
  BoundObjectReference: {
    1: ['kind', 'string'],
    2: ['apiVersion', 'string'],
    3: ['name', 'string'],
    4: ['uid', 'string'],
  },
  TokenReview: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['spec', 'msg:TokenReviewSpec'] },
  TokenReviewSpec: { 1: ['token', 'string'], 2: ['audiences', 'strings'] },
  // policy/v1 Eviction (`kubectl drain` through the typed client).
  Eviction: { 1: ['metadata', 'msg:ObjectMeta'], 2: ['deleteOptions', 'msg:DeleteOptions'] },
  DeleteOptions: {
    1: ['gracePeriodSeconds', 'int'],
    2: ['preconditions', 'msg:Preconditions'],
    3: ['orphanDependents', 'bool'],
    4: ['propagationPolicy', 'string'],
    5: ['dryRun', 'strings'],
  },
  Preconditions: { 1: ['uid', 'string'], 2: ['resourceVersion', 'string'] },
};

/** Optional (pointer) int fields, sent only when set, so a 0 is meaningful; other ints are always
 *  sent and a 0 means "unset" (Go's omitempty). */
const POINTER_INTS = new Set([
  'replicas',
  'parallelism',
  'completions',
  'backoffLimit',
  'revisionHistoryLimit',
  'progressDeadlineSeconds',
  'activeDeadlineSeconds',
  'ttlSecondsAfterFinished',
  'startingDeadlineSeconds',
  'successfulJobsHistoryLimit',
  'failedJobsHistoryLimit',
  'terminationGracePeriodSeconds',
  'expirationSeconds',
  'gracePeriodSeconds',
]);

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}
  varint(): number {
    let r = 0,
      mul = 1;
    for (;;) {
      if (this.pos >= this.end) throw errBadRequest('protobuf: truncated varint');
      const b = this.buf[this.pos++];
      r += (b & 0x7f) * mul;
      if (!(b & 0x80)) return r;
      mul *= 128;
    }
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw errBadRequest('protobuf: truncated field');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  skip(wire: number) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw errBadRequest(`protobuf: unsupported wire type ${wire}`);
  }
}
const td = new TextDecoder();

function fields(buf: Uint8Array): [number, number, Reader][] {
  const r = new Reader(buf);
  const out: [number, number, Reader][] = [];
  while (r.pos < r.end) {
    const tag = r.varint();
    out.push([Math.floor(tag / 8), tag & 7, r]);
    // The caller consumes the value through r before the next tag is read.
    const [num, wire] = [Math.floor(tag / 8), tag & 7];
    void num;
    const start = r.pos;
    r.skip(wire);
    out[out.length - 1][2] = new Reader(buf.subarray(start, r.pos));
  }
  return out;
}

function mapEntry(b: Uint8Array, valueAs: 'string' | 'bytes' | 'quantity'): [string, unknown] {
  let k = '',
    v: unknown = valueAs === 'bytes' ? '' : '';
  for (const [num, , r] of fields(b)) {
    if (num === 1) k = td.decode(r.bytes());
    if (num === 2) {
      const raw = r.bytes();
      v =
        valueAs === 'string'
          ? td.decode(raw)
          : valueAs === 'bytes'
            ? Buffer.from(raw).toString('base64')
            : quantity(raw);
    }
  }
  return [k, v];
}
function quantity(b: Uint8Array): string {
  for (const [num, , r] of fields(b)) if (num === 1) return td.decode(r.bytes());
  return '0';
}

function decodeMessage(buf: Uint8Array, type: string): Record<string, unknown> {
  const desc = M[type] ?? {};
  const out: Record<string, unknown> = {};
  for (const [num, wire, r] of fields(buf)) {
    const f = desc[num];
    if (!f) continue;
    const [name, t] = f;
    if (wire === 0) {
      const n = r.varint();
      if (t === 'bool') {
        if (n) out[name] = true;
      } else if (t === 'int') {
        if (n !== 0 || POINTER_INTS.has(name)) out[name] = n > 2 ** 53 ? n - 2 ** 64 : n;
      }
      continue;
    }
    if (wire !== 2) continue;
    const b = r.bytes();
    if (t === 'string') {
      const s = td.decode(b);
      if (s !== '') out[name] = s;
    } else if (t === 'bytes') out[name] = Buffer.from(b).toString('base64');
    else if (t === 'strings') ((out[name] ??= []) as unknown[]).push(td.decode(b));
    else if (t === 'map' || t === 'bytesmap' || t === 'quantitymap') {
      const [k, v] = mapEntry(b, t === 'map' ? 'string' : t === 'bytesmap' ? 'bytes' : 'quantity');
      ((out[name] ??= {}) as Record<string, unknown>)[k] = v;
    } else if (t === 'intorstring') {
      let kind = 0,
        iv = 0,
        sv = '';
      for (const [n2, , r2] of fields(b)) {
        if (n2 === 1) kind = r2.varint();
        if (n2 === 2) iv = r2.varint();
        if (n2 === 3) sv = td.decode(r2.bytes());
      }
      out[name] = kind === 1 ? sv : iv;
    } else if (t === 'time') {
      let secs = 0;
      for (const [n2, , r2] of fields(b)) if (n2 === 1) secs = r2.varint();
      if (secs) out[name] = new Date(secs * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    } else if (t.startsWith('msgs:')) ((out[name] ??= []) as unknown[]).push(decodeMessage(b, t.slice(5)));
    else if (t.startsWith('msg:')) out[name] = decodeMessage(b, t.slice(4));
  }
  return out;
}

/** Decodes a `k8s\0`-framed protobuf body into the JSON form of the object. */
export function decodeProtobuf(buf: Uint8Array): Record<string, unknown> {
  if (buf.length < 4 || buf[0] !== 0x6b || buf[1] !== 0x38 || buf[2] !== 0x73 || buf[3] !== 0) {
    throw errBadRequest('protobuf: missing the k8s\\0 envelope prefix');
  }
  let apiVersion = '',
    kind = '',
    raw: Uint8Array | undefined;
  for (const [num, , r] of fields(buf.subarray(4))) {
    if (num === 1)
      for (const [n2, , r2] of fields(r.bytes())) {
        if (n2 === 1) apiVersion = td.decode(r2.bytes());
        if (n2 === 2) kind = td.decode(r2.bytes());
      }
    if (num === 2) raw = r.bytes();
  }
  if (!M[kind])
    throw errBadRequest(
      `protobuf bodies are supported for ${Object.keys(M)
        .filter((k) => M[k][1]?.[0] === 'metadata')
        .join(', ')}; send ${kind || 'this kind'} as application/json`,
    );
  return { apiVersion, kind, ...decodeMessage(raw ?? new Uint8Array(), kind) };
}
