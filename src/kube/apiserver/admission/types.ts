// Admission plugins, as upstream's admission chain: each plugin may mutate the object (`admit`,
// the mutating phase, run in order before the object is validated) and/or refuse the request
// (`validate`, the validating phase, run after validation, just before the store write). A
// plugin refuses by throwing (an ApiError from status.ts: 403 Forbidden, 422 Invalid, ...).
import type { KubeObject, ResourceDefinition } from '../../api/index.js';
import type { UserInfo } from '../context.js';
import type { ObjectReader } from './reader.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

/** What a plugin sees of one request (upstream's admission.Attributes). */
export interface AdmissionAttributes {
  operation: Operation;
  def: ResourceDefinition;
  /** '' for the main resource; 'status', 'scale', 'binding', 'finalize', ... */
  subresource: string;
  namespace?: string;
  name?: string;
  /** The new object (CREATE, UPDATE; DELETE: undefined). Mutating plugins change it in place. */
  object?: KubeObject;
  /** The stored object (UPDATE, DELETE). Read-only. */
  oldObject?: KubeObject;
  user?: UserInfo;
  dryRun: boolean;
  /** Warnings for the client (`Warning:` headers), e.g. PodSecurity's warn mode. */
  warnings: string[];
  /** Audit annotations (upstream records them on the audit event; Skiff logs them at debug). */
  auditAnnotations: Record<string, string>;
  /** Reads other objects (cached per kind where the server keeps a cache). */
  reader: ObjectReader;
  /** The server's own writes, for plugins that keep state in objects (ResourceQuota's usage). */
  system: SystemWriter;
}

export interface SystemWriter {
  /** Writes obj's status through the update pipeline, as the server; Conflict (409) when
   *  obj.metadata.resourceVersion is not the stored one. */
  updateStatus(group: string, plural: string, obj: KubeObject): Promise<KubeObject>;
}

export interface AdmissionPlugin {
  /** Upstream's plugin name (NamespaceLifecycle, ServiceAccount, PodSecurity, ...). */
  readonly name: string;
  admit?(a: AdmissionAttributes): Promise<void> | void;
  validate?(a: AdmissionAttributes): Promise<void> | void;
}

/** Whether `a` is about `group/plural` (the main resource unless a subresource is named). */
export function isResource(a: AdmissionAttributes, group: string, plural: string, subresource = ''): boolean {
  return a.def.group === group && a.def.plural === plural && !a.def.custom && a.subresource === subresource;
}
