// Upstream's default admission plugins, in kube-apiserver's order (NamespaceLifecycle, always
// first, is added by the server itself): LimitRanger, ServiceAccount, PodSecurity, Priority,
// DefaultTolerationSeconds, DefaultStorageClass, StorageObjectInUseProtection, ResourceQuota
// (last, so it measures the final object).
import { defaultStorageClass } from './default-storageclass.js';
import { limitRanger } from './limitranger.js';
import { podSecurity } from './podsecurity/plugin.js';
import { priority } from './priority.js';
import { resourceQuota } from './resourcequota.js';
import { serviceAccount } from './serviceaccount.js';
import { storageObjectInUseProtection } from './storage-protection.js';
import { defaultTolerationSeconds } from './toleration-seconds.js';
import type { AdmissionPlugin } from './types.js';

export interface DefaultAdmissionOptions {
  /** Include ServiceAccount (default true). A server without the ServiceAccount controller (an
   *  in-process test server) leaves it out, as upstream's integration test framework does: every
   *  pod would otherwise wait for a `default` account nothing creates. */
  serviceAccount?: boolean;
}

export function defaultAdmissionPlugins(opts: DefaultAdmissionOptions = {}): AdmissionPlugin[] {
  return [
    limitRanger,
    ...(opts.serviceAccount === false ? [] : [serviceAccount()]),
    podSecurity,
    priority,
    defaultTolerationSeconds(),
    defaultStorageClass,
    storageObjectInUseProtection,
    resourceQuota,
  ];
}
