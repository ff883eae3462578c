// `skiff server`: the Kubernetes control plane (API server on SQLite or etcd). See docs/apiserver.md.
import { parseArgs } from 'node:util';

const USAGE = `usage: skiff server [--data-dir DIR] [--https-listen HOST:PORT] [--datastore URL] [--disable-agent]
                    [--disable-scheduler] [--disable-controller-manager] [--single-thread]

  --data-dir DIR          state, PKI and kubeconfig.yaml (default /var/lib/skiff/server)
  --https-listen H:P      where the API server listens (default 127.0.0.1:6443)
  --datastore URL         sqlite://PATH (default sqlite://DIR/state.db), etcd://h1:2379,h2:2379, memory://
  --disable-agent         run without a node agent. skiff server never runs one: the node agent
                          needs the engine's CRI and runs in \`skiff start\` (engine + server +
                          agent); alone, the server is a control plane without nodes, where Pods
                          stay Pending (as with k3s server --disable-agent)
  --disable-scheduler     do not run the scheduler (another one, e.g. kube-scheduler, may
                          take its place; as k3s server --disable-scheduler)
  --disable-controller-manager
                          do not run the controllers (another controller manager, e.g.
                          kube-controller-manager, may take their place; as k3s's flag)
  --single-thread         run the scheduler and the controllers on the API server's thread
                          (by default each runs in a worker thread of its own, as upstream runs
                          kube-scheduler and kube-controller-manager as processes of their own)
  --node-cert-seconds N   longest validity of node certificates the signer issues (default 1 year)
  --cluster-cidr CIDR     pod range; each node gets a /24 of it (default 10.42.0.0/16)
  --kube-controller-manager-arg NAME=VALUE
                          a kube-controller-manager flag the controllers honour (repeatable, as
                          k3s): horizontal-pod-autoscaler-sync-period, -tolerance,
                          -cpu-initialization-period, -initial-readiness-delay,
                          -downscale-stabilization; node-monitor-grace-period
  --kube-apiserver-arg NAME=VALUE
                          a kube-apiserver flag the API server honours (repeatable, as k3s):
                          event-ttl (Events are deleted that long after their last write;
                          default 1h, 0 keeps them)
  --token TOKEN           on an etcd datastore: the server token (the first server's DIR/token);
                          a second server gets the cluster CA, service-account key, static tokens
                          and encryption key from the datastore with it (as k3s's --token)

Agents join with the token in DIR/node-token: skiff agent --server https://HOST:6443 --token "$(cat DIR/node-token)"
`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string', default: '/var/lib/skiff/server' },
        'https-listen': { type: 'string', default: '127.0.0.1:6443' },
        datastore: { type: 'string' },
        'disable-agent': { type: 'boolean', default: false },
        'disable-scheduler': { type: 'boolean', default: false },
        'disable-controller-manager': { type: 'boolean', default: false },
        'single-thread': { type: 'boolean', default: false },
        'node-cert-seconds': { type: 'string' },
        'cluster-cidr': { type: 'string' },
        'kube-controller-manager-arg': { type: 'string', multiple: true },
        'kube-apiserver-arg': { type: 'string', multiple: true },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    process.stderr.write(`skiff server: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { startNode } = await import('../../cluster/index.js');
  const node = await startNode({
    server: {
      dataDir: values['data-dir']!,
      httpsListen: values['https-listen'],
      datastore: values.datastore,
      scheduler: !values['disable-scheduler'],
      controllers: !values['disable-controller-manager'],
      // The scheduler and the controllers each on a thread of their own (src/cluster/control-worker.ts)
      // when running from a bundle; from the TypeScript source (tests run `tsx src/cli/main.ts`)
      // each worker would compile the whole source again through tsx at every start, so there they
      // stay on the API thread (startServer({ workers: true }) still runs them in workers).
      workers: !values['single-thread'] && !import.meta.url.endsWith('.ts'),
      nodeCertSeconds: values['node-cert-seconds'] ? Number(values['node-cert-seconds']) : undefined,
      clusterCIDR: values['cluster-cidr'],
      controllerManagerArgs: values['kube-controller-manager-arg'],
      apiServerArgs: values['kube-apiserver-arg'],
      token: values.token,
    },
  });
  const s = node.server!;
  const note = values['disable-agent']
    ? 'agent disabled: no node agent runs'
    : 'note: no node agent runs (skiff start runs one with the engine)';
  process.stdout.write(
    `skiff server ready at ${s.url} in ${Math.round(s.startupMs)} ms\n` +
      `kubeconfig: ${s.kubeconfigPath}\n  kubectl --kubeconfig ${s.kubeconfigPath} get ns\n` +
      `join token: ${values['data-dir']}/node-token (skiff agent --server ${s.url} --token-file …)\n` +
      (s.serverToken ? `server token: ${values['data-dir']}/token (skiff server --datastore … --token …)\n` : '') +
      `${note}: the cluster has no nodes, so Pods stay Pending; the API, controllers and storage work.\n`,
  );
  await new Promise<void>((resolve) => {
    let closing = false;
    const stop = (sig: string) => {
      if (closing) {
        process.exit(130);
      }
      closing = true;
      process.stderr.write(`skiff server: ${sig}, shutting down\n`);
      node.close().then(resolve, (e) => {
        process.stderr.write(`skiff server: shutdown: ${String(e)}\n`);
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
