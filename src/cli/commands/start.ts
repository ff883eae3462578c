// `npm start` target: a single-node Skiff in one process — `skiff engine` on the default socket
// (unix:///run/skiff/engine.sock, data under /var/lib/skiff/engine), `skiff server` on
// https://127.0.0.1:6443 with the embedded SQLite store (data, PKI and kubeconfig under
// /var/lib/skiff/server) and the node agent on the engine's CRI runtime (this host's Node). It prints how to point `docker` and `kubectl` at them. The busybox image
// is imported on first start (Debian's busybox-static), so `docker run busybox …` works offline.
import { existsSync, mkdtempSync, rmSync, createReadStream } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';

const USAGE = `usage: skiff start [--engine-root DIR] [--server-dir DIR] [--host unix:///SOCK | tcp://H:P]... [--exec-root DIR] [--cgroup-parent PATH] [--https-listen H:P] [--datastore URL] [--no-server] [--no-engine]
                   [--no-cri] [--cri-socket PATH] [--pod-cidr CIDR] [--pod-bridge NAME] [--pod-chain-prefix PREFIX] [--nri] [--nri-socket PATH]
                   [--no-agent] [--node-name NAME] [--node-ip IP] [--agent-dir DIR] [--agent-listen H:P] [--pod-log-dir DIR] [--cgroup-root PATH]
                   [--kubelet-arg NAME=VALUE]... [--images-dir DIR]...
                   [--service-cidr CIDR] [--cluster-cidr CIDR] [--disable-kube-proxy] [--disable-network-policy]
                   [--proxy-table NAME] [--netpol-table NAME] [--service-device NAME]

Runs a single-node Skiff in one process, k3s-style: the engine (Docker Engine API), the API server
(Kubernetes API, controllers, scheduler) and the node agent (kubelet's role) that runs Pods on the
engine's CRI runtime.
defaults: --engine-root /var/lib/skiff/engine  --host unix:///run/skiff/engine.sock
          --server-dir /var/lib/skiff/server   --https-listen 127.0.0.1:6443  --datastore sqlite://DIR/state.db
          --cri-socket /run/skiff/cri.sock (CRI v1 for crictl; --no-cri serves no socket, the agent still
            uses the runtime in process)  --pod-cidr 10.42.0.0/24  --pod-bridge skiff-pods0  --pod-chain-prefix SKIFF-POD
          --nri (or --nri-socket PATH): NRI plugins hook the pod and container lifecycle on
            /var/run/nri/nri.sock (off by default; see \`skiff engine --help\` and docs/cri.md)
node agent (off with --no-agent; needs the engine and the server): --node-name (default: the host name)
          --node-ip (default: the address of the default route's interface)  --agent-dir /var/lib/skiff/agent
          --agent-listen 0.0.0.0:10250 (the node's HTTPS server: logs, exec, port-forward, stats)
          --pod-log-dir /var/log/pods  --cgroup-root /kubepods (pods' cgroups under QoS parents)
          --kubelet-arg NAME=VALUE (repeatable, as k3s) sets a kubelet flag the agent honours: max-pods,
            container-log-max-size, container-log-max-files, node-status-update-frequency
images (air-gapped, as k3s's agent/images/): at start every *.tar, *.tar.gz, *.tar.zst (docker save or OCI
          layout archive) in AGENT_DIR/images/ and each --images-dir DIR (repeatable) is imported once per
          file content (remembered in ENGINE_ROOT/image/preloaded.json); a bad archive is reported and skipped
node network (with the agent, as k3s): the service proxy (nftables table skiff-proxy; off with
          --disable-kube-proxy, which also turns off the cluster DNS), the cluster DNS on the tenth
          address of --service-cidr (default 10.96.0.0/12: 10.96.0.10, pods' nameserver) and
          NetworkPolicy (table skiff-netpol; off with --disable-network-policy). --cluster-cidr
          (default 10.42.0.0/16) is the pods' range. --proxy-table, --netpol-table, --service-device
          name the tables and the service-range device (several nodes on one host).
controllers: --kube-controller-manager-arg NAME=VALUE (repeatable, as k3s) sets a kube-controller-manager
          flag the controllers honour: horizontal-pod-autoscaler-sync-period|-tolerance|
          -cpu-initialization-period|-initial-readiness-delay|-downscale-stabilization, node-monitor-grace-period
api server: --kube-apiserver-arg NAME=VALUE (repeatable, as k3s) sets a kube-apiserver flag the API server
          honours: event-ttl (Events are deleted that long after their last write; default 1h, 0 keeps them)
`;

/**
 * Air-gapped preload (as k3s's agent/images/): imports the docker-save / OCI archives of `dirs`
 * into the engine's image store before the engine starts, once per archive content (state in
 * ENGINE_ROOT/image/preloaded.json). A bad archive is reported on stderr and skipped.
 */
export async function preloadImageDirs(root: string, dirs: string[]): Promise<void> {
  const { openImages, preloadImages } = await import('../../image/index.js');
  const images = await openImages(join(root, 'image'));
  await preloadImages(images, dirs, join(root, 'image', 'preloaded.json'), (line, level) =>
    (level === 'error' ? process.stderr : process.stdout).write(`skiff: ${line}\n`),
  );
}

export async function importBusybox(root: string): Promise<void> {
  const { openImages } = await import('../../image/index.js');
  const { buildBusyboxRootfs } = await import('../../runtime/index.js');
  const images = await openImages(join(root, 'image'));
  if ((await images.store.has('busybox:latest')) || !existsSync('/bin/busybox')) return;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-start-'));
  try {
    buildBusyboxRootfs(join(dir, 'rootfs'));
    const { execFileSync } = await import('node:child_process');
    execFileSync('tar', ['-C', join(dir, 'rootfs'), '--numeric-owner', '-cf', join(dir, 'bb.tar'), '.']);
    await images.importRootfsTar(createReadStream(join(dir, 'bb.tar')), {
      ref: 'busybox:latest',
      changes: ['CMD ["sh"]'],
    });
    process.stdout.write('skiff: imported busybox:latest from /bin/busybox\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(argv: string[] = []): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'engine-root': { type: 'string', default: '/var/lib/skiff/engine' },
        'server-dir': { type: 'string', default: '/var/lib/skiff/server' },
        host: { type: 'string', short: 'H', multiple: true },
        'exec-root': { type: 'string' },
        'cgroup-parent': { type: 'string' },
        'https-listen': { type: 'string', default: '127.0.0.1:6443' },
        datastore: { type: 'string' },
        'no-server': { type: 'boolean', default: false },
        'no-engine': { type: 'boolean', default: false },
        'no-cri': { type: 'boolean', default: false },
        'cri-socket': { type: 'string', default: '/run/skiff/cri.sock' },
        'pod-cidr': { type: 'string' },
        'pod-bridge': { type: 'string' },
        'pod-chain-prefix': { type: 'string' },
        nri: { type: 'boolean', default: false },
        'nri-socket': { type: 'string' },
        'no-agent': { type: 'boolean', default: false },
        'node-name': { type: 'string' },
        'node-ip': { type: 'string' },
        'agent-dir': { type: 'string', default: '/var/lib/skiff/agent' },
        'agent-listen': { type: 'string', default: '0.0.0.0:10250' },
        'pod-log-dir': { type: 'string', default: '/var/log/pods' },
        'cgroup-root': { type: 'string', default: '/kubepods' },
        'service-cidr': { type: 'string' },
        'cluster-cidr': { type: 'string' },
        'disable-kube-proxy': { type: 'boolean', default: false },
        'disable-network-policy': { type: 'boolean', default: false },
        'proxy-table': { type: 'string' },
        'netpol-table': { type: 'string' },
        'service-device': { type: 'string' },
        'kube-controller-manager-arg': { type: 'string', multiple: true },
        'kube-apiserver-arg': { type: 'string', multiple: true },
        'kubelet-arg': { type: 'string', multiple: true },
        'images-dir': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    process.stderr.write(`skiff start: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values['no-engine'] && values['no-server']) {
    process.stderr.write('skiff start: nothing to run (--no-engine and --no-server)\n');
    return 2;
  }
  // k3s-style: the node agent runs wherever both the engine and the server run here.
  const withAgent = !values['no-agent'] && !values['no-engine'] && !values['no-server'];
  const nodeName = values['node-name'];
  if (nodeName !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) {
    process.stderr.write(
      `skiff start: --node-name ${JSON.stringify(nodeName)}: expected a DNS subdomain (lower case)\n`,
    );
    return 2;
  }
  if (values['node-ip'] !== undefined && !isIP(values['node-ip'])) {
    process.stderr.write(`skiff start: --node-ip ${JSON.stringify(values['node-ip'])}: expected an IP address\n`);
    return 2;
  }
  if (values['kubelet-arg']?.length) {
    const { parseKubeletArgs } = await import('../../kube/agent/index.js');
    try {
      parseKubeletArgs(values['kubelet-arg']);
    } catch (e) {
      process.stderr.write(`skiff start: --kubelet-arg: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const { startNode, parseListen } = await import('../../cluster/index.js');
  let agentListen: { host: string; port: number };
  try {
    agentListen = parseListen(values['agent-listen']!);
  } catch {
    process.stderr.write(
      `skiff start: --agent-listen: expected HOST:PORT, got ${JSON.stringify(values['agent-listen'])}\n`,
    );
    return 2;
  }
  if (!values['no-engine']) {
    await importBusybox(values['engine-root']!);
    // k3s's DATA/agent/images/ is the agent directory's images/ here, plus any --images-dir.
    await preloadImageDirs(values['engine-root']!, [
      join(values['agent-dir']!, 'images'),
      ...(values['images-dir'] ?? []),
    ]);
  }
  const node = await startNode({
    engine: values['no-engine']
      ? undefined
      : {
          dataRoot: values['engine-root']!,
          hosts: values.host?.length ? values.host : ['unix:///run/skiff/engine.sock'],
          execRoot: values['exec-root'],
          cgroupParent: values['cgroup-parent'],
          // The CRI runtime: served on its socket unless --no-cri, used in process by the agent.
          cri:
            values['no-cri'] && !withAgent
              ? undefined
              : {
                  socket: values['no-cri'] ? undefined : values['cri-socket']!,
                  podCidr: values['pod-cidr'],
                  bridge: values['pod-bridge'],
                  chainPrefix: values['pod-chain-prefix'],
                  nri: values.nri || values['nri-socket'] ? { socket: values['nri-socket'] } : undefined,
                },
        },
    server: values['no-server']
      ? undefined
      : {
          dataDir: values['server-dir']!,
          httpsListen: values['https-listen'],
          datastore: values.datastore,
          serviceCIDR: values['service-cidr'],
          clusterCIDR: values['cluster-cidr'],
          controllerManagerArgs: values['kube-controller-manager-arg'],
          apiServerArgs: values['kube-apiserver-arg'],
        },
    network: {
      services: !values['disable-kube-proxy'],
      networkPolicy: !values['disable-network-policy'],
      clusterCIDR: values['cluster-cidr'],
      proxyTable: values['proxy-table'],
      netpolTable: values['netpol-table'],
      serviceDevice: values['service-device'],
    },
    agent: withAgent
      ? {
          nodeName,
          nodeIP: values['node-ip'],
          dataDir: values['agent-dir']!,
          podLogsDir: values['pod-log-dir'],
          listen: agentListen,
          cgroupRoot: values['cgroup-root'],
          defaultPodCIDR: values['pod-cidr'],
          kubeletArgs: values['kubelet-arg'],
        }
      : undefined,
  });
  const lines: string[] = [];
  const { engine, server: s, agent } = node;
  if (engine) {
    const unix = engine.hosts.find((h) => h.startsWith('unix://')) ?? engine.hosts[0];
    lines.push(
      `engine: Docker Engine API ${engine.apiVersion} on ${engine.hosts.join(', ')}`,
      `  export DOCKER_HOST=${unix}`,
      '  docker run --rm busybox echo hello from skiff',
      '  docker run -it --rm busybox sh',
      ...(engine.criEndpoint
        ? [`CRI: ${engine.criEndpoint}  (crictl --runtime-endpoint ${engine.criEndpoint} pods)`]
        : []),
      '',
    );
  }
  if (s) {
    lines.push(
      `server: Kubernetes API at ${s.url} (ready in ${Math.round(s.startupMs)} ms)`,
      `  export KUBECONFIG=${s.kubeconfig}`,
      '  kubectl get nodes',
      '',
    );
  }
  if (agent) {
    const a = agent.agent;
    lines.push(
      `node: ${a.nodeName} runs Pods (node agent on port ${a.port}, pod IPs from ${a.podCIDR})`,
      '  kubectl run hello --image=busybox --image-pull-policy=IfNotPresent -- sleep 3600',
      '  kubectl exec -it hello -- sh',
      '',
    );
  } else if (s) {
    lines.push('node: no node agent runs (--no-agent, or no engine here): Pods stay Pending', '');
  }
  process.stdout.write(
    `${lines.join('\n')}\nCtrl-C stops Skiff; containers keep running under their monitors and are re-adopted on the next start.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('skiff: shutting down\n');
  await node.close().catch((e) => process.stderr.write(`skiff: shutdown: ${String(e)}\n`));
  return 0;
}
