// Server-side printing: meta.k8s.io/v1 Table from a definition's columns and rows, with the
// `includeObject` policy (None | Metadata (default) | Object) that kubectl's printers rely on.
import type { KubeObject, ResourceDefinition, TableColumn } from '../api/index.js';
import { ApiError, errBadRequest } from './status.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function parseIncludeObject(v: string | null): IncludeObject {
  if (v === null || v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw errBadRequest(`includeObject: Unsupported value: "${v}": supported values: "Metadata", "None", "Object"`);
}

const DEFAULT_COLUMNS: TableColumn[] = [
  { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
  {
    name: 'Created At',
    type: 'date',
    description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
    priority: 0,
  },
];

export function columnsOf(def: ResourceDefinition): TableColumn[] {
  return def.columns?.length ? def.columns : DEFAULT_COLUMNS;
}

export function rowCells(def: ResourceDefinition, obj: KubeObject, now: Date): unknown[] {
  if (def.columns?.length) {
    try {
      return def.row(obj, now);
    } catch {
      return [obj.metadata.name, ...def.columns.slice(1).map(() => '<error>')];
    }
  }
  return [obj.metadata.name, obj.metadata.creationTimestamp];
}

function rowObject(obj: KubeObject, inc: IncludeObject): unknown {
  if (inc === 'None') return undefined;
  if (inc === 'Object') return obj;
  const { managedFields: _m, ...metadata } = obj.metadata;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata };
}

/** An object as meta.k8s.io PartialObjectMetadata (its whole metadata, as kube-apiserver's
 *  asPartialObjectMetadata keeps it). */
export function toPartialMetadata(obj: KubeObject, version: 'v1' | 'v1beta1'): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
}

/** 406 for a PartialObjectMetadata answer of the wrong shape (a list asked as one object, or one
 *  object asked as a list), worded as kube-apiserver's (%T of the Go object). */
export function partialShapeError(def: ResourceDefinition, asked: 'list' | 'object'): ApiError {
  return asked === 'list'
    ? new ApiError(
        406,
        'NotAcceptable',
        `you requested PartialObjectMetadataList, but the requested object is not a list (*${def.version}.${def.kind})`,
      )
    : new ApiError(
        406,
        'NotAcceptable',
        `you requested PartialObjectMetadata, but the requested object is a list (*${def.version}.${def.listKind})`,
      );
}

export function toTable(
  def: ResourceDefinition,
  objs: KubeObject[],
  opts: {
    include: IncludeObject;
    version: 'v1' | 'v1beta1';
    resourceVersion?: string;
    continue?: string;
    remainingItemCount?: number;
    noHeaders?: boolean;
  },
): Record<string, unknown> {
  const now = new Date();
  const metadata: Record<string, unknown> = {};
  if (opts.resourceVersion) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  const table: Record<string, unknown> = { kind: 'Table', apiVersion: `meta.k8s.io/${opts.version}`, metadata };
  if (!opts.noHeaders) table.columnDefinitions = columnsOf(def).map((c) => ({ format: '', ...c }));
  table.rows = objs.map((o) => {
    const r: Record<string, unknown> = { cells: rowCells(def, o, now) };
    const ob = rowObject(o, opts.include);
    if (ob) r.object = ob;
    return r;
  });
  return table;
}

/** Human age as kubectl prints it (`5s`, `3m4s`, `2d3h`); what resource rows use for AGE. */
export function humanAge(from: string | undefined, now: Date): string {
  if (!from) return '<unknown>';
  const s = Math.max(0, Math.floor((now.getTime() - Date.parse(from)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}
