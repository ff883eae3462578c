// `skiff engine`: the container engine daemon (dockerd's role), serving the Docker Engine API.
import { parseArgs } from 'node:util';
import { join } from 'node:path';

const USAGE = `usage: skiff engine [--data-root DIR] [--exec-root DIR] [--host unix:///PATH | tcp://HOST:PORT]... [--cgroup-parent PATH] [--storage-driver overlayfs|native]
                    [--bridge NAME] [--bip CIDR] [--iptables-chain-prefix PREFIX]

defaults: --data-root /var/lib/skiff/engine  --exec-root /run/skiff/engine  --host unix:///run/skiff/engine.sock
          --bridge skiff0 (the default bridge network's interface)  --bip: a private subnet free of host routes
          --iptables-chain-prefix SKIFF (chains SKIFF-DNAT, SKIFF-POSTROUTING, SKIFF-FORWARD)
environment (when the flag is absent): SKIFF_BRIDGE, SKIFF_BIP, SKIFF_CHAIN_PREFIX
then: export DOCKER_HOST=unix:///run/skiff/engine.sock; docker run --rm busybox echo hi
`;

export interface LaunchOptions {
  dataRoot?: string; execRoot?: string; hosts?: string[]; cgroupParent?: string; snapshotter?: 'overlayfs' | 'native';
  /** Default bridge interface (dockerd's --bridge), gateway/prefix (dockerd's --bip), iptables chain prefix. */
  bridge?: string; bip?: string; chainPrefix?: string;
}
export interface LaunchedEngine { hosts: string[]; apiVersion: string; close(): Promise<void> }

/** Starts the engine with everything it is composed of (also used by \`skiff start\`): the network
 *  manager is initialised first (it reconciles what a crashed engine left: bridges, rules, leases),
 *  and closed after the engine (DNS stops; links and rules stay for containers kept running). */
export async function launchEngine(o: LaunchOptions): Promise<LaunchedEngine> {
  const { startEngine } = await import('../../engine/index.js');
  const { NetworkManager, createEngineDriver } = await import('../../network/index.js');
  const dataRoot = o.dataRoot ?? '/var/lib/skiff/engine';
  const env = process.env;
  const network = new NetworkManager({ stateDir: join(dataRoot, 'network'), chainPrefix: o.chainPrefix ?? env.SKIFF_CHAIN_PREFIX ?? 'SKIFF' });
  await network.init();
  let engine;
  try {
    const networkDriver = createEngineDriver(network, { defaultBridge: o.bridge ?? env.SKIFF_BRIDGE ?? 'skiff0', bip: o.bip ?? env.SKIFF_BIP });
    engine = await startEngine({ dataRoot, execRoot: o.execRoot, hosts: o.hosts, cgroupParent: o.cgroupParent, snapshotter: o.snapshotter, networkDriver });
  } catch (e) { await network.close(); throw e; }
  const eng = engine;
  return { hosts: eng.hosts, apiVersion: eng.ctx.info.apiVersion, close: async () => { await eng.close(); await network.close(); } };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, allowPositionals: false,
    options: {
      'data-root': { type: 'string' }, 'exec-root': { type: 'string' }, host: { type: 'string', short: 'H', multiple: true },
      'cgroup-parent': { type: 'string' }, 'storage-driver': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      bridge: { type: 'string', short: 'b' }, bip: { type: 'string' }, 'iptables-chain-prefix': { type: 'string' },
    },
  });
  if (values.help) { process.stdout.write(USAGE); return 0; }
  const sd = values['storage-driver'];
  if (sd && sd !== 'overlayfs' && sd !== 'native' && sd !== 'overlay2' && sd !== 'vfs') { process.stderr.write(`skiff engine: unknown --storage-driver ${sd}\n`); return 2; }
  const engine = await launchEngine({
    dataRoot: values['data-root'], execRoot: values['exec-root'], hosts: values.host, cgroupParent: values['cgroup-parent'],
    snapshotter: sd === 'overlay2' ? 'overlayfs' : sd === 'vfs' ? 'native' : (sd as 'overlayfs' | 'native' | undefined),
    bridge: values.bridge, bip: values.bip, chainPrefix: values['iptables-chain-prefix'],
  });
  process.stdout.write(`skiff engine ready on ${engine.hosts.join(', ')}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await engine.close();
  return 0;
}
