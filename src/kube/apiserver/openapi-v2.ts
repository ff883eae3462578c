// OpenAPI v2 (`/openapi/v2`): one Swagger 2.0 document with the definitions of every served kind,
// built from the v3 documents. kubectl validates a `v1 List` (what `kubectl get -o yaml` prints
// for several objects) on the client against this document, since its server-side validation
// check does not apply to List; without it `kubectl apply -f` of such a file failed. client-go
// asks for it as protobuf (gnostic's openapi.v2.Document); other clients get JSON.
//
// Only what schema consumers read is carried: types, properties, items, additionalProperties,
// required, $ref, format, description and the x-kubernetes-* extensions. v3-only constructs are
// dropped or folded (nullable, oneOf/anyOf; allOf of one $ref becomes the $ref), and a schema that
// keeps unknown fields becomes a property-less object, so a client never reports its fields as
// unknown (upstream publishes CRD schemas to v2 the same way).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import protobuf from 'protobufjs';
import type { JSONSchemaProps } from '../api/index.js';
import { groupVersionDocument, OpenApiCache } from './openapi.js';
import type { Registry } from './registry.js';

/** The protobuf answer's Content-Type (client-go asks with `…spec.v2@v1.0+protobuf`, which Go's
 *  media-type parser refuses in a Content-Type, hence the dot). */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

type Json = Record<string, unknown>;

/** The Swagger 2.0 document (JSON form) of every served group version. */
export function swaggerDocument(reg: Registry, k8sVersion: string): Json {
  const definitions: Record<string, Json> = {};
  for (const g of reg.groupVersions())
    for (const v of g.versions) {
      const doc = groupVersionDocument(reg, g.group, v, k8sVersion) as
        | { components: { schemas: Record<string, JSONSchemaProps> } }
        | undefined;
      for (const [name, s] of Object.entries(doc?.components.schemas ?? {}))
        definitions[name] ??= toV2(s as unknown as Json);
    }
  return { swagger: '2.0', info: { title: 'Kubernetes', version: k8sVersion }, paths: {}, definitions };
}

function toV2(s: Json): Json {
  let src = s;
  // allOf: [{$ref}] (a described reference) → the reference itself
  const allOf = src.allOf as Json[] | undefined;
  if (Array.isArray(allOf) && allOf.length === 1 && typeof allOf[0]?.$ref === 'string') {
    const { allOf: _a, ...rest } = src;
    src = { ...rest, $ref: allOf[0].$ref };
  }
  const out: Json = {};
  if (typeof src.$ref === 'string') {
    out.$ref = src.$ref.replace(/^#\/components\/schemas\//, '#/definitions/');
    if (typeof src.description === 'string') out.description = src.description;
    return out;
  }
  for (const k of ['description', 'format', 'required', 'type'] as const) if (src[k] !== undefined) out[k] = src[k];
  // A oneOf of scalars (Quantity, IntOrString in v3) is a string in v2, as upstream publishes them.
  if (out.type === undefined && Array.isArray(src.oneOf) && src.oneOf.some((o) => (o as Json)?.type === 'string'))
    out.type = 'string';
  if (typeof out.type !== 'string' || !['object', 'array', 'string', 'integer', 'number', 'boolean'].includes(out.type))
    delete out.type;
  for (const [k, v] of Object.entries(src)) if (k.startsWith('x-kubernetes-')) out[k] = v;
  if (src['x-kubernetes-preserve-unknown-fields'] === true) {
    out.type = 'object';
    delete out.required;
    return out;
  }
  if (src.properties && typeof src.properties === 'object') {
    out.type ??= 'object';
    const props: Record<string, Json> = {};
    for (const [k, v] of Object.entries(src.properties as Record<string, Json>)) props[k] = toV2(v);
    out.properties = props;
  }
  if (out.type === 'array') {
    // (a tuple's `items` list, which structural schemas forbid, keeps its first schema)
    const items = Array.isArray(src.items) ? src.items[0] : src.items;
    out.items = toV2((items as Json | undefined) ?? {});
  }
  const ap = src.additionalProperties;
  if (ap !== undefined) out.additionalProperties = typeof ap === 'object' && ap ? toV2(ap as Json) : Boolean(ap);
  return out;
}

// gnostic's openapi.v2 messages, the fields this document uses (numbers as in its OpenAPIv2.proto).
const named = (t: string) => ({ fields: { name: { type: 'string', id: 1 }, value: { type: t, id: 2 } } });
const root = protobuf.Root.fromJSON({
  nested: {
    Document: {
      fields: {
        swagger: { type: 'string', id: 1 },
        info: { type: 'Info', id: 2 },
        paths: { type: 'Paths', id: 8 },
        definitions: { type: 'Definitions', id: 9 },
      },
    },
    Info: { fields: { title: { type: 'string', id: 1 }, version: { type: 'string', id: 2 } } },
    Paths: { fields: {} },
    Definitions: { fields: { additionalProperties: { rule: 'repeated', type: 'NamedSchema', id: 1 } } },
    NamedSchema: named('Schema'),
    NamedAny: named('Any'),
    Any: { fields: { yaml: { type: 'string', id: 2 } } },
    TypeItem: { fields: { value: { rule: 'repeated', type: 'string', id: 1 } } },
    ItemsItem: { fields: { schema: { rule: 'repeated', type: 'Schema', id: 1 } } },
    Properties: { fields: { additionalProperties: { rule: 'repeated', type: 'NamedSchema', id: 1 } } },
    AdditionalPropertiesItem: {
      oneofs: { oneof: { oneof: ['schema', 'boolean'] } },
      fields: { schema: { type: 'Schema', id: 1 }, boolean: { type: 'bool', id: 2 } },
    },
    Schema: {
      fields: {
        ref: { type: 'string', id: 1 },
        format: { type: 'string', id: 2 },
        description: { type: 'string', id: 4 },
        required: { rule: 'repeated', type: 'string', id: 19 },
        additionalProperties: { type: 'AdditionalPropertiesItem', id: 21 },
        type: { type: 'TypeItem', id: 22 },
        items: { type: 'ItemsItem', id: 23 },
        properties: { type: 'Properties', id: 25 },
        vendorExtension: { rule: 'repeated', type: 'NamedAny', id: 31 },
      },
    },
  },
});
const DocumentType = root.lookupType('Document');

function schemaMessage(s: Json): Json {
  const m: Json = {};
  if (typeof s.$ref === 'string') m.ref = s.$ref;
  if (typeof s.format === 'string') m.format = s.format;
  if (typeof s.description === 'string') m.description = s.description;
  if (Array.isArray(s.required) && s.required.length) m.required = s.required;
  if (typeof s.type === 'string') m.type = { value: [s.type] };
  if (s.items) m.items = { schema: [schemaMessage(s.items as Json)] };
  if (s.properties)
    m.properties = {
      additionalProperties: Object.entries(s.properties as Record<string, Json>).map(([name, v]) => ({
        name,
        value: schemaMessage(v),
      })),
    };
  if (s.additionalProperties !== undefined)
    m.additionalProperties =
      typeof s.additionalProperties === 'boolean'
        ? { boolean: s.additionalProperties }
        : { schema: schemaMessage(s.additionalProperties as Json) };
  const ext = Object.entries(s).filter(([k]) => k.startsWith('x-'));
  // (an extension's value travels as YAML text; JSON is YAML)
  if (ext.length) m.vendorExtension = ext.map(([name, v]) => ({ name, value: { yaml: `${JSON.stringify(v)}\n` } }));
  return m;
}

/** The document as gnostic's openapi.v2.Document protobuf. */
export function swaggerProtobuf(doc: Json): Uint8Array {
  const defs = doc.definitions as Record<string, Json>;
  const msg = DocumentType.fromObject({
    swagger: doc.swagger,
    info: doc.info,
    paths: {},
    definitions: {
      additionalProperties: Object.entries(defs).map(([name, s]) => ({ name, value: schemaMessage(s) })),
    },
  });
  return DocumentType.encode(msg).finish();
}

/** Both encodings, built once per registry change (CRDs). */
export class SwaggerCache {
  private cached?: { json: string; pb: Buffer; etag: string };
  constructor(
    private readonly reg: Registry,
    private readonly k8sVersion: string,
  ) {
    reg.onChange(() => {
      this.cached = undefined;
    });
  }
  get(): { json: string; pb: Buffer; etag: string } {
    if (!this.cached) {
      const doc = swaggerDocument(this.reg, this.k8sVersion);
      const json = JSON.stringify(doc);
      const etag = `"${createHash('sha512').update(json).digest('hex').slice(0, 64).toUpperCase()}"`;
      this.cached = { json, pb: Buffer.from(swaggerProtobuf(doc)), etag };
    }
    return this.cached;
  }
}

export const openApiCaches = (reg: Registry, k8sVersion: string) => ({
  v3: new OpenApiCache(reg, k8sVersion),
  v2: new SwaggerCache(reg, k8sVersion),
});

/** `/openapi/v3`, `/openapi/v3/<group version>` and `/openapi/v2` (protobuf when asked for, else
 *  JSON); false: not one of them (the caller answers 404). */
export function serveOpenApi(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  docs: { v3: OpenApiCache; v2: SwaggerCache },
): boolean {
  let body: string | Buffer | undefined;
  let type = 'application/json';
  const headers: Record<string, string> = {};
  if (path === '/openapi/v3') {
    body = JSON.stringify(docs.v3.index());
    headers['Cache-Control'] = 'no-cache, private';
  } else if (path.startsWith('/openapi/v3/')) {
    body = docs.v3.document(path.slice('/openapi/v3/'.length));
    // (addressed by content hash: a client may keep it)
    headers['Cache-Control'] = 'public, immutable';
    headers.Expires = new Date(Date.now() + 365 * 864e5).toUTCString();
  } else if (path === '/openapi/v2') {
    const d = docs.v2.get();
    headers.ETag = d.etag;
    headers.Vary = 'Accept';
    if (String(req.headers.accept ?? '').includes('application/com.github.proto-openapi.spec.v2')) {
      body = d.pb;
      type = OPENAPI_V2_PROTOBUF;
    } else body = d.json;
    if (req.headers['if-none-match'] === d.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
  }
  if (body === undefined) return false;
  res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
  return true;
}
