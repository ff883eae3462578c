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

/** A request's path and query, as `new URL(target, 'http://x')` gives them. */
export interface RequestTarget {
  pathname: string;
  searchParams: URLSearchParams;
}
// A path URL parsing leaves as it is: no character it percent-encodes or rewrites (space, quotes,
// <>`{}^|, backslash, non-ASCII, controls, '#'), no '%' (`%2e` makes a dot segment), no '.' or
// '..' segment to resolve, and not `//` first (a host to URL).
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;
const PLAIN_QUERY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;
/** The request target split without the URL parser when it would change nothing (every API
 *  request a client library sends); anything else goes through `new URL`. */
export function requestTarget(target: string): RequestTarget {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  if (PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path) && PLAIN_QUERY.test(query))
    return { pathname: path, searchParams: new URLSearchParams(query) };
  return new URL(target, 'http://x');
}

export function requestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => {
      if (!p.includes('%')) return p;
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
