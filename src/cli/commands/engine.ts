// `skiff engine`: the container engine daemon (dockerd's role), serving the Docker Engine API.
import { parseArgs } from 'node:util';

const USAGE = `usage: skiff engine [--data-root DIR] [--exec-root DIR] [--host unix:///PATH | tcp://HOST:PORT]... [--cgroup-parent PATH] [--storage-driver overlayfs|native]

defaults: --data-root /var/lib/skiff/engine  --exec-root /run/skiff/engine  --host unix:///run/skiff/engine.sock
then: export DOCKER_HOST=unix:///run/skiff/engine.sock; docker run --rm busybox echo hi
`;

export interface LaunchOptions {
  dataRoot?: string; execRoot?: string; hosts?: string[]; cgroupParent?: string; snapshotter?: 'overlayfs' | 'native';
}
export interface LaunchedEngine { hosts: string[]; apiVersion: string; close(): Promise<void> }

/** Starts the engine with everything it is composed of (also used by \`skiff start\`). */
export async function launchEngine(o: LaunchOptions): Promise<LaunchedEngine> {
  const { startEngine } = await import('../../engine/index.js');
  const engine = await startEngine({ dataRoot: o.dataRoot, execRoot: o.execRoot, hosts: o.hosts, cgroupParent: o.cgroupParent, snapshotter: o.snapshotter });
  return { hosts: engine.hosts, apiVersion: engine.ctx.info.apiVersion, close: () => engine.close() };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, allowPositionals: false,
    options: {
      'data-root': { type: 'string' }, 'exec-root': { type: 'string' }, host: { type: 'string', short: 'H', multiple: true },
      'cgroup-parent': { type: 'string' }, 'storage-driver': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(USAGE); return 0; }
  const sd = values['storage-driver'];
  if (sd && sd !== 'overlayfs' && sd !== 'native' && sd !== 'overlay2' && sd !== 'vfs') { process.stderr.write(`skiff engine: unknown --storage-driver ${sd}\n`); return 2; }
  const engine = await launchEngine({
    dataRoot: values['data-root'], execRoot: values['exec-root'], hosts: values.host, cgroupParent: values['cgroup-parent'],
    snapshotter: sd === 'overlay2' ? 'overlayfs' : sd === 'vfs' ? 'native' : (sd as 'overlayfs' | 'native' | undefined),
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
