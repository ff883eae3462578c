// Composition root of the node agent inside `skiff start` (server and node in one process, as
// k3s; startNode calls it): certificates from the cluster CA — the node's client identity (system:node:NAME in
// system:nodes) and its HTTPS server's serving certificate — the agent on the engine's
// ContainerRuntime, and the local-path provisioner.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { invalidArgument, type Logger } from '../common/index.js';
import type { ContainerRuntime } from '../cri/index.js';
import { KubeClient } from '../kube/client/index.js';
import {
  defaultNodeIP,
  LocalPathProvisioner,
  parseKubeletArgs,
  startAgent,
  type RunningAgent,
} from '../kube/agent/index.js';
import { auth as security } from '../kube/apiserver/index.js';
import type { RunningServer } from './server.js';

export interface NodeAgentOptions {
  server: RunningServer;
  runtime: ContainerRuntime;
  /** Default: this host's name (lower case, as a DNS label). */
  nodeName?: string;
  nodeIP?: string;
  /** kubelet's root dir (default /var/lib/skiff/agent). */
  dataDir: string;
  podLogsDir?: string;
  /** host:port of the node's HTTPS server (default 0.0.0.0:10250). */
  listen?: { host: string; port: number };
  cgroupRoot?: string;
  /** Cluster DNS service addresses written to pods' resolv.conf (kubelet's --cluster-dns). */
  clusterDNS?: string[];
  /** The Node carries the control-plane role label (a server's node); default false. */
  controlPlane?: boolean;
  /** The Node's pod CIDR when the server has none for it (default 10.42.0.0/24). */
  defaultPodCIDR?: string;
  /** Secret and projected volumes on tmpfs (default true). */
  memoryBackedSecrets?: boolean;
  /** kubelet flags the agent honours (NAME=VALUE, as k3s's --kubelet-arg): max-pods, … */
  kubeletArgs?: string[];
  log?: Logger;
}

/** The agent's tunables from `--kubelet-arg`s, or an InvalidArgument naming the flag. */
export function kubeletTunables(args: readonly string[] | undefined): ReturnType<typeof parseKubeletArgs> {
  try {
    return parseKubeletArgs(args ?? []);
  } catch (e) {
    throw invalidArgument(`--kubelet-arg: ${(e as Error).message}`, { field: 'kubelet-arg' });
  }
}

export interface RunningNodeAgent {
  agent: RunningAgent;
  stop(): Promise<void>;
}

export function defaultNodeName(): string {
  return (
    hostname()
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '') || 'node'
  );
}

export async function startNodeAgent(o: NodeAgentOptions): Promise<RunningNodeAgent> {
  const tunables = kubeletTunables(o.kubeletArgs);
  const pki = o.server.pki;
  const name = o.nodeName ?? defaultNodeName();
  const client = async (commonName: string, organizations: string[], userAgent: string) => {
    const c = await security.issueClientCertificate(pki, { commonName, organizations });
    return new KubeClient({ server: o.server.url, ca: pki.ca.certPem, cert: c.certPem, key: c.keyPem, userAgent });
  };
  const nodeClient = await client(`system:node:${name}`, ['system:nodes'], `skiff-agent/${name}`);
  // The provisioner creates PersistentVolumes and binds claims (a controller's rights, not a node's).
  const storageClient = await client('system:skiff:local-path-provisioner', ['system:masters'], 'skiff-local-path');
  const listen = o.listen ?? { host: '0.0.0.0', port: 10250 };
  const ip = o.nodeIP ?? defaultNodeIP();
  const serving = await security.issueServingCertificate(pki, {
    commonName: name,
    hosts: [...new Set([ip, name, 'localhost', '127.0.0.1', ...security.defaultHosts()])],
  });
  const agent = await startAgent({
    client: nodeClient,
    claimsClient: storageClient,
    runtime: o.runtime,
    nodeName: name,
    nodeIP: ip,
    rootDir: o.dataDir,
    podLogsDir: o.podLogsDir,
    controlPlane: o.controlPlane ?? false,
    defaultPodCIDR: o.defaultPodCIDR,
    cgroupRoot: o.cgroupRoot,
    clusterDNS: o.clusterDNS,
    memoryBackedSecrets: o.memoryBackedSecrets,
    ...tunables,
    server: { ...listen, cert: serving.certPem, key: serving.keyPem, ca: pki.ca.certPem },
    log: o.log,
  });
  const provisioner = new LocalPathProvisioner(storageClient, name, join(o.dataDir, 'storage'), agent.ctx.log);
  try {
    await provisioner.start();
  } catch (e) {
    await agent.stop();
    throw e;
  }
  return {
    agent,
    async stop() {
      provisioner.stop();
      await agent.stop();
      nodeClient.close();
      storageClient.close();
    },
  };
}
