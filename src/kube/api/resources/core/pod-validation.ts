// PodSpec validation (upstream's ValidatePodSpec), shared by Pods and every pod template, and
// the Pod update rule (only images, activeDeadlineSeconds and added tolerations may change).
import type { FieldError } from '../../types.js';
import { deepEqual, duplicate, forbidden, invalid, notSupported, required } from '../../validation/errors.js';
import {
  asArr,
  asObj,
  dnsLabel,
  isStr,
  nonNegative,
  oneOf,
  positive,
  validateEmbeddedMeta,
  validateLabels,
  type Obj,
} from '../../validation/fields.js';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName } from '../../validation/names.js';
import { validateContainers } from './container-validation.js';
import { validateAffinity, validateSecurityContext, validateTopologySpread } from './scheduling-validation.js';
import { VOLUME_SOURCES } from './volume-schema.js';

const RESTART = ['Always', 'OnFailure', 'Never'];
const DNS = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];

function validateVolumes(vols: unknown, path: string, names: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  asArr(vols).forEach((v: Obj, i: number) => {
    const p = `${path}[${i}]`;
    if (!asObj(v)) {
      errs.push(invalid(p, v, 'must be an object'));
      return;
    }
    if (!isStr(v.name) || !v.name) errs.push(required(`${p}.name`));
    else {
      errs.push(...isDNS1123Label(v.name).map((m) => invalid(`${p}.name`, v.name, m)));
      if (names.has(v.name)) errs.push(duplicate(`${p}.name`, v.name));
      names.add(v.name);
    }
    const sources = VOLUME_SOURCES.filter((k) => v[k] !== undefined && v[k] !== null);
    if (sources.length === 0) errs.push(required(p, 'must specify a volume type'));
    else if (sources.length > 1) errs.push(forbidden(`${p}.${sources[1]}`, 'may not specify more than 1 volume type'));
    const src = sources[0];
    const s = asObj(v[src]) ?? {};
    if (src === 'hostPath') {
      if (!isStr(s.path) || !s.path) errs.push(required(`${p}.hostPath.path`));
      if (s.type !== undefined)
        errs.push(
          ...oneOf(s.type, `${p}.hostPath.type`, [
            '',
            'DirectoryOrCreate',
            'Directory',
            'FileOrCreate',
            'File',
            'Socket',
            'CharDevice',
            'BlockDevice',
          ]),
        );
    } else if (src === 'persistentVolumeClaim') {
      if (!isStr(s.claimName) || !s.claimName) errs.push(required(`${p}.persistentVolumeClaim.claimName`));
    } else if (src === 'secret') {
      if (s.secretName !== undefined)
        errs.push(
          ...isDNS1123Subdomain(String(s.secretName)).map((m) => invalid(`${p}.secret.secretName`, s.secretName, m)),
        );
    } else if (src === 'configMap') {
      if (s.name !== undefined)
        errs.push(...isDNS1123Subdomain(String(s.name)).map((m) => invalid(`${p}.configMap.name`, s.name, m)));
    } else if (src === 'emptyDir') {
      if (s.medium !== undefined && s.medium !== '')
        errs.push(...oneOf(s.medium, `${p}.emptyDir.medium`, ['', 'Memory']));
    }
    if (src && ['secret', 'configMap', 'downwardAPI', 'projected'].includes(src)) {
      const mode = s.defaultMode;
      if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o777)) {
        errs.push(
          invalid(`${p}.${src}.defaultMode`, mode, 'must be a number between 0 and 0777 (octal), both inclusive'),
        );
      }
      asArr(s.items).forEach((it: Obj, j: number) => {
        const ip = `${p}.${src}.items[${j}]`;
        if (!isStr(it?.path) || !it.path) errs.push(required(`${ip}.path`));
        else if (it.path.startsWith('/') || it.path.split('/').includes('..'))
          errs.push(
            invalid(
              `${ip}.path`,
              it.path,
              it.path.startsWith('/') ? 'must be a relative path' : "must not contain '..'",
            ),
          );
        if (src !== 'downwardAPI' && (!isStr(it?.key) || !it.key)) errs.push(required(`${ip}.key`));
      });
    }
  });
  return errs;
}

function validateTolerations(tols: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  asArr(tols).forEach((t: Obj, i: number) => {
    const p = `${path}[${i}]`;
    if (t?.key) errs.push(...isQualifiedName(t.key).map((m) => invalid(`${p}.key`, t.key, m)));
    if (!t?.key && t?.operator !== 'Exists')
      errs.push(
        invalid(
          `${p}.operator`,
          t?.operator ?? '',
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    if (t?.tolerationSeconds !== undefined && t?.effect !== 'NoExecute')
      errs.push(invalid(`${p}.effect`, t?.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    if (t?.operator === 'Exists' && t?.value)
      errs.push(invalid(`${p}.operator`, t.value, "value must be empty when `operator` is 'Exists'"));
    if (t?.operator !== undefined && t.operator !== 'Exists' && t.operator !== 'Equal')
      errs.push(notSupported(`${p}.operator`, t.operator, ['Equal', 'Exists']));
    if (t?.effect) errs.push(...oneOf(t.effect, `${p}.effect`, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
  });
  return errs;
}

export interface PodSpecOpts {
  /** Restart policies allowed (templates of controllers restrict them). */ restartPolicies?: string[];
}

export function validatePodSpec(spec: unknown, path: string, o: PodSpecOpts = {}): FieldError[] {
  const s = asObj(spec);
  if (!s) return [required(path)];
  const errs: FieldError[] = [];
  const vols = new Set<string>();
  errs.push(...validateVolumes(s.volumes, `${path}.volumes`, vols));
  const names = new Set<string>(),
    portNames = new Set<string>();
  if (asArr(s.containers).length === 0) errs.push(required(`${path}.containers`));
  errs.push(
    ...validateContainers(s.initContainers, `${path}.initContainers`, {
      volumes: vols,
      names,
      portNames: new Set(),
      init: true,
    }),
  );
  errs.push(...validateContainers(s.containers, `${path}.containers`, { volumes: vols, names, portNames }));
  errs.push(
    ...validateContainers(s.ephemeralContainers, `${path}.ephemeralContainers`, {
      volumes: vols,
      names,
      portNames: new Set(),
      ephemeral: true,
    }),
  );
  if (s.restartPolicy === undefined || s.restartPolicy === '') errs.push(required(`${path}.restartPolicy`));
  else if (o.restartPolicies && RESTART.includes(s.restartPolicy)) {
    if (!o.restartPolicies.includes(s.restartPolicy))
      errs.push(notSupported(`${path}.restartPolicy`, s.restartPolicy, o.restartPolicies));
  } else errs.push(...oneOf(s.restartPolicy, `${path}.restartPolicy`, RESTART, false));
  errs.push(...oneOf(s.dnsPolicy, `${path}.dnsPolicy`, DNS, false));
  if (s.dnsPolicy === 'None' && !asArr(asObj(s.dnsConfig)?.nameservers).length)
    errs.push(
      required(`${path}.dnsConfig.nameservers`, 'must provide at least one DNS nameserver when `dnsPolicy` is None'),
    );
  errs.push(...nonNegative(s.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`));
  errs.push(...positive(s.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`));
  errs.push(...validateLabels(s.nodeSelector, `${path}.nodeSelector`));
  if (s.serviceAccountName)
    errs.push(
      ...isDNS1123Subdomain(String(s.serviceAccountName)).map((m) =>
        invalid(`${path}.serviceAccountName`, s.serviceAccountName, m),
      ),
    );
  if (s.nodeName)
    errs.push(...isDNS1123Subdomain(String(s.nodeName)).map((m) => invalid(`${path}.nodeName`, s.nodeName, m)));
  if (s.hostname) errs.push(...dnsLabel(s.hostname, `${path}.hostname`));
  if (s.subdomain) errs.push(...dnsLabel(s.subdomain, `${path}.subdomain`));
  errs.push(...validateTolerations(s.tolerations, `${path}.tolerations`));
  if (s.preemptionPolicy !== undefined)
    errs.push(...oneOf(s.preemptionPolicy, `${path}.preemptionPolicy`, ['PreemptLowerPriority', 'Never']));
  asArr(s.imagePullSecrets).forEach((r: Obj, i: number) => {
    if (!r?.name) errs.push(required(`${path}.imagePullSecrets[${i}].name`));
  });
  errs.push(...validateAffinity(s.affinity, `${path}.affinity`));
  errs.push(...validateTopologySpread(s.topologySpreadConstraints, `${path}.topologySpreadConstraints`));
  errs.push(...validateSecurityContext(s.securityContext, `${path}.securityContext`, true));
  for (const k of ['initContainers', 'containers', 'ephemeralContainers']) {
    asArr(s[k]).forEach((c: Obj, i: number) =>
      errs.push(...validateSecurityContext(c?.securityContext, `${path}.${k}[${i}].securityContext`, false)),
    );
  }
  // Host ports must be unique per protocol across all containers.
  const hostPorts = new Set<string>();
  for (const k of ['initContainers', 'containers']) {
    asArr(s[k]).forEach((c: Obj, i: number) =>
      asArr(c?.ports).forEach((pt: Obj, j: number) => {
        if (!pt?.hostPort) return;
        const key = `${pt.hostPort}/${pt.protocol ?? 'TCP'}`;
        if (hostPorts.has(key)) errs.push(duplicate(`${path}.${k}[${i}].ports[${j}].hostPort`, key));
        hostPorts.add(key);
      }),
    );
  }
  if (s.hostNetwork) {
    for (const c of asArr(s.containers))
      for (const [i, pt] of asArr(c?.ports).entries()) {
        if (pt?.hostPort && pt.hostPort !== pt.containerPort)
          errs.push(
            invalid(
              `${path}.containers[${asArr(s.containers).indexOf(c)}].ports[${i}].hostPort`,
              pt.hostPort,
              'must match `containerPort` when `hostNetwork` is true',
            ),
          );
      }
  }
  return errs;
}

export function validatePodTemplateSpec(tmpl: unknown, path: string, o: PodSpecOpts = {}): FieldError[] {
  const t = asObj(tmpl);
  if (!t) return [required(path)];
  return [...validateEmbeddedMeta(t.metadata, `${path}.metadata`), ...validatePodSpec(t.spec, `${path}.spec`, o)];
}

const POD_UPDATE_MSG =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** Pod spec updates: everything is immutable except the fields named in the message above. */
export function validatePodSpecUpdate(spec: Obj, old: Obj): FieldError[] {
  const errs: FieldError[] = [];
  if (
    old.activeDeadlineSeconds !== undefined &&
    (spec.activeDeadlineSeconds === undefined || spec.activeDeadlineSeconds > old.activeDeadlineSeconds)
  ) {
    errs.push(
      invalid(
        'spec.activeDeadlineSeconds',
        spec.activeDeadlineSeconds ?? null,
        'must be less than or equal to previous value',
      ),
    );
  }
  const oldTols = asArr(old.tolerations);
  for (const t of oldTols)
    if (!asArr(spec.tolerations).some((n) => deepEqual(n, t))) {
      errs.push(forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  // Compare with the mutable fields masked out.
  const mask = (s: Obj) => {
    const c = structuredClone(s);
    for (const k of ['containers', 'initContainers']) for (const x of asArr(c[k])) if (asObj(x)) delete x.image;
    delete c.activeDeadlineSeconds;
    delete c.tolerations;
    delete c.ephemeralContainers;
    if (Array.isArray(c.schedulingGates)) delete c.schedulingGates;
    if (!old.nodeName) delete c.nodeName;
    return c;
  };
  const a = mask(spec),
    b = mask(old);
  if (!deepEqual(a, b)) {
    // Upstream appends a Go diff of the spec; we name the changed fields instead.
    const changed = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !deepEqual(a[k], b[k])).sort();
    errs.push(forbidden('spec', `${POD_UPDATE_MSG}\n  changed: ${changed.map((k) => `spec.${k}`).join(', ')}`));
  }
  if (asArr(spec.containers).some((c) => asObj(c) && (!isStr(c.image) || !c.image))) {
    asArr(spec.containers).forEach((c: Obj, i: number) => {
      if (!c?.image) errs.push(required(`spec.containers[${i}].image`));
    });
  }
  asArr(spec.schedulingGates).forEach((g: Obj, i: number) => {
    if (!asArr(old.schedulingGates).some((o) => o?.name === g?.name))
      errs.push(
        forbidden(
          `spec.schedulingGates[${i}]`,
          "only deletion is allowed, but found new scheduling gate '" + g?.name + "'",
        ),
      );
  });
  return errs;
}

/** Updates through pods/ephemeralcontainers: only spec.ephemeralContainers may change, and only
 *  by adding containers (existing ones can be neither changed nor removed). The rules of the
 *  containers themselves (unique names, no ports/probes/resources) are validatePodSpec's. */
export function validateEphemeralContainersUpdate(spec: Obj, old: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const a = { ...spec },
    b = { ...old };
  delete a.ephemeralContainers;
  delete b.ephemeralContainers;
  if (!deepEqual(a, b))
    errs.push(
      forbidden('spec', 'only spec.ephemeralContainers may be changed through the ephemeralcontainers subresource'),
    );
  const now = new Map(
    asArr(spec.ephemeralContainers)
      .filter(asObj)
      .map((c: Obj) => [c.name, c]),
  );
  asArr(old.ephemeralContainers).forEach((c: Obj, i: number) => {
    const n = now.get(c?.name);
    if (!n)
      errs.push(
        forbidden(`spec.ephemeralContainers[${i}]`, `existing ephemeral containers "${c?.name}" may not be removed`),
      );
    else if (!deepEqual(n, c))
      errs.push(
        forbidden(`spec.ephemeralContainers[${i}]`, `existing ephemeral containers "${c?.name}" may not be changed`),
      );
  });
  return errs;
}
