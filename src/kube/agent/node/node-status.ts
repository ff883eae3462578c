// The node's own object (kubelet's node status manager and lease controller): registration with
// labels, capacity/allocatable, addresses, nodeInfo, daemon endpoint and the pod CIDR (the
// server's when set, else the default); the status computed every 10 s
// (nodeStatusUpdateFrequency) and sent when it changed or every 5 min (nodeStatusReportFrequency);
// the Lease in kube-node-lease renewed every 10 s.
import type { Logger } from '../../../common/index.js';
import type { ContainerRuntime } from '../../../cri/index.js';
import type { KubeClient } from '../../client/index.js';
import type { EventRecorder, ObjectRef } from '../events.js';
import type { Node, NodeCondition } from '../types.js';
import { allocatable, goArch, machineInfo, pressure, type MachineInfo } from './machine.js';

export const KUBELET_VERSION = 'v1.32.0-skiff';
const UPDATE_MS = 10_000;
const REPORT_MS = 5 * 60_000;
const LEASE_SECONDS = 40;

export interface NodeOptions {
  name: string;
  ip: string;
  root: string;
  port: number;
  controlPlane: boolean;
  defaultPodCIDR: string;
  labels?: Record<string, string>;
  /** Pods the node runs at most (kubelet's --max-pods, default 110). */
  maxPods?: number;
  /** nodeStatusUpdateFrequency (ms, default 10000). */
  updateMs?: number;
}

/** The event kubelet records when a condition is first set or changes status (its setters'
 *  `recordEventFunc`): reason by condition type and the new status. */
const CONDITION_EVENTS: Record<string, Record<string, string>> = {
  MemoryPressure: { False: 'NodeHasSufficientMemory', True: 'NodeHasInsufficientMemory' },
  DiskPressure: { False: 'NodeHasNoDiskPressure', True: 'NodeHasDiskPressure' },
  PIDPressure: { False: 'NodeHasSufficientPID', True: 'NodeHasInsufficientPID' },
  Ready: { True: 'NodeReady', False: 'NodeNotReady' },
};

const ki = (bytes: number) => `${Math.floor(bytes / 1024)}Ki`;
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const micro = () => new Date().toISOString().replace(/Z$/, '000Z');

export class NodeStatus {
  private timer?: NodeJS.Timeout;
  private leaseTimer?: NodeJS.Timeout;
  private lastReport = 0;
  private stopped = false;
  private lastSent = '';
  private machine: MachineInfo;
  uid = '';
  podCIDR = '';
  runtimeReady = { ok: true, message: '' };
  /** The configured node IP was last seen missing from the host (reported once per change). */
  private ipMissing = false;

  constructor(
    private client: KubeClient,
    private runtime: ContainerRuntime,
    private opts: NodeOptions,
    private log: Logger,
    /** Where the node's events go (kubelet's Starting and condition events); none: not recorded. */
    private events?: EventRecorder,
  ) {
    this.machine = machineInfo(opts.root);
  }

  /** kubelet's reference to its node: no namespace, and the node's name as its uid. */
  private get ref(): ObjectRef {
    return { kind: 'Node', apiVersion: 'v1', name: this.opts.name, uid: this.opts.name };
  }

  get info(): MachineInfo {
    return this.machine;
  }

  private labels(): Record<string, string> {
    return {
      'beta.kubernetes.io/arch': goArch(),
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': goArch(),
      'kubernetes.io/hostname': this.opts.name,
      'kubernetes.io/os': 'linux',
      ...(this.opts.controlPlane ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
      ...(this.opts.labels ?? {}),
    };
  }

  private async status(existing?: Node): Promise<Node['status']> {
    const m = this.machine;
    const alloc = allocatable(m);
    const v = await this.runtime.version({});
    const p = pressure(this.opts.root);
    const rs = await this.runtime.status({}).catch((e) => ({ status: null, error: String(e) }));
    const notReady = (rs.status?.conditions ?? []).filter((c) => !c.status);
    const ready = notReady.length === 0 && rs.status !== null;
    const readyMsg = ready
      ? 'kubelet is posting ready status'
      : `container runtime not ready: ${notReady.map((c) => `${c.type}=false reason:${c.reason} message:${c.message}`).join(', ') || 'status unavailable'}`;
    const cond = (
      type: string,
      bad: boolean,
      okReason: string,
      okMsg: string,
      badReason: string,
      badMsg: string,
    ): NodeCondition => {
      const status = type === 'Ready' ? (bad ? 'False' : 'True') : bad ? 'True' : 'False';
      const old = existing?.status?.conditions?.find((c) => c.type === type);
      return {
        type,
        status,
        lastHeartbeatTime: now(),
        lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : now(),
        reason: bad ? badReason : okReason,
        message: bad ? badMsg : okMsg,
      };
    };
    let images: { names: string[]; sizeBytes: number }[] = [];
    try {
      images = (await this.runtime.listImages({})).images
        .map((i) => ({ names: [...i.repoDigests, ...i.repoTags], sizeBytes: i.size }))
        .filter((i) => i.names.length)
        .sort((a, b) => b.sizeBytes - a.sizeBytes)
        .slice(0, 50);
    } catch {
      images = [];
    }
    return {
      capacity: {
        cpu: String(m.cpus),
        memory: ki(m.memoryBytes),
        'ephemeral-storage': ki(m.fsBytes),
        pods: String(this.opts.maxPods ?? 110),
        'hugepages-1Gi': '0',
        'hugepages-2Mi': '0',
      },
      allocatable: {
        cpu: String(m.cpus),
        memory: ki(alloc.memory),
        'ephemeral-storage': String(alloc.ephemeralStorage),
        pods: String(this.opts.maxPods ?? 110),
        'hugepages-1Gi': '0',
        'hugepages-2Mi': '0',
      },
      conditions: [
        cond(
          'MemoryPressure',
          p.memory,
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
          'KubeletHasInsufficientMemory',
          'kubelet has insufficient memory available',
        ),
        cond(
          'DiskPressure',
          p.disk,
          'KubeletHasNoDiskPressure',
          'kubelet has no disk pressure',
          'KubeletHasDiskPressure',
          'kubelet has disk pressure',
        ),
        cond(
          'PIDPressure',
          p.pid,
          'KubeletHasSufficientPID',
          'kubelet has sufficient PID available',
          'KubeletHasInsufficientPID',
          'kubelet has insufficient PID available',
        ),
        cond('Ready', !ready, 'KubeletReady', readyMsg, 'KubeletNotReady', readyMsg),
      ],
      addresses: [
        { type: 'InternalIP', address: this.opts.ip },
        { type: 'Hostname', address: this.opts.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.opts.port } },
      nodeInfo: {
        machineID: m.machineID,
        systemUUID: m.systemUUID,
        bootID: m.bootID,
        kernelVersion: m.kernelVersion,
        osImage: m.osImage,
        containerRuntimeVersion: `${v.runtimeName}://${v.runtimeVersion}`,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: 'linux',
        architecture: m.arch,
      },
      images,
    };
  }

  /** Creates the Node (or adopts the existing one, adding what is missing); returns its pod CIDR. */
  async register(): Promise<string> {
    const name = this.opts.name;
    let node: Node;
    try {
      node = await this.client.request<Node>('POST', '/api/v1/nodes', {
        body: {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name,
            labels: this.labels(),
            annotations: {
              'node.alpha.kubernetes.io/ttl': '0',
              'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
            },
          },
          spec: { podCIDR: this.opts.defaultPodCIDR, podCIDRs: [this.opts.defaultPodCIDR] },
        },
      });
      this.log.info('node registered', { node: name });
    } catch (e) {
      if ((e as { code?: string }).code !== 'AlreadyExists') throw e;
      const have = await this.client.request<Node>('GET', `/api/v1/nodes/${encodeURIComponent(name)}`);
      const labels = { ...this.labels(), ...(have.metadata.labels ?? {}) };
      const patch: Record<string, unknown> = { metadata: { labels } };
      if (!have.spec?.podCIDR) patch.spec = { podCIDR: this.opts.defaultPodCIDR, podCIDRs: [this.opts.defaultPodCIDR] };
      node = await this.client.request<Node>('PATCH', `/api/v1/nodes/${encodeURIComponent(name)}`, {
        body: patch,
        contentType: 'application/merge-patch+json',
      });
    }
    this.uid = node.metadata.uid ?? '';
    this.podCIDR = node.spec?.podCIDR ?? this.opts.defaultPodCIDR;
    this.events?.event(this.ref, 'Normal', 'Starting', 'Starting kubelet.');
    await this.update(true);
    return this.podCIDR;
  }

  /** Computes the status; sends it when it changed (ignoring heartbeats) or the report is due. */
  async update(force = false): Promise<void> {
    const name = this.opts.name;
    let existing: Node;
    try {
      existing = await this.client.request<Node>('GET', `/api/v1/nodes/${encodeURIComponent(name)}`);
    } catch (e) {
      // The Node was deleted under a running agent: register it again, as kubelet does.
      if ((e as { code?: string }).code !== 'NotFound' || force) throw e;
      this.log.warn('node object deleted; registering again', { node: name });
      await this.register();
      return;
    }
    const status = await this.status(existing);
    const others = (existing.status?.conditions ?? []).filter(
      (c) => !['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'].includes(c.type),
    );
    status!.conditions = [...others, ...(status!.conditions ?? [])];
    const key = JSON.stringify({
      ...status,
      conditions: status!.conditions!.map((c) => [c.type, c.status, c.reason, c.message]),
    });
    if (!force && key === this.lastSent && Date.now() - this.lastReport < REPORT_MS) return;
    await this.client.request('PATCH', `/api/v1/nodes/${encodeURIComponent(name)}/status`, {
      body: { status },
      contentType: 'application/merge-patch+json',
    });
    this.lastSent = key;
    this.lastReport = Date.now();
    for (const c of status!.conditions ?? []) {
      const reason = CONDITION_EVENTS[c.type]?.[c.status];
      const was = existing.status?.conditions?.find((o) => o.type === c.type)?.status;
      if (reason && was !== c.status)
        this.events?.event(this.ref, 'Normal', reason, `Node ${name} status is now: ${reason}`);
    }
  }

  /** The node's address (status.addresses InternalIP). */
  get ip(): string {
    return this.opts.ip;
  }

  /**
   * The node's address was re-derived (no --node-ip): a new one is sent at once rather than at
   * the next 10 s sync. `missing`: the configured --node-ip is on no link of the host; the address
   * is kept (as kubelet does: its NodeAddress setter fails with "node IP: … not found in the host's
   * network interfaces", which it only logs, leaving the addresses as they were); Skiff also
   * records a Warning event on the Node, once per disappearance, so `kubectl describe node` shows it.
   */
  async setAddress(ip: string, missing = false): Promise<void> {
    if (missing !== this.ipMissing) {
      this.ipMissing = missing;
      const msg = `node IP: "${ip}" not found in the host's network interfaces`;
      if (missing) {
        this.log.error('failed to validate the node IP; the Node keeps it', { node: this.opts.name, error: msg });
        this.events?.event(this.ref, 'Warning', 'NodeIPNotFound', `${msg}; the Node keeps it`);
      } else this.log.info('the node IP is back on the host', { node: this.opts.name, ip });
    }
    if (ip === this.opts.ip) return;
    this.log.info('node address changed', { node: this.opts.name, from: this.opts.ip, to: ip });
    this.opts.ip = ip;
    await this.update(true);
  }

  async renewLease(): Promise<void> {
    const name = this.opts.name;
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${encodeURIComponent(name)}`;
    const spec = { holderIdentity: name, leaseDurationSeconds: LEASE_SECONDS, renewTime: micro() };
    try {
      await this.client.request('PATCH', path, { body: { spec }, contentType: 'application/merge-patch+json' });
    } catch (e) {
      if ((e as { code?: string }).code !== 'NotFound') throw e;
      await this.client.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name,
            namespace: 'kube-node-lease',
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: this.uid }],
          },
          spec,
        },
      });
    }
  }

  start(): void {
    const status = () => {
      if (this.stopped) return;
      this.timer = setTimeout(async () => {
        await this.update().catch((e) => this.log.warn('node status not updated', { error: String(e) }));
        status();
      }, this.opts.updateMs ?? UPDATE_MS);
      this.timer.unref?.();
    };
    const lease = () => {
      if (this.stopped) return;
      this.leaseTimer = setTimeout(async () => {
        await this.renewLease().catch((e) => this.log.warn('node lease not renewed', { error: String(e) }));
        lease();
      }, LEASE_SECONDS * 250);
      this.leaseTimer.unref?.();
    };
    void this.renewLease().catch((e) => this.log.warn('node lease not created', { error: String(e) }));
    status();
    lease();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.leaseTimer);
  }
}
