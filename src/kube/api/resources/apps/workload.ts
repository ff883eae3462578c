// What every pod-managing workload (Deployment, ReplicaSet, DaemonSet, StatefulSet, Job) shares:
// selector/template validation, pod template defaulting, the CONTAINERS/IMAGES/SELECTOR cells,
// and rolling-update int-or-percent checks.
import type { FieldError } from '../../types.js';
import {
  deepEqual,
  forbidden,
  goIntOrString,
  goLabelSelector,
  goStringMap,
  invalidRaw,
  notSupported,
  required,
} from '../../validation/errors.js';
import { asArr, asObj, validateEmbeddedMeta, validateLabelSelector, type Obj } from '../../validation/fields.js';
import { formatLabelSelector, fromLabelSelector, matches } from '../../labels/selector.js';
import { defaultPodSpec } from '../core/pod-defaults.js';
import { validatePodTemplateSpec } from '../core/pod-validation.js';
import '../core/podspec-schema.js';

/** An embedded ObjectMeta as Go writes it: a struct, never omitted, with a zero creationTimestamp
 *  that encodes as null (`template: {metadata: {creationTimestamp: null}}`, as upstream answers). */
export function defaultEmbeddedMeta(holder: Obj): void {
  holder.metadata = asObj(holder.metadata) ?? {};
  if (holder.metadata.creationTimestamp === undefined) holder.metadata.creationTimestamp = null;
}

export function defaultTemplate(spec: Obj): void {
  spec.template = asObj(spec.template) ?? {};
  defaultEmbeddedMeta(spec.template);
  spec.template.spec = asObj(spec.template.spec) ?? {};
  defaultPodSpec(spec.template.spec);
}

export interface SelectorOpts {
  kind: string;
  restartPolicies?: string[];
  /** Field path of the spec (default `spec`; CronJob's job template uses `spec.jobTemplate.spec`). */
  path?: string;
  /** Whether a missing selector is an error (Job templates of CronJobs may omit it). */
  selectorOptional?: boolean;
  /** Validate only the template's labels and annotations, not its pod spec (upstream's
   *  StatefulSet: mounts may name volumeClaimTemplates, which are not pod volumes). */
  metadataOnly?: boolean;
}

/** spec.selector (required, non-empty) and spec.template (labels matching the selector). */
export function validateSelectorAndTemplate(spec: Obj, o: SelectorOpts): FieldError[] {
  const errs: FieldError[] = [];
  const P = o.path ?? 'spec';
  const sel = spec.selector;
  if (sel === undefined || sel === null) {
    if (!o.selectorOptional) errs.push(required(`${P}.selector`));
  } else {
    errs.push(...validateLabelSelector(sel, `${P}.selector`));
    const s = asObj(sel) ?? {};
    if (Object.keys(asObj(s.matchLabels) ?? {}).length + asArr(s.matchExpressions).length === 0) {
      errs.push(invalidRaw(`${P}.selector`, goLabelSelector(sel), `empty selector is invalid for ${o.kind}`));
    }
  }
  // The template is a struct upstream: a missing one is validated as empty (every error reported).
  const tmpl = asObj(spec.template) ?? {};
  let selector;
  let selectorOk = true;
  try {
    selector = sel ? fromLabelSelector(sel) : undefined;
  } catch {
    selectorOk = false;
    errs.push(invalidRaw(`${P}.selector`, goLabelSelector(sel), 'invalid label selector'));
  }
  const labels = asObj(asObj(tmpl.metadata)?.labels);
  // A missing selector matches nothing (upstream's LabelSelectorAsSelector(nil)), so the template's
  // labels are reported too — except where the selector is optional (CronJob job templates).
  const matchesNothing = (sel === undefined || sel === null) && !o.selectorOptional;
  if (
    selectorOk &&
    (matchesNothing ||
      (selector && selector.requirements.length && !matches(selector, labels as Record<string, string>)))
  ) {
    errs.push(
      invalidRaw(`${P}.template.metadata.labels`, goStringMap(labels), '`selector` does not match template `labels`'),
    );
  }
  errs.push(
    ...(o.metadataOnly
      ? validateEmbeddedMeta(tmpl.metadata, `${P}.template.metadata`)
      : validatePodTemplateSpec(tmpl, `${P}.template`)),
  );
  const rp = asObj(tmpl.spec)?.restartPolicy;
  const allowed = o.restartPolicies ?? ['Always'];
  if (rp && !allowed.includes(rp) && ['Always', 'OnFailure', 'Never'].includes(rp))
    errs.push(notSupported(`${P}.template.spec.restartPolicy`, rp, allowed));
  if (o.kind !== 'job' && asObj(tmpl.spec)?.activeDeadlineSeconds !== undefined) {
    errs.push(
      forbidden(
        `${P}.template.spec.activeDeadlineSeconds`,
        `activeDeadlineSeconds in ${ADS_KIND[o.kind] ?? o.kind} is not Supported`,
      ),
    );
  }
  return errs;
}

const ADS_KIND: Record<string, string> = {
  deployment: 'ReplicaSet',
  replicaset: 'ReplicaSet',
  daemonset: 'DaemonSet',
  statefulset: 'StatefulSet',
};

export function immutableSelector(spec: Obj, old: Obj): FieldError[] {
  return deepEqual(spec.selector, old.selector)
    ? []
    : [invalidRaw('spec.selector', goLabelSelector(spec.selector), 'field is immutable')];
}

const PERCENT = /^[0-9]+%$/;

/** An int-or-percent field (maxSurge, maxUnavailable, minAvailable): non-negative; percentages
 *  ≤ 100% unless `max100` is false. Values render as upstream's intstr.IntOrString struct. */
export function validateIntOrPercent(v: unknown, path: string, max100 = true): FieldError[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'number') return v < 0 ? [invalidRaw(path, String(v), 'must be greater than or equal to 0')] : [];
  if (typeof v === 'string') {
    if (!PERCENT.test(v))
      return [
        invalidRaw(
          path,
          goIntOrString(v),
          "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        ),
      ];
    if (max100 && Number(v.slice(0, -1)) > 100)
      return [invalidRaw(path, goIntOrString(v), 'must not be greater than 100%')];
    return [];
  }
  return [invalidRaw(path, goIntOrString(v), "must be an integer or percentage (e.g '5%')")];
}

/** The numeric value of an int-or-percent (percentages as their number). */
export const intOrPercentValue = (v: unknown): number =>
  typeof v === 'number' ? v : typeof v === 'string' && PERCENT.test(v) ? Number(v.slice(0, -1)) : 0;

/** Deployment rolling update: maxSurge and maxUnavailable may not both be zero. */
export function validateRollingUpdate(ru: Obj | undefined, path: string): FieldError[] {
  if (!ru) return [];
  const errs = [
    ...validateIntOrPercent(ru.maxUnavailable, `${path}.maxUnavailable`, false),
    ...validateIntOrPercent(ru.maxSurge, `${path}.maxSurge`, false),
  ];
  if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
    errs.push(
      invalidRaw(`${path}.maxUnavailable`, goIntOrString(ru.maxUnavailable ?? 0), 'may not be 0 when `maxSurge` is 0'),
    );
  }
  if (
    typeof ru.maxUnavailable === 'string' &&
    PERCENT.test(ru.maxUnavailable) &&
    intOrPercentValue(ru.maxUnavailable) > 100
  ) {
    errs.push(invalidRaw(`${path}.maxUnavailable`, goIntOrString(ru.maxUnavailable), 'must not be greater than 100%'));
  }
  return errs;
}

/** DaemonSet rolling update: exactly one of maxSurge and maxUnavailable is non-zero. */
export function validateRollingUpdateDaemonSet(ru: Obj | undefined, path: string): FieldError[] {
  if (!ru) return [required(path)];
  const errs = [
    ...validateIntOrPercent(ru.maxUnavailable, `${path}.maxUnavailable`),
    ...validateIntOrPercent(ru.maxSurge, `${path}.maxSurge`),
  ];
  const u = intOrPercentValue(ru.maxUnavailable) !== 0,
    s = intOrPercentValue(ru.maxSurge) !== 0;
  if (u && s)
    errs.push(
      invalidRaw(`${path}.maxSurge`, goIntOrString(ru.maxSurge), 'may not be set when maxUnavailable is non-zero'),
    );
  else if (!u && !s) errs.push(required(`${path}.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
  return errs;
}

/** CONTAINERS, IMAGES, SELECTOR cells of -o wide. */
export function templateCells(spec: Obj): [string, string, string] {
  const cs = asArr(asObj(asObj(spec.template)?.spec)?.containers).filter(asObj);
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image).join(','), formatLabelSelector(asObj(spec.selector))];
}
