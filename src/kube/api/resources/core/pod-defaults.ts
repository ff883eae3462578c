// Upstream's defaulting for pods and pod templates (SetDefaults_PodSpec / _Container / _Pod).
import { asArr, asObj, type Obj } from '../../validation/fields.js';
import { compareQuantity, isValidQuantity, parseQuantity } from '../../quantity/quantity.js';

/** Image tag as the pull-policy rule sees it: `latest` or no tag ⇒ Always. */
export function defaultPullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  const noDigest = image.split('@')[0];
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.indexOf(':', lastSlash + 1);
  const tag = colon >= 0 ? noDigest.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(c: Obj): void {
  if (!c.imagePullPolicy) c.imagePullPolicy = defaultPullPolicy(c.image);
  if (!c.terminationMessagePath) c.terminationMessagePath = '/dev/termination-log';
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  if (c.resources === undefined) c.resources = {};
  for (const p of asArr(c.ports)) if (asObj(p) && !p.protocol) p.protocol = 'TCP';
  for (const e of asArr(c.env)) {
    const fr = asObj(asObj(e?.valueFrom)?.fieldRef);
    if (fr && !fr.apiVersion) fr.apiVersion = 'v1';
  }
  for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const p = asObj(c[probeName]);
    if (!p) continue;
    p.timeoutSeconds ??= 1;
    p.periodSeconds ??= 10;
    p.successThreshold ??= 1;
    p.failureThreshold ??= 3;
    const hg = asObj(p.httpGet);
    if (hg) {
      hg.path ??= '/';
      hg.scheme ??= 'HTTP';
    }
  }
  for (const h of ['postStart', 'preStop']) {
    const hg = asObj(asObj(asObj(c.lifecycle)?.[h])?.httpGet);
    if (hg) {
      hg.path ??= '/';
      hg.scheme ??= 'HTTP';
    }
  }
}

function defaultVolume(v: Obj): void {
  if (!asObj(v)) return;
  const hasSource = Object.keys(v).some((k) => k !== 'name');
  if (!hasSource) v.emptyDir = {};
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    const s = asObj(v[k]);
    if (s && s.defaultMode === undefined) s.defaultMode = 0o644;
  }
  const hp = asObj(v.hostPath);
  if (hp && hp.type === undefined) hp.type = '';
  const pr = asObj(v.projected);
  for (const src of asArr(pr?.sources)) {
    const t = asObj(src?.serviceAccountToken);
    if (t && t.expirationSeconds === undefined) t.expirationSeconds = 3600;
  }
}

/** Defaults a PodSpec in place (as for pods and for pod templates). */
export function defaultPodSpec(spec: Obj): void {
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (spec.securityContext === undefined) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds === undefined) spec.terminationGracePeriodSeconds = 30;
  if (!spec.schedulerName) spec.schedulerName = 'default-scheduler';
  if (spec.serviceAccount && !spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount;
  for (const c of asArr(spec.initContainers)) if (asObj(c)) defaultContainer(c);
  for (const c of asArr(spec.containers)) if (asObj(c)) defaultContainer(c);
  for (const c of asArr(spec.ephemeralContainers))
    if (asObj(c)) {
      if (!c.imagePullPolicy) c.imagePullPolicy = defaultPullPolicy(c.image);
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
    }
  for (const v of asArr(spec.volumes)) defaultVolume(v);
  // With the host's network, container ports are host ports.
  if (spec.hostNetwork === true) {
    for (const c of [...asArr(spec.initContainers), ...asArr(spec.containers)]) {
      for (const p of asArr(c?.ports)) if (asObj(p) && p.hostPort === undefined) p.hostPort = p.containerPort;
    }
  }
}

/** Defaults a Pod (upstream's SetDefaults_Pod and _PodSpec). What upstream's admission chain adds
 *  — the service account, priority, the not-ready/unreachable tolerations — the API server's
 *  admission plugins add (src/kube/apiserver/admission). */
export function defaultPod(pod: Obj): void {
  pod.spec = asObj(pod.spec) ?? {};
  const spec = pod.spec;
  defaultPodSpec(spec);
  // Requests default to limits for each resource that has a limit but no request: a Pod's
  // (upstream's SetDefaults_Pod), not a pod template's.
  for (const c of [...asArr(spec.initContainers), ...asArr(spec.containers)]) {
    const res = asObj(asObj(c)?.resources);
    const limits = asObj(res?.limits);
    if (res && limits && Object.keys(limits).length) {
      res.requests = { ...(asObj(res.requests) ?? {}) };
      for (const [k, v] of Object.entries(limits)) if (!(k in res.requests)) res.requests[k] = v;
    }
  }
  if (spec.enableServiceLinks === undefined) spec.enableServiceLinks = true;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  pod.status = asObj(pod.status) ?? {};
  if (!pod.status.phase) pod.status.phase = 'Pending';
  if (!pod.status.qosClass) pod.status.qosClass = qosClass(spec);
  syncAddresses(pod.status, 'podIP', 'podIPs');
  syncAddresses(pod.status, 'hostIP', 'hostIPs');
}

/** A PodStatus's two forms of an address, as upstream's v1 conversion keeps them: a podIP that
 *  differs from podIPs[0] (a client that writes podIP only) replaces the list, and podIP is
 *  podIPs[0]; the same for hostIP / hostIPs. Readers of the lists alone (the endpoint
 *  controllers) then see what such a client wrote. */
function syncAddresses(status: Obj, one: 'podIP' | 'hostIP', many: 'podIPs' | 'hostIPs'): void {
  const ip = status[one];
  const list = Array.isArray(status[many]) ? (status[many] as unknown[]) : [];
  const first = (list[0] as { ip?: unknown } | undefined)?.ip;
  if (typeof ip === 'string' && ip !== '' && first !== ip) status[many] = [{ ip }];
  else if (typeof first === 'string' && first !== '' && !ip) status[one] = first;
}

/** Guaranteed when every container has equal cpu+memory requests and limits; BestEffort when none set any. */
export function qosClass(spec: Obj): string {
  const cs = [...asArr(spec.initContainers), ...asArr(spec.containers)].filter(asObj);
  let any = false,
    guaranteed = true;
  for (const c of cs) {
    const req = asObj(c.resources?.requests) ?? {},
      lim = asObj(c.resources?.limits) ?? {};
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) any = true;
      const want = req[r] ?? lim[r];
      if (
        lim[r] === undefined ||
        !isValidQuantity(want) ||
        !isValidQuantity(lim[r]) ||
        compareQuantity(parseQuantity(want), parseQuantity(lim[r])) !== 0
      )
        guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
