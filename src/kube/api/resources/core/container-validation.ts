// Container-level validation as upstream's ValidatePodSpec does it for containers, init
// containers and ephemeral containers: names, images, ports, env, mounts, resources, probes.
import type { FieldError } from '../../types.js';
import { duplicate, forbidden, invalid, notFoundValue, notSupported, required } from '../../validation/errors.js';
import { asArr, asObj, dnsLabel, isStr, nonNegative, oneOf, type Obj } from '../../validation/fields.js';
import { isConfigMapKey, isEnvVarName, isValidPortName, isValidPortNum } from '../../validation/names.js';
import { compareQuantity, formatQuantity, parseQuantity } from '../../quantity/quantity.js';

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const PULL = ['Always', 'IfNotPresent', 'Never'];
const STANDARD_RESOURCES = ['cpu', 'memory', 'ephemeral-storage', 'storage'];

function validatePorts(ports: unknown, path: string, names: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  asArr(ports).forEach((p: Obj, i: number) => {
    const pp = `${path}[${i}]`;
    if (!asObj(p)) {
      errs.push(invalid(pp, p, 'must be an object'));
      return;
    }
    if (p.name !== undefined && p.name !== '') {
      for (const m of isValidPortName(String(p.name))) errs.push(invalid(`${pp}.name`, p.name, m));
      if (names.has(p.name)) errs.push(duplicate(`${pp}.name`, p.name));
      names.add(p.name);
    }
    if (p.containerPort === undefined || p.containerPort === 0) errs.push(required(`${pp}.containerPort`));
    else for (const m of isValidPortNum(p.containerPort)) errs.push(invalid(`${pp}.containerPort`, p.containerPort, m));
    if (p.hostPort !== undefined && p.hostPort !== 0)
      for (const m of isValidPortNum(p.hostPort)) errs.push(invalid(`${pp}.hostPort`, p.hostPort, m));
    if (!p.protocol) errs.push(required(`${pp}.protocol`));
    else if (!PROTOCOLS.includes(p.protocol)) errs.push(notSupported(`${pp}.protocol`, p.protocol, PROTOCOLS));
  });
  return errs;
}

const FIELD_REF_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];

function validateEnv(env: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  asArr(env).forEach((e: Obj, i: number) => {
    const p = `${path}[${i}]`;
    if (!isStr(e?.name) || e.name === '') errs.push(required(`${p}.name`));
    else for (const m of isEnvVarName(e.name)) errs.push(invalid(`${p}.name`, e.name, m));
    const vf = asObj(e?.valueFrom);
    if (!vf) return;
    const set = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'].filter((k) => vf[k] !== undefined);
    if (set.length === 0)
      errs.push(
        invalid(
          `${p}.valueFrom`,
          '',
          'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
        ),
      );
    else if (set.length > 1)
      errs.push(invalid(`${p}.valueFrom`, '', 'may not have more than one field specified at a time'));
    if (e.value) errs.push(invalid(`${p}.valueFrom`, '', 'may not be specified when `value` is not empty'));
    const fr = asObj(vf.fieldRef);
    if (fr) {
      const fp = fr.fieldPath;
      if (!isStr(fp) || !fp) errs.push(required(`${p}.valueFrom.fieldRef.fieldPath`));
      else if (!FIELD_REF_PATHS.includes(fp) && !/^metadata\.(labels|annotations)\['[^']+'\]$/.test(fp)) {
        errs.push(
          notSupported(`${p}.valueFrom.fieldRef.fieldPath`, fp, [
            'metadata.name',
            'metadata.namespace',
            'metadata.uid',
            'spec.nodeName',
            'spec.serviceAccountName',
            'status.hostIP',
            'status.hostIPs',
            'status.podIP',
            'status.podIPs',
          ]),
        );
      }
    }
    for (const k of ['configMapKeyRef', 'secretKeyRef']) {
      const ref = asObj(vf[k]);
      if (!ref) continue;
      if (!isStr(ref.key) || !ref.key) errs.push(required(`${p}.valueFrom.${k}.key`));
      else for (const m of isConfigMapKey(ref.key)) errs.push(invalid(`${p}.valueFrom.${k}.key`, ref.key, m));
      if (!isStr(ref.name) || !ref.name) errs.push(required(`${p}.valueFrom.${k}.name`));
    }
    const rf = asObj(vf.resourceFieldRef);
    if (rf && !isStr(rf.resource)) errs.push(required(`${p}.valueFrom.resourceFieldRef.resource`));
  });
  return errs;
}

function validateEnvFrom(envFrom: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  asArr(envFrom).forEach((e: Obj, i: number) => {
    const p = `${path}[${i}]`;
    if (e?.prefix) for (const m of isEnvVarName(e.prefix)) errs.push(invalid(`${p}.prefix`, e.prefix, m));
    const set = ['configMapRef', 'secretRef'].filter((k) => e?.[k] !== undefined);
    if (set.length === 0) errs.push(invalid(p, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (set.length > 1) errs.push(invalid(p, '', 'may not have more than one field specified at a time'));
    for (const k of set) if (!isStr(e[k]?.name) || !e[k].name) errs.push(required(`${p}.${k}.name`));
  });
  return errs;
}

function validateMounts(mounts: unknown, path: string, volumes: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  asArr(mounts).forEach((m: Obj, i: number) => {
    const p = `${path}[${i}]`;
    if (!isStr(m?.name) || !m.name) errs.push(required(`${p}.name`));
    else if (!volumes.has(m.name)) errs.push(notFoundValue(`${p}.name`, m.name));
    if (!isStr(m?.mountPath) || !m.mountPath) errs.push(required(`${p}.mountPath`));
    else {
      if (seen.has(m.mountPath)) errs.push(invalid(`${p}.mountPath`, m.mountPath, 'must be unique'));
      seen.add(m.mountPath);
    }
    if (m?.subPath && m?.subPathExpr)
      errs.push(invalid(`${p}.subPathExpr`, m.subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
    for (const k of ['subPath', 'subPathExpr']) {
      const v = m?.[k];
      if (isStr(v) && (v.startsWith('/') || v.split('/').includes('..'))) {
        errs.push(invalid(`${p}.${k}`, v, v.startsWith('/') ? 'must be a relative path' : "must not contain '..'"));
      }
    }
    if (m?.mountPropagation !== undefined)
      errs.push(...oneOf(m.mountPropagation, `${p}.mountPropagation`, ['Bidirectional', 'HostToContainer', 'None']));
  });
  return errs;
}

function validateResources(res: unknown, path: string): FieldError[] {
  const r = asObj(res);
  if (!r) return [];
  const errs: FieldError[] = [];
  const parsed: Record<string, Record<string, ReturnType<typeof parseQuantity>>> = { limits: {}, requests: {} };
  for (const kind of ['limits', 'requests'] as const) {
    for (const [name, v] of Object.entries(asObj(r[kind]) ?? {})) {
      const fp = `${path}.${kind}[${name}]`;
      if (!STANDARD_RESOURCES.includes(name) && !name.includes('/') && !name.startsWith('hugepages-')) {
        errs.push(invalid(fp, name, 'must be a standard resource type or fully qualified'));
        continue;
      }
      try {
        const q = parseQuantity(v as string);
        if (q.mantissa < 0n) errs.push(invalid(fp, String(v), 'must be greater than or equal to 0'));
        parsed[kind][name] = q;
      } catch {
        errs.push(
          invalid(fp, v, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
        );
      }
    }
  }
  for (const [name, req] of Object.entries(parsed.requests)) {
    const lim = parsed.limits[name];
    if (lim && compareQuantity(req, lim) > 0) {
      errs.push(
        invalid(
          `${path}.requests`,
          formatQuantity(req),
          `must be less than or equal to ${name} limit of ${formatQuantity(lim)}`,
        ),
      );
    }
  }
  return errs;
}

function validateProbe(probe: unknown, path: string, kind: 'liveness' | 'readiness' | 'startup'): FieldError[] {
  const p = asObj(probe);
  if (!p) return [];
  const errs: FieldError[] = [];
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((k) => p[k] !== undefined);
  if (handlers.length === 0) errs.push(required(path, 'must specify a handler type'));
  else if (handlers.length > 1)
    errs.push(forbidden(`${path}.${handlers[1]}`, 'may not specify more than 1 handler type'));
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'])
    errs.push(...nonNegative(p[k], `${path}.${k}`));
  if (kind !== 'readiness' && p.successThreshold !== undefined && p.successThreshold !== 1)
    errs.push(invalid(`${path}.successThreshold`, p.successThreshold, 'must be 1'));
  const port = asObj(p.httpGet)?.port ?? asObj(p.tcpSocket)?.port;
  const portPath = `${path}.${p.httpGet ? 'httpGet' : 'tcpSocket'}.port`;
  if (typeof port === 'number') errs.push(...isValidPortNum(port).map((m) => invalid(portPath, port, m)));
  else if (typeof port === 'string') errs.push(...isValidPortName(port).map((m) => invalid(portPath, port, m)));
  else if ((p.httpGet || p.tcpSocket) && port === undefined) errs.push(required(portPath));
  return errs;
}

export interface ContainerOpts {
  volumes: Set<string>;
  names: Set<string>;
  portNames: Set<string>;
  init?: boolean;
  ephemeral?: boolean;
}

/** Validates one list of containers (`spec.containers`, `spec.initContainers`, ...). */
export function validateContainers(list: unknown, path: string, o: ContainerOpts): FieldError[] {
  const errs: FieldError[] = [];
  asArr(list).forEach((c: Obj, i: number) => {
    const p = `${path}[${i}]`;
    if (!asObj(c)) {
      errs.push(invalid(p, c, 'must be an object'));
      return;
    }
    if (!isStr(c.name) || c.name === '') errs.push(required(`${p}.name`));
    else {
      errs.push(...dnsLabel(c.name, `${p}.name`));
      if (o.names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
      o.names.add(c.name);
    }
    if (!isStr(c.image) || c.image === '') errs.push(required(`${p}.image`));
    else if (c.image.trim() !== c.image)
      errs.push(invalid(`${p}.image`, c.image, 'must not have leading or trailing whitespace'));
    if (c.imagePullPolicy !== undefined) errs.push(...oneOf(c.imagePullPolicy, `${p}.imagePullPolicy`, PULL, false));
    if (c.terminationMessagePolicy !== undefined)
      errs.push(
        ...oneOf(c.terminationMessagePolicy, `${p}.terminationMessagePolicy`, ['File', 'FallbackToLogsOnError'], false),
      );
    if (o.ephemeral) {
      for (const k of ['ports', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'resources']) {
        if (c[k] !== undefined && !(k === 'resources' && Object.keys(asObj(c[k]) ?? {}).length === 0))
          errs.push(forbidden(`${p}.${k}`, `cannot be set for an Ephemeral Container`));
      }
    } else errs.push(...validatePorts(c.ports, `${p}.ports`, o.portNames));
    errs.push(...validateEnv(c.env, `${p}.env`));
    errs.push(...validateEnvFrom(c.envFrom, `${p}.envFrom`));
    errs.push(...validateMounts(c.volumeMounts, `${p}.volumeMounts`, o.volumes));
    errs.push(...validateResources(c.resources, `${p}.resources`));
    if (c.restartPolicy !== undefined) {
      if (!o.init) errs.push(forbidden(`${p}.restartPolicy`, 'may not be set for non init containers'));
      else if (c.restartPolicy !== 'Always') errs.push(notSupported(`${p}.restartPolicy`, c.restartPolicy, ['Always']));
    }
    if (o.init && c.restartPolicy !== 'Always') {
      for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'])
        if (c[k] !== undefined)
          errs.push(forbidden(`${p}.${k}`, `may not be set for init containers without restartPolicy=Always`));
    }
    if (!o.ephemeral) {
      errs.push(...validateProbe(c.livenessProbe, `${p}.livenessProbe`, 'liveness'));
      errs.push(...validateProbe(c.readinessProbe, `${p}.readinessProbe`, 'readiness'));
      errs.push(...validateProbe(c.startupProbe, `${p}.startupProbe`, 'startup'));
    }
    if (c.stdinOnce && !c.stdin) errs.push(invalid(`${p}.stdinOnce`, true, '`stdinOnce` requires `stdin` to be set'));
  });
  return errs;
}
