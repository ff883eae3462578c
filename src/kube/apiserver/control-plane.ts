// kube-apiserver as `skiff server` runs it: the store (SQLite by default, etcd by URL) and the
// cluster PKI made concurrently, client-certificate / token / service-account authentication,
// impersonation, RBAC over the served objects with upstream's bootstrap policy, the escalation
// check on RBAC writes, Secrets encrypted at rest, the token and review endpoints, the HTTPS
// listener, the admin kubeconfig, and a private unix socket for the in-process control loops.
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import type { Logger } from '../../common/index.js';
import { allResources } from '../api/index.js';
import { openStore, type Store } from '../storage/index.js';
import { defaultAdmissionPlugins } from './admission/defaults.js';
import { rbacEscalation } from './admission/rbac-escalation.js';
import type { AdmissionPlugin } from './admission/types.js';
import * as security from './auth/index.js';
import { authReviewHandlers, tokenRequestHandler } from './auth-endpoints.js';
import type { ApiAuth } from './context.js';
import { INTERNAL_USER, isInternal, listenInternal, type InternalSocket } from './internal-socket.js';
import { ensureBootstrapPolicy, rbacSource } from './rbac-store.js';
import { createApiServer, type ApiServer } from './server.js';
import { metricsReaders } from './metrics-api.js';
import { podStreamHandlers } from './pod-streams.js';
import type { ServiceNetworkOptions } from './service-ips.js';
import type { VirtualHandler } from './virtual.js';

export interface KubeApiServerOptions {
  dataDir: string;
  /** Where to listen (port 0 picks one). */
  host: string;
  port: number;
  /** The address clients dial (in the kubeconfig and the serving certificate). */
  clientHost: string;
  /** sqlite://PATH | etcd://… | memory:// (default sqlite://DATA_DIR/state.db). */
  datastore?: string;
  /** Admission plugins after NamespaceLifecycle and the RBAC escalation check (default: upstream's
   *  default set, admission/defaults.ts). */
  admission?: AdmissionPlugin[];
  /** Extra subresource handlers by `group/plural/subresource` (pods/eviction, ...); the pod
   *  streams (log, exec, attach, portforward) and metrics.k8s.io reach the nodes' agents. */
  subresources?: Record<string, VirtualHandler>;
  /** Service cluster IP range and node port range (default 10.96.0.0/12, 30000-32767). */
  serviceNetwork?: ServiceNetworkOptions;
  /** Events are deleted this long after their last write (kube-apiserver's --event-ttl; default
   *  one hour; 0 keeps them). */
  eventTtlMs?: number;
  log: Logger;
}

export interface KubeApiServer {
  api: ApiServer;
  store: Store;
  pki: security.Pki;
  url: string;
  kubeconfigPath: string;
  /** Milliseconds from start to each phase (store, pki, listen, rbac-bootstrap). */
  phases: Record<string, number>;
  /** The private plain-HTTP socket of the in-process control loops (opened on first call). */
  internalSocket(): Promise<string>;
  close(): Promise<void>;
}

export async function startKubeApiServer(opts: KubeApiServerOptions): Promise<KubeApiServer> {
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  const mark = (k: string) => {
    phases[k] = Math.round(performance.now() - t0);
  };
  const { log, dataDir } = opts;
  // PKI and store open concurrently: both are I/O and neither needs the other.
  const [pki, store] = await Promise.all([
    security
      .ensurePki(dataDir, { hosts: [...new Set([opts.clientHost, ...security.defaultHosts()])] })
      .finally(() => mark('pki')),
    openStore(opts.datastore ?? `sqlite://${join(dataDir, 'state.db')}`).finally(() => mark('store')),
  ]);
  let api: ApiServer | undefined;
  let internal: Promise<InternalSocket> | undefined;
  try {
    const authenticateExternal = security.createAuthenticator({
      pki,
      onReject: (reason) => log.debug('authentication refused', { reason }),
    });
    // What arrives on the internal socket is the control plane itself.
    const authenticate = async (req: http.IncomingMessage) =>
      isInternal(req) ? INTERNAL_USER : authenticateExternal(req);
    let source: ReturnType<typeof rbacSource> | undefined;
    const authorizer = security.createRbacAuthorizer({
      listClusterRoles: () => source!.listClusterRoles(),
      listClusterRoleBindings: () => source!.listClusterRoleBindings(),
      listRoles: (ns) => source!.listRoles(ns),
      listRoleBindings: (ns) => source!.listRoleBindings(ns),
    });
    const auth: ApiAuth = {
      authenticate: (req) => authenticate(req),
      authorize: (a) =>
        authorizer.authorize(a.user, {
          verb: a.verb,
          resourceRequest: a.resourceRequest,
          path: a.path,
          apiGroup: a.group,
          apiVersion: a.version,
          resource: a.resource,
          subresource: a.subresource,
          namespace: a.namespace,
          name: a.name,
        }),
      impersonate: async (user, req) => {
        const r = await security.impersonate(authorizer, user, req.headers);
        return 'forbidden' in r ? { status: { ...r.forbidden } } : { user: r.user };
      },
    };
    // Secrets are encrypted at rest by default (AES-GCM, key file in the data dir).
    const secrets = security.createSecretTransformer(await security.loadOrCreateEncryptionKey(dataDir));
    // The API server's identity towards node agents (pods/log|exec|attach|portforward, metrics).
    const kubeletCert = await security.issueClientCertificate(pki, {
      commonName: 'kube-apiserver-kubelet-client',
      organizations: ['system:masters'],
    });
    const kubeletTls = { ca: pki.ca.certPem, cert: kubeletCert.certPem, key: kubeletCert.keyPem };
    api = createApiServer({
      store,
      resources: allResources(),
      auth,
      virtual: authReviewHandlers(authenticateExternal, authorizer),
      subresources: {
        ...tokenRequestHandler(pki.serviceAccountKey),
        ...podStreamHandlers(kubeletTls),
        ...opts.subresources,
      },
      readers: metricsReaders(kubeletTls),
      admission: [rbacEscalation(authorizer), ...(opts.admission ?? defaultAdmissionPlugins())],
      transformers: {
        '/secrets': {
          toStorage: (b: Uint8Array, k: string) => secrets.encrypt(b, k),
          fromStorage: (b: Uint8Array, k: string) => secrets.decrypt(b, k),
        },
      },
      tls: security.serverTlsOptions(pki),
      serviceNetwork: opts.serviceNetwork,
      eventTtlMs: opts.eventTtlMs,
      log,
    });
    source = rbacSource(api.context);
    await api.start();
    await ensureBootstrapPolicy(api.context);
    mark('rbac-bootstrap');
    const addr = await api.listen(opts.port, opts.host);
    mark('listen');
    const url = `https://${opts.clientHost.includes(':') ? `[${opts.clientHost}]` : opts.clientHost}:${addr.port}`;
    const kubeconfigPath = join(dataDir, 'kubeconfig.yaml');
    // Rewritten only when it changes (an fsync'd atomic write costs more than the rest of a restart).
    const wanted = stringifyYaml(security.kubeconfigObject({ server: url, pki }));
    if ((await readFile(kubeconfigPath, 'utf8').catch(() => '')) !== wanted)
      await security.writeKubeconfig(kubeconfigPath, { server: url, pki });
    const running = api;
    return {
      api: running,
      store,
      pki,
      url,
      kubeconfigPath,
      phases,
      internalSocket() {
        internal ??= listenInternal(dataDir, running.handle);
        return internal.then((s) => s.path);
      },
      async close() {
        // the internal server's start failure was already reported by the start itself
        if (internal) await (await internal.catch(() => undefined))?.close();
        source?.stop();
        await running.close();
        await store.close();
      },
    };
  } catch (e) {
    // undoing a half start: the start's own error (rethrown below) is the one to report
    await api?.close().catch(() => undefined);
    await store.close();
    throw e;
  }
}
