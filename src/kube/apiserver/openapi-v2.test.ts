import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { allResources } from '../api/index.js';
import { Registry } from './registry.js';
import { swaggerDocument, swaggerProtobuf } from './openapi-v2.js';

type Json = Record<string, any>;

test('the OpenAPI v2 document: every $ref resolves, every array has items, only Swagger types; the protobuf carries it', () => {
  const doc = swaggerDocument(new Registry(allResources()), 'v1.32.4') as Json;
  const defs = doc.definitions as Record<string, Json>;
  assert.ok(defs['io.k8s.api.core.v1.Pod'] && defs['io.k8s.api.apps.v1.Deployment']);
  const problems: string[] = [];
  const walk = (s: Json, at: string) => {
    if (s.$ref && !defs[s.$ref.replace('#/definitions/', '')]) problems.push(`${at}: dangling ${s.$ref}`);
    if (s.type !== undefined && !['object', 'array', 'string', 'integer', 'number', 'boolean'].includes(s.type))
      problems.push(`${at}: type ${s.type}`);
    if (s.type === 'array' && !s.items) problems.push(`${at}: array without items`);
    for (const k of ['allOf', 'oneOf', 'anyOf', 'nullable']) if (k in s) problems.push(`${at}: ${k}`);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v as Json, `${at}.${k}`);
    if (s.items) walk(s.items, `${at}[]`);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${at}{}`);
  };
  for (const [n, s] of Object.entries(defs)) walk(s, n);
  assert.deepEqual(problems, []);
  // a kind keeps its group-version-kind; a schema that keeps unknown fields has no properties
  assert.deepEqual(defs['io.k8s.api.core.v1.ConfigMap']['x-kubernetes-group-version-kind'], [
    { group: '', version: 'v1', kind: 'ConfigMap' },
  ]);
  const fields = defs['io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1'];
  assert.deepEqual([fields.type, fields.properties], ['object', undefined]);

  // Decoded with the field numbers of gnostic's OpenAPIv2.proto, written out here independently.
  const root = protobuf.parse(`syntax = "proto3";
    message Document { string swagger = 1; Info info = 2; Definitions definitions = 9; }
    message Info { string title = 1; string version = 2; }
    message Definitions { repeated NamedSchema additional_properties = 1; }
    message NamedSchema { string name = 1; Schema value = 2; }
    message NamedAny { string name = 1; Any value = 2; }
    message Any { string yaml = 2; }
    message TypeItem { repeated string value = 1; }
    message Properties { repeated NamedSchema additional_properties = 1; }
    message Schema { string _ref = 1; repeated string required = 19; TypeItem type = 22; Properties properties = 25;
      repeated NamedAny vendor_extension = 31; }`).root;
  const back = root.lookupType('Document').decode(swaggerProtobuf(doc)) as unknown as Json;
  assert.equal(back.swagger, '2.0');
  assert.equal(back.info.version, 'v1.32.4');
  const cm = back.definitions.additionalProperties.find((d: Json) => d.name === 'io.k8s.api.core.v1.ConfigMap').value;
  assert.deepEqual(cm.type.value, ['object']);
  assert.ok(cm.properties.additionalProperties.some((p: Json) => p.name === 'data'));
  const gvk = cm.vendorExtension.find((e: Json) => e.name === 'x-kubernetes-group-version-kind');
  assert.deepEqual(JSON.parse(gvk.value.yaml), [{ group: '', version: 'v1', kind: 'ConfigMap' }]);
});

test('Quantity and IntOrString as upstream publishes them: a oneOf of scalars in v3 (kubectl explain names them), strings in v2', async () => {
  const { groupVersionDocument } = await import('./openapi.js');
  const reg = new Registry(allResources());
  const v3 = (groupVersionDocument(reg, '', 'v1', 'v1.32.4') as Json).components.schemas as Record<string, Json>;
  const q = v3['io.k8s.apimachinery.pkg.api.resource.Quantity'];
  const i = v3['io.k8s.apimachinery.pkg.util.intstr.IntOrString'];
  assert.deepEqual([q.type, q.oneOf], [undefined, [{ type: 'string' }, { type: 'number' }]]);
  assert.deepEqual(
    [i.type, i.format, i.oneOf],
    [undefined, 'int-or-string', [{ type: 'integer' }, { type: 'string' }]],
  );
  const v2 = (swaggerDocument(reg, 'v1.32.4') as Json).definitions as Record<string, Json>;
  assert.equal(v2['io.k8s.apimachinery.pkg.api.resource.Quantity'].type, 'string');
  assert.deepEqual(
    [
      v2['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].type,
      v2['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].format,
    ],
    ['string', 'int-or-string'],
  );
});
