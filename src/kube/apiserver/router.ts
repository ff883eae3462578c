// Request info: turns a URL path and method into (verb, group, version, namespace, resource, name,
// subresource) the way apiserver's RequestInfoFactory does, so authorization and handlers see the
// same attributes upstream's do.
import { queryBool } from './query.js';
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequest {
  kind: 'resource';
  verb: Verb;
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
  path: string;
}
export interface NonResourceRequest {
  kind: 'nonresource';
  verb: string;
  path: string;
}
export type RequestInfo = ResourceRequest | NonResourceRequest;

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function requestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const lower = method.toLowerCase();
  let rest: string[];
  let group = '',
    version = '';
  if (parts[0] === 'api' && parts.length >= 2) {
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return { kind: 'nonresource', verb: lower, path };
  if (rest.length === 0) return { kind: 'nonresource', verb: lower, path };

  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2])) rest = rest.slice(2);
  }
  if (rest.length === 0) return { kind: 'nonresource', verb: lower, path };
  const [resource, name, subresource, ...extra] = rest;
  // /api/v1/namespaces/foo is the namespace "foo" itself, not a namespace scope.
  if (resource === 'namespaces' && name !== undefined) namespace = undefined;
  if (extra.length) return { kind: 'nonresource', verb: lower, path };

  const isWatch = watchPath || queryBool(query, 'watch') === true;
  let verb: Verb;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = name === undefined ? (isWatch ? 'watch' : 'list') : isWatch ? 'watch' : 'get';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name === undefined ? 'deletecollection' : 'delete';
      break;
    default:
      return { kind: 'nonresource', verb: lower, path };
  }
  return { kind: 'resource', verb, group, version, namespace, resource, name, subresource, path };
}
