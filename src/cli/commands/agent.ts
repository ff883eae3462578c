// `skiff agent`: join a cluster as a node (k3s agent): the engine with CRI, the node's
// certificates by TLS bootstrap with the server's join token, and the node agent. docs/multinode.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `usage: skiff agent --server https://HOST:6443 --token TOKEN|--token-file FILE [--node-name NAME]
                   [--node-ip IP] [--data-dir DIR] [--listen HOST:PORT] [--cgroup-parent PATH]
                   [--cgroup-root PATH] [--cluster-dns IP]... [--pod-cidr CIDR] [--kubelet-arg NAME=VALUE]...
                   [--images-dir DIR]...

  --server URL        a server's API (skiff server --https-listen)
  --token TOKEN       the server's DATA_DIR/node-token (K10<ca-hash>::node:<secret>)
  --token-file FILE   read the token from FILE
  --node-name NAME    the Node's name (default: this host's name)
  --node-ip IP        the Node's InternalIP, kept as given (default: the default route's
                      interface address, followed when it changes)
  --data-dir DIR      engine, agent, certificates, sockets (default /var/lib/skiff/agent)
  --listen H:P        the node's HTTPS server (default 0.0.0.0:10250)
  --cgroup-parent P   cgroup parent of the engine's containers; --cgroup-root: of pods (default /kubepods)
  --cluster-dns IP    nameserver written into pods' resolv.conf
  --pod-cidr CIDR     this node's pod range instead of the one the server allocates
  --kubelet-arg N=V   a kubelet flag the agent honours (repeatable, as k3s): max-pods,
                      container-log-max-size, container-log-max-files, node-status-update-frequency
  --images-dir DIR    also import the image archives of DIR at start (repeatable); DATA_DIR/images/
                      always is (as k3s's agent/images/): *.tar, *.tar.gz, *.tar.zst, docker save or
                      OCI layout, each archive once per content
  --flannel-backend B how pods reach other nodes' pods: vxlan (default), host-gw (nodes on one
                      link) or none
`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        'node-name': { type: 'string' },
        'node-ip': { type: 'string' },
        'data-dir': { type: 'string', default: '/var/lib/skiff/agent' },
        listen: { type: 'string', default: '0.0.0.0:10250' },
        'cgroup-parent': { type: 'string' },
        'cgroup-root': { type: 'string' },
        'cluster-dns': { type: 'string', multiple: true },
        'pod-cidr': { type: 'string' },
        'flannel-backend': { type: 'string', default: 'vxlan' },
        'cert-seconds': { type: 'string' },
        'kubelet-arg': { type: 'string', multiple: true },
        'images-dir': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    process.stderr.write(`skiff agent: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const token = values.token ?? (values['token-file'] ? readFileSync(values['token-file'], 'utf8').trim() : undefined);
  if (!values.server || !token) {
    process.stderr.write(`skiff agent: --server and --token (or --token-file) are required\n\n${USAGE}`);
    return 2;
  }
  const backend = values['flannel-backend'];
  if (backend !== 'vxlan' && backend !== 'host-gw' && backend !== 'none') {
    process.stderr.write(
      `skiff agent: --flannel-backend: expected vxlan, host-gw or none, got ${JSON.stringify(backend)}\n`,
    );
    return 2;
  }
  if (values['kubelet-arg']?.length) {
    const { parseKubeletArgs } = await import('../../kube/agent/index.js');
    try {
      parseKubeletArgs(values['kubelet-arg']);
    } catch (e) {
      process.stderr.write(`skiff agent: --kubelet-arg: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const { joinCluster, parseListen } = await import('../../cluster/index.js');
  // busybox:latest from the host's busybox (as skiff start), so a node without a registry runs pods.
  const { importBusybox, preloadImageDirs } = await import('./start.js');
  await importBusybox(join(values['data-dir']!, 'engine'));
  await preloadImageDirs(join(values['data-dir']!, 'engine'), [
    join(values['data-dir']!, 'images'),
    ...(values['images-dir'] ?? []),
  ]);
  const node = await joinCluster({
    server: values.server,
    token,
    nodeName: values['node-name'],
    nodeIP: values['node-ip'],
    dataDir: values['data-dir']!,
    listen: parseListen(values.listen!),
    cgroupParent: values['cgroup-parent'],
    cgroupRoot: values['cgroup-root'],
    clusterDNS: values['cluster-dns'],
    podCIDR: values['pod-cidr'],
    podNetwork: backend,
    kubeletArgs: values['kubelet-arg'],
    certSeconds: values['cert-seconds'] ? Number(values['cert-seconds']) : undefined,
  });
  process.stdout.write(`skiff agent: node ${node.nodeName} joined ${values.server} (pod CIDR ${node.agent.podCIDR})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('skiff agent: shutting down\n');
  await node.close().catch((e) => process.stderr.write(`skiff agent: shutdown: ${String(e)}\n`));
  return 0;
}
