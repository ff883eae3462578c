// `skiff server`'s control plane, wired: kube-apiserver (store, PKI, auth, RBAC, admission:
// kube/apiserver's startKubeApiServer) and, once it is ready, the control loops as its clients
// over the private socket (controllers and the scheduler, each behind leader election; the agent
// joins here). Wiring only.
import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createLogger, invalidArgument, type Logger } from '../common/index.js';
import type { Store } from '../kube/storage/index.js';
import { KubeClient } from '../kube/client/index.js';
import { ensureKubeDnsService } from './service-network.js';
import {
  parseControllerManagerArgs,
  startControllerManager,
  startKubernetesService,
  type RunningControllerManager,
} from '../kube/controllers/index.js';
import { shareClusterBootstrap } from './bootstrap.js';
import { parseListen } from './listen.js';
import { ControlWorker, controlWorkersAvailable } from './control-worker.js';
import { startScheduler, type RunningScheduler } from '../kube/scheduler/index.js';
import { ensureNodeToken, NodeCsrController } from '../kube/certificates/index.js';
import { NodeIpam } from '../kube/podnet/index.js';
import {
  auth as security,
  evictionHandlers,
  parseApiServerArgs,
  startKubeApiServer,
  type ApiServer,
} from '../kube/apiserver/index.js';

export interface ServerOptions {
  dataDir: string;
  /** host:port to serve HTTPS on (default 127.0.0.1:6443; port 0 picks a free one). */
  httpsListen?: string;
  /** sqlite://PATH | etcd://h1:2379,h2:2379 | memory:// (default sqlite://DATA_DIR/state.db). */
  datastore?: string;
  /** Run the control plane's controllers (behind leader election on
   *  kube-system/kube-controller-manager; docs/controllers.md); default true. */
  controllers?: boolean;
  /** Run the scheduler (behind leader election on kube-system/kube-scheduler); default true. */
  scheduler?: boolean;
  /** Run the scheduler and the controllers each in a worker thread of their own (control-worker.ts)
   *  instead of on the API server's thread; `skiff server` does. Default false: in-process callers
   *  (tests) then reach the Scheduler and controller objects through scheduler()/controllers(). */
  workers?: boolean;
  /** kube-controller-manager flags the controllers honour (NAME=VALUE, as k3s's --kube-controller-manager-arg). */
  controllerManagerArgs?: string[];
  /** kube-apiserver flags the API server honours (NAME=VALUE, as k3s's --kube-apiserver-arg). */
  apiServerArgs?: string[];
  /** Service cluster IP range (default 10.96.0.0/12). */
  serviceCIDR?: string;
  /** Longest validity of node certificates the signer issues (seconds, default 1 year). */
  nodeCertSeconds?: number;
  /** The pod range nodes get their /24s from (node IPAM; default 10.42.0.0/16). */
  clusterCIDR?: string;
  /** The server token (k3s's --token): on a shared etcd datastore, the key to the cluster PKI a
   *  first server stored there (bootstrap.ts); default DATA_DIR/token, else a new one. */
  token?: string;
  log?: Logger;
}

export interface RunningServer {
  url: string;
  /** DATA_DIR/kubeconfig.yaml (admin credentials for kubectl). */
  kubeconfigPath: string;
  /** Same as kubeconfigPath (kept for existing callers). */
  kubeconfig: string;
  api: ApiServer;
  store: Store;
  /** Milliseconds from start to ready. */
  startupMs: number;
  /** The scheduler once started (undefined when disabled or failed). */
  scheduler(): Promise<RunningScheduler | undefined>;
  /** The controller manager's candidate once started (undefined when disabled or failed). */
  controllers(): Promise<RunningControllerManager | undefined>;
  /** With `workers`: the threads running the scheduler and the controllers (scheduler() and
   *  controllers() are then undefined). */
  workers: { scheduler?: ControlWorker; controllers?: ControlWorker };
  /** The cluster PKI (the CA signs node agents' certificates). */
  pki: security.Pki;
  /** The join token agents pass with --token (also in DATA_DIR/node-token). */
  nodeToken: string;
  /** The server token other servers on the same etcd datastore start with (DATA_DIR/token);
   *  undefined on a datastore only this server uses. */
  serverToken?: string;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const t0 = performance.now();
  const log = opts.log ?? createLogger({ component: 'server' });
  const { host, port } = parseListen(opts.httpsListen ?? '127.0.0.1:6443');
  let tuning: ReturnType<typeof parseControllerManagerArgs>;
  try {
    tuning = parseControllerManagerArgs(opts.controllerManagerArgs ?? []);
  } catch (e) {
    throw invalidArgument(`--kube-controller-manager-arg: ${(e as Error).message}`, {
      field: 'kube-controller-manager-arg',
    });
  }
  let apiTuning: ReturnType<typeof parseApiServerArgs>;
  try {
    apiTuning = parseApiServerArgs(opts.apiServerArgs ?? []);
  } catch (e) {
    throw invalidArgument(`--kube-apiserver-arg: ${(e as Error).message}`, { field: 'kube-apiserver-arg' });
  }
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const clientHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  // HA servers: the cluster PKI comes from (or goes into) the shared datastore before the API server loads it.
  const serverToken = await shareClusterBootstrap({
    dataDir: opts.dataDir,
    datastore: opts.datastore,
    token: opts.token,
    hosts: [...new Set([clientHost, ...security.defaultHosts()])],
    log: log.child({ component: 'bootstrap' }),
  });
  const kas = await startKubeApiServer({
    dataDir: opts.dataDir,
    host,
    port,
    clientHost,
    datastore: opts.datastore,
    subresources: evictionHandlers(),
    eventTtlMs: apiTuning.eventTtlMs,
    ...(opts.serviceCIDR ? { serviceNetwork: { cidr: opts.serviceCIDR } } : {}),
    log: log.child({ component: 'apiserver' }),
  });
  const startupMs = performance.now() - t0;
  log.info('API server ready', {
    url: kas.url,
    kubeconfig: kas.kubeconfigPath,
    startupMs: Math.round(startupMs),
    phases: kas.phases,
  });
  // Joining: the node token (DATA_DIR/node-token) and the node CSR approver/signer. Every server
  // runs the signer (a second one's write loses on the resourceVersion; nothing is signed twice).
  const nodeToken = await ensureNodeToken(opts.dataDir, kas.pki);
  const csrClient = new KubeClient({ socketPath: await kas.internalSocket(), userAgent: 'skiff-csr-signer' });
  const csrSigner = new NodeCsrController(csrClient, {
    ca: kas.pki.ca,
    maxSeconds: opts.nodeCertSeconds,
    log: log.child({ component: 'csr-signer' }),
  });
  await csrSigner.start();
  // Node IPAM: each Node a /24 of the cluster CIDR (behind its own leader election).
  const ipam = new NodeIpam(csrClient, { clusterCIDR: opts.clusterCIDR, log: log.child({ component: 'node-ipam' }) });
  ipam.start();
  // Cluster add-ons the server keeps (k3s's manifests): the kube-dns Service, answered on every
  // node by its own cluster DNS.
  const addons = new KubeClient({ socketPath: await kas.internalSocket(), userAgent: 'skiff-addons' });
  try {
    await ensureKubeDnsService(addons, opts.serviceCIDR);
  } catch (e) {
    log.error('could not create the kube-dns Service', { error: e instanceof Error ? e.message : String(e) });
  } finally {
    addons.close();
  }
  // The control loops start after readiness (they are clients; the API is what they wait for).
  const clusterIP = kas.api.context.services?.firstIP;
  const controllerOptions = {
    kubernetesService: clusterIP
      ? { clusterIP, endpointIP: clientHost, endpointPort: Number(new URL(kas.url).port) }
      : undefined,
    rootCA: kas.pki.ca.certPem,
    ...tuning,
  };
  let scheduler: Promise<RunningScheduler | undefined> = Promise.resolve(undefined);
  let schedulerClient: KubeClient | undefined;
  let controllers: Promise<RunningControllerManager | undefined> = Promise.resolve(undefined);
  let client: KubeClient | undefined;
  const workers: RunningServer['workers'] = {};
  const inWorkers = opts.workers === true && controlWorkersAvailable();
  if (opts.workers && !inWorkers) log.warn('no entry module for worker threads: control loops run on the API thread');
  if (inWorkers) {
    // upstream's identity is hostname_uuid; the pid in between tells processes on one host apart.
    const identity = () => `${hostname()}_${process.pid}_${randomUUID()}`;
    const socketPath = await kas.internalSocket();
    if (opts.scheduler !== false) {
      workers.scheduler = new ControlWorker(
        { role: 'scheduler', socketPath, identity: identity(), options: {} },
        log.child({ component: 'scheduler' }),
      );
      workers.scheduler.start();
    }
    if (opts.controllers !== false) {
      workers.controllers = new ControlWorker(
        { role: 'controllers', socketPath, identity: identity(), options: controllerOptions },
        log.child({ component: 'controllers' }),
      );
      workers.controllers.start();
    }
  }
  if (opts.scheduler !== false && !inWorkers) {
    scheduler = (async () => {
      schedulerClient = new KubeClient({ socketPath: await kas.internalSocket(), userAgent: 'skiff-scheduler' });
      return startScheduler(schedulerClient, { log: log.child({ component: 'scheduler' }) });
    })().catch((e) => {
      log.error('scheduler failed to start', { error: e instanceof Error ? e.stack : String(e) });
      return undefined;
    });
  }
  if (opts.controllers !== false && !inWorkers) {
    controllers = (async () => {
      client = new KubeClient({ socketPath: await kas.internalSocket(), userAgent: 'skiff-controller-manager' });
      return startControllerManager(client, { log: log.child({ component: 'controllers' }), ...controllerOptions });
    })().catch((e) => {
      log.error('controllers failed to start', { error: e instanceof Error ? e.stack : String(e) });
      return undefined;
    });
  }
  // Without the controllers, the `kubernetes` Service is still kept: kube-apiserver keeps it itself
  // (its in-process bootstrap controller), not kube-controller-manager.
  let kubernetesService: { stop(): void } | undefined;
  if (opts.controllers === false && controllerOptions.kubernetesService) {
    client = new KubeClient({ socketPath: await kas.internalSocket(), userAgent: 'skiff-apiserver' });
    kubernetesService = startKubernetesService(client, {
      ...controllerOptions.kubernetesService,
      log: log.child({ component: 'kubernetes-service' }),
    });
  }
  return {
    url: kas.url,
    kubeconfig: kas.kubeconfigPath,
    kubeconfigPath: kas.kubeconfigPath,
    api: kas.api,
    store: kas.store,
    startupMs,
    scheduler: () => scheduler,
    controllers: () => controllers,
    workers,
    pki: kas.pki,
    nodeToken,
    serverToken,
    async close() {
      csrSigner.stop();
      await ipam.stop();
      csrClient.close();
      await Promise.all([workers.scheduler?.stop(), workers.controllers?.stop()]);
      await (await scheduler)?.stop();
      schedulerClient?.close();
      await (await controllers)?.stop();
      kubernetesService?.stop();
      client?.close();
      await kas.close();
    },
  };
}
