// Authorization attributes from an HTTP request, as upstream's RequestInfoFactory derives them:
// /api/v1/... and /apis/GROUP/VERSION/... are resource requests (verb from the method, list/watch
// for collections, deletecollection, the special `watch`/`proxy` path verbs, namespaces,
// subresources); every other path is a non-resource request whose verb is the lowercase method.
import { queryBool } from '../query.js';
import type { RequestAttributes } from './rbac-types.js';

const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function methodVerb(method: string): string {
  switch (method.toUpperCase()) {
    case 'POST':
      return 'create';
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

/** `metadata.name=x` (or `==`) in a field selector that requires it exactly. */
function exactName(fieldSelector: string | null): string {
  if (!fieldSelector) return '';
  for (const term of fieldSelector.split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*([^,!=\s]+)\s*$/.exec(term);
    if (m && !m[1].includes('/') && m[1] !== '.' && m[1] !== '..') return m[1];
  }
  return '';
}

export function requestAttributes(method: string, rawUrl: string): RequestAttributes {
  // Split by hand: `new URL` rejects request targets such as `//x` that a client may still send.
  const target = rawUrl.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const q = target.indexOf('?');
  const path = (q < 0 ? target : target.slice(0, q)).split('#')[0] || '/';
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  const nonResource: RequestAttributes = { resourceRequest: false, verb: method.toLowerCase(), path };
  let parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return nonResource;
  let apiGroup = '';
  if (parts[0] === 'apis') {
    if (parts.length < 4) return nonResource;
    apiGroup = parts[1];
    parts = parts.slice(2);
  } else parts = parts.slice(1);
  const apiVersion = parts[0];
  parts = parts.slice(1);

  let verb: string;
  if (SPECIAL_VERBS.has(parts[0])) {
    verb = parts[0];
    parts = parts.slice(1);
  } else verb = methodVerb(method);

  let namespace = '';
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1];
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2])) parts = parts.slice(2);
  }
  const resource = parts[0] ?? '';
  let name = parts[1] ?? '';
  const subresource = parts.length >= 3 && verb !== 'proxy' ? parts[2] : '';

  if (!name && verb === 'get') {
    verb = queryBool(query, 'watch') ? 'watch' : 'list';
    name = exactName(query.get('fieldSelector'));
  }
  if (!name && verb === 'delete') verb = 'deletecollection';
  return { resourceRequest: true, verb, apiGroup, apiVersion, resource, subresource, namespace, name };
}
