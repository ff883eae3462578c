// What every handler gets: the server-wide context (store, registry, hooks) and the per-request
// one (parsed request info, resolved definition, warnings to send back).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../common/index.js';
import type { ResourceDefinition } from '../api/index.js';
import type { KindCache } from './admission/cache.js';
import type { ObjectReader } from './admission/reader.js';
import type { AdmissionPlugin } from './admission/types.js';
import type { Store } from '../storage/index.js';
import type { Registry } from './registry.js';
import type { ServiceAllocator } from './service-ips.js';
import type { ResourceRequest } from './router.js';
import type { ErrorTarget } from './status.js';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** Attributes an authorizer decides on (upstream's authorizer.Attributes). */
export interface AuthzAttributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  path: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface ApiAuth {
  /** undefined → 401 Unauthorized. */
  authenticate(req: IncomingMessage): Promise<UserInfo | undefined>;
  authorize(a: AuthzAttributes): Promise<{ allowed: boolean; reason?: string }>;
  /** Impersonation (`Impersonate-*` headers): the identity to act as, or a Status to answer with. */
  impersonate?(
    user: UserInfo,
    req: IncomingMessage,
  ): Promise<{ user: UserInfo } | { status: { code: number } & Record<string, unknown> }>;
}

export interface ApiContext {
  store: Store;
  registry: Registry;
  log: Logger;
  auth?: ApiAuth;
  /** The admission chain, in order (NamespaceLifecycle first). */
  admission: AdmissionPlugin[];
  /** Reads for admission and strategies: caches of some kinds, the store otherwise. */
  reader: ObjectReader;
  /** Caches of the kinds admission reads, by `group/plural` (filled when the server starts). */
  caches: Map<string, KindCache>;
  version: { major: string; minor: string; gitVersion: string };
  /** Cluster IP / node port allocation for Services (kept in the store). */
  services?: ServiceAllocator;
}

/** What the write pipeline needs of a request: an HTTP request's scope, or one the server makes
 *  for its own writes (system.ts). */
export interface OperationScope {
  ctx: ApiContext;
  /** Only the headers are read (the user agent names the field manager). */
  req: { headers: IncomingHttpHeaders };
  query: URLSearchParams;
  info: ResourceRequest;
  def: ResourceDefinition;
  target: ErrorTarget;
  warnings: string[];
  user?: UserInfo;
  /** For an upgrade request (exec, attach, port-forward): the client's connection. */
  upgrade?: { socket: import('node:stream').Duplex; head: Buffer };
  /** Set by a handler that never mutates what its store writes return: storeCreate/storeUpdate
   *  then hand that object to the registry (Registry.remember), so watchers skip its parse. */
  shareWritten?: boolean;
}

export interface RequestScope extends OperationScope {
  req: IncomingMessage;
  res: ServerResponse;
}

export interface HandlerResult {
  code: number;
  /** With `raw`, JSON already: a string or its UTF-8 bytes. */
  body: unknown;
  raw?: boolean;
  /** The handler answered (or took over the connection) itself; nothing more is written. */
  handled?: boolean;
}
