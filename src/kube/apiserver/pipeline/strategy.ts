// Per-resource strategies for the generic write pipeline (upstream's REST create/update/delete
// strategies and the generic store's hooks). The kinds' own rules that need nothing but the
// object (defaulting, validation, prepareForUpdate) live in their ResourceDefinition
// (src/kube/api); a Strategy holds what needs the server: allocators, deletion semantics,
// what a client may set on create. Built-in kinds without special rules use the generic one.
import type { FieldError, KubeObject, ResourceDefinition } from '../../api/index.js';
import type { ObjectReader } from '../admission/reader.js';
import type { OperationScope } from '../context.js';

/** One write as a strategy sees it. */
export interface WriteContext {
  r: OperationScope;
  def: ResourceDefinition;
  dryRun: boolean;
  reader: ObjectReader;
  /** '' for the main resource. */
  subresource: string;
}

/** Something claimed before the store write (a Service's cluster IP, node ports): undone when
 *  the write fails, committed (e.g. what the old object held released) when it succeeded. */
export interface Claim {
  undo(): Promise<void>;
  commit(): Promise<void>;
}

export interface Strategy {
  /** Create, after defaulting and mutating admission: drop what a client may not set. */
  prepareForCreate?(obj: KubeObject, w: WriteContext): void;
  /** Extra validation with the server's knowledge, after the definition's own. */
  validate?(obj: KubeObject, old: KubeObject | undefined, w: WriteContext): FieldError[];
  warningsOnCreate?(obj: KubeObject, w: WriteContext): string[];
  warningsOnUpdate?(obj: KubeObject, old: KubeObject, w: WriteContext): string[];
  /** Last normalisation before storing (upstream's Canonicalize). */
  canonicalize?(obj: KubeObject): void;
  /** Before the store write of a create or update (allocators). */
  beginCreate?(obj: KubeObject, w: WriteContext): Promise<Claim | undefined>;
  beginUpdate?(obj: KubeObject, old: KubeObject, w: WriteContext): Promise<Claim | undefined>;
  /** After the store write (not on dry-run). */
  afterCreate?(obj: KubeObject, w: WriteContext): Promise<void> | void;
  afterUpdate?(obj: KubeObject, old: KubeObject, w: WriteContext): Promise<void> | void;
  afterDelete?(obj: KubeObject, w: WriteContext): Promise<void> | void;
  /** Delete: change `next` (a copy of the stored object) for a graceful deletion and say whether
   *  the object stays until something finishes it (Namespace: its spec.finalizers). */
  beginDelete?(next: KubeObject, w: WriteContext): boolean;
  /** Delete: seconds the object waits for its owner (a pod for its node's agent) before it goes;
   *  `requested` is DeleteOptions.gracePeriodSeconds. 0 or absent: no graceful wait. */
  gracePeriod?(obj: KubeObject, requested: number | undefined): number;
  /** Whether a pending deletion still waits on something besides metadata.finalizers. */
  deletionPending?(obj: KubeObject): boolean;
  /** A kind whose status a client may set on create (Node: a kubelet registers with it). */
  keepStatusOnCreate?: boolean;
}

export const GENERIC: Strategy = {};
