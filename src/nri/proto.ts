// The wire types: NRI's api.proto (github.com/containerd/nri v0.12.2, pkg/api/api.proto, vendored
// unchanged as the contract) loaded by protobufjs, and ttrpc's Request/Response (ttrpc's
// request.proto: four fields each) declared through protobufjs's reflection API. Messages are
// plain objects with camelCase keys (NRI_version → NRIVersion), int64 as Number, enums as numbers.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { internal } from '../common/index.js';

/** Where NRI's api.proto is: beside this file in the sources, dist/proto/ in the bundle. */
export function nriProtoPath(): string {
  for (const rel of ['./proto/api.proto', './proto/nri-api.proto', '../proto/nri-api.proto']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw internal('src/nri/proto/api.proto not found (the build copies it to dist/proto/nri-api.proto)');
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, arrays: true, objects: true };

export interface Codec<T> {
  encode(v: T): Buffer;
  decode(b: Buffer): T;
}

function codec<T>(t: protobuf.Type): Codec<T> {
  return {
    encode: (v) => Buffer.from(t.encode(t.fromObject(v as Record<string, unknown>)).finish()),
    decode: (b) => t.toObject(t.decode(b), TO_OBJECT) as T,
  };
}

const ttrpc = new protobuf.Root().define('ttrpc');
ttrpc.add(
  new protobuf.Type('Status')
    .add(new protobuf.Field('code', 1, 'int32'))
    .add(new protobuf.Field('message', 2, 'string')),
);
ttrpc.add(
  new protobuf.Type('KeyValue')
    .add(new protobuf.Field('key', 1, 'string'))
    .add(new protobuf.Field('value', 2, 'string')),
);
ttrpc.add(
  new protobuf.Type('Request')
    .add(new protobuf.Field('service', 1, 'string'))
    .add(new protobuf.Field('method', 2, 'string'))
    .add(new protobuf.Field('payload', 3, 'bytes'))
    .add(new protobuf.Field('timeoutNano', 4, 'int64'))
    .add(new protobuf.Field('metadata', 5, 'KeyValue', 'repeated')),
);
ttrpc.add(
  new protobuf.Type('Response')
    .add(new protobuf.Field('status', 1, 'Status'))
    .add(new protobuf.Field('payload', 2, 'bytes')),
);

interface RawRequest {
  service: string;
  method: string;
  payload: Buffer;
  timeoutNano: number;
}
interface RawResponse {
  status?: { code?: number; message?: string };
  payload: Buffer;
}

function withDefaults<T>(c: Codec<T>, fill: (v: T) => T): Codec<T> {
  return { encode: c.encode, decode: (b) => fill(c.decode(b)) };
}

export const ttrpcRequest = withDefaults(codec<RawRequest>(ttrpc.lookupType('Request')), (r) => ({
  service: r.service ?? '',
  method: r.method ?? '',
  payload: Buffer.from(r.payload ?? []),
  timeoutNano: r.timeoutNano ?? 0,
}));
export const ttrpcResponse = withDefaults(codec<RawResponse>(ttrpc.lookupType('Response')), (r) => ({
  status: r.status,
  payload: Buffer.from(r.payload ?? []),
}));

let nri: protobuf.Root | undefined;
const codecs = new Map<string, Codec<unknown>>();

/** The codec of an NRI message (by its name in package nri.pkg.api.v1alpha1). */
export function nriCodec<T>(name: string): Codec<T> {
  let c = codecs.get(name);
  if (!c) {
    nri ??= protobuf.loadSync(nriProtoPath());
    c = codec<unknown>(nri.lookupType(`nri.pkg.api.v1alpha1.${name}`));
    codecs.set(name, c);
  }
  return c as Codec<T>;
}

export const NRI_PACKAGE = 'nri.pkg.api.v1alpha1';
export const PLUGIN_SERVICE = `${NRI_PACKAGE}.Plugin`;
export const RUNTIME_SERVICE = `${NRI_PACKAGE}.Runtime`;
