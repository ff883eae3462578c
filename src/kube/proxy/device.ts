// The service range's dummy device. The whole Service range is routed to it, so a packet to a
// Service address that no rule translated (a bug, a Service without rules yet) is dropped on this
// machine instead of following the default route out; node-local Service addresses (the cluster
// DNS) are assigned to it so that local sockets can bind them. kube-proxy's IPVS mode keeps a
// dummy device for the same reasons. Kernels built without dummy devices (CONFIG_DUMMY off, as
// on this project's CI machines) get a bridge without ports instead: it too holds addresses and
// drops what is sent through it.
import { run, mustRun } from '../../network/index.js';

export interface ServiceDeviceOptions {
  /** Interface name (≤ 15 characters). */
  name: string;
  /** The Service range, e.g. 10.96.0.0/12. */
  serviceCIDR: string;
  /** Addresses to own on this node (each as a /32), e.g. the kube-dns Service IP. */
  addresses?: string[];
}

export async function ensureServiceDevice(o: ServiceDeviceOptions): Promise<void> {
  if ((await run('ip', ['link', 'show', 'dev', o.name])).code !== 0) {
    const dummy = await run('ip', ['link', 'add', o.name, 'type', 'dummy']);
    if (dummy.code !== 0) await mustRun('ip', ['link', 'add', o.name, 'type', 'bridge']);
  }
  const script = [
    `link set ${o.name} up`,
    `route replace ${o.serviceCIDR} dev ${o.name}`,
    ...(o.addresses ?? []).map((a) => `addr replace ${a}/32 dev ${o.name}`),
  ].join('\n');
  await mustRun('ip', ['-batch', '-'], `${script}\n`);
}

export async function removeServiceDevice(name: string): Promise<void> {
  await run('ip', ['link', 'del', 'dev', name]);
}
