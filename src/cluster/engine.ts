// The engine with what it is composed of (skiff engine, skiff start, and the agent's node): the
// network manager first (it reconciles what a crashed engine left: bridges, rules, leases), the
// engine over it, and the reverse order on close. Wiring only; the parts load on demand.
import { join } from 'node:path';
import type { ContainerRuntime, CriServer } from '../cri/index.js';
import { phase } from '../common/index.js';

export interface LaunchOptions {
  dataRoot?: string;
  execRoot?: string;
  hosts?: string[];
  cgroupParent?: string;
  snapshotter?: 'overlayfs' | 'native';
  /** Default bridge interface (dockerd's --bridge), gateway/prefix (dockerd's --bip), iptables chain prefix. */
  bridge?: string;
  bip?: string;
  chainPrefix?: string;
  /** Registries reached over plain HTTP besides loopback (dockerd's --insecure-registry). */
  insecureRegistries?: string[];
  /** dockerd's --live-restore (default true). */
  liveRestore?: boolean;
  /** Per-registry pull mirrors: domain → URLs. */
  registryMirrors?: Record<string, string[]>;
  /** The CRI runtime (with the pod network options), served on `socket` when given; without a
   *  socket only the in-process node agent uses it (`skiff start --no-cri`). */
  cri?: {
    socket?: string;
    podCidr?: string;
    bridge?: string;
    chainPrefix?: string;
    streamingAddress?: string;
    /** Pod interfaces' MTU (the pod network's: an overlay lowers it). */
    mtu?: number;
    /** NRI plugins' socket and timeouts (absent: no NRI). */
    nri?: { socket?: string; registrationTimeoutMs?: number; requestTimeoutMs?: number };
  };
}
export interface LaunchedEngine {
  hosts: string[];
  apiVersion: string;
  /** The CRI implementation, for an in-process node agent (with `cri`). */
  cri?: ContainerRuntime;
  /** unix:///… where CRI is served. */
  criEndpoint?: string;
  close(): Promise<void>;
}

/** Starts the engine with everything it is composed of: the network
 *  manager is initialised first (it reconciles what a crashed engine left: bridges, rules, leases),
 *  and closed after the engine (DNS stops; links and rules stay for containers kept running). */
export async function launchEngine(o: LaunchOptions): Promise<LaunchedEngine> {
  const { startEngine } = await import('../engine/index.js');
  const { NetworkManager, createEngineDriver } = await import('../network/index.js');
  phase('engine modules loaded');
  // Short commands of the hot paths (mount, ip -batch, pause) forked by skiff-spawn, not by Node.
  const { spawnerCommandRunner } = await import('../runtime/index.js');
  const { setCommandRunner } = await import('../common/index.js');
  setCommandRunner(spawnerCommandRunner());
  const dataRoot = o.dataRoot ?? '/var/lib/skiff/engine';
  const env = process.env;
  const network = new NetworkManager({
    stateDir: join(dataRoot, 'network'),
    chainPrefix: o.chainPrefix ?? env.SKIFF_CHAIN_PREFIX ?? 'SKIFF',
  });
  await network.init();
  phase('network manager initialised');
  let engine;
  try {
    const networkDriver = createEngineDriver(network, {
      defaultBridge: o.bridge ?? env.SKIFF_BRIDGE ?? 'skiff0',
      bip: o.bip ?? env.SKIFF_BIP,
    });
    engine = await startEngine({
      dataRoot,
      execRoot: o.execRoot,
      hosts: o.hosts,
      cgroupParent: o.cgroupParent,
      snapshotter: o.snapshotter,
      networkDriver,
      insecureRegistries: o.insecureRegistries,
      registryMirrors: o.registryMirrors,
      liveRestore: o.liveRestore,
      cri: o.cri
        ? {
            podCidr: o.cri.podCidr,
            bridge: o.cri.bridge,
            chainPrefix: o.cri.chainPrefix,
            streamingAddress: o.cri.streamingAddress,
            mtu: o.cri.mtu,
            nri: o.cri.nri,
          }
        : undefined,
    });
  } catch (e) {
    await network.close();
    throw e;
  }
  const eng = engine;
  let criServer: CriServer | undefined;
  if (o.cri?.socket && eng.cri) {
    const { serveCri } = await import('../cri/index.js');
    try {
      criServer = await serveCri(eng.cri, o.cri.socket);
    } catch (e) {
      await eng.close();
      await network.close();
      throw e;
    }
  }
  return {
    hosts: eng.hosts,
    apiVersion: eng.ctx.info.apiVersion,
    cri: eng.cri,
    criEndpoint: criServer?.endpoint,
    close: async () => {
      await criServer?.close();
      await eng.close();
      await network.close();
    },
  };
}
