// A POST or PUT body that does not decode into the endpoint's kind, refused in the words of
// upstream's decoder (apimachinery's json serializer and the REST handlers' transformDecodeError):
// unparsable or kindless bodies are "the object provided is unrecognized (must be of type K): …
// (summary of the bytes)"; a body naming another kind or version is "K in version "v" cannot be
// handled as a K2: …".
import { isObject } from '../../common/index.js';
import { findResource, type ResourceDefinition } from '../api/index.js';
import { errBadRequest, type ApiError } from './status.js';

/** The first 30 bytes, as upstream's summarizeData: text when it starts an object, else hex. */
function summarize(data: Buffer): string {
  if (data.length === 0) return '<empty>';
  const head = data.subarray(0, 30);
  const s = data[0] === 0x7b ? head.toString('utf8') : head.toString('hex');
  return data.length > 30 ? `${s} ...` : s;
}

/** JSON.parse's complaint in encoding/json's words, as far as they can be told apart. */
function goJsonError(e: Error, text: string): string {
  if (text.trim() === '' || /Unexpected end of JSON input|Unterminated/.test(e.message))
    return 'unexpected end of JSON input';
  const tok = /Unexpected token '?(.)'?/.exec(e.message)?.[1];
  return tok ? `invalid character '${tok}' looking for beginning of value` : e.message;
}

const GVK_STRUCT =
  'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }';

const unrecognized = (def: ResourceDefinition, why: string, data: Buffer): ApiError =>
  errBadRequest(`the object provided is unrecognized (must be of type ${def.kind}): ${why} (${summarize(data)})`);

/** Parses a JSON body of `def`'s endpoint, or throws upstream's 400. */
export function parseJsonBody(def: ResourceDefinition, data: Buffer): unknown {
  const text = data.toString('utf8');
  let body: unknown;
  try {
    if (text.trim() === '') throw new SyntaxError('Unexpected end of JSON input');
    body = JSON.parse(text);
  } catch (e) {
    throw unrecognized(def, `couldn't get version/kind; json parse error: ${goJsonError(e as Error, text)}`, data);
  }
  if (!isObject(body)) {
    const got = Array.isArray(body) ? 'array' : body === null ? 'null' : typeof body;
    if (body !== null)
      throw unrecognized(
        def,
        `couldn't get version/kind; json parse error: json: cannot unmarshal ${got} into Go value of type ${GVK_STRUCT}`,
        data,
      );
  }
  return body;
}

/** Go's internal package of a group's types (`core.ConfigMap`, `apps.Deployment`). */
const internalPkg = (group: string) => (group === '' ? 'core' : group.split('.')[0]);

/** A body whose apiVersion/kind is not the endpoint's: what upstream's decoder answers. */
export function wrongKind(def: ResourceDefinition, apiVersion: string, kind: string): ApiError {
  const slash = apiVersion.lastIndexOf('/');
  const [group, version] = slash < 0 ? ['', apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
  const known = findResource(group, version, kind);
  const why =
    known && known.kind === kind
      ? `converting (${version}.${kind}) to (${internalPkg(def.group)}.${def.kind}): unknown conversion`
      : `no kind "${kind}" is registered for version "${apiVersion}" in scheme "pkg/runtime/scheme.go:100"`;
  return errBadRequest(`${kind} in version "${version}" cannot be handled as a ${def.kind}: ${why}`);
}
