// `npm start` target: a single-node Skiff in one process — `skiff engine` on the default socket
// (unix:///run/skiff/engine.sock, data under /var/lib/skiff/engine) and `skiff server` on
// https://127.0.0.1:6443 with the embedded SQLite store (data, PKI and kubeconfig under
// /var/lib/skiff/server). It prints how to point `docker` and `kubectl` at them. The busybox image
// is imported on first start (Debian's busybox-static), so `docker run busybox …` works offline.
import { existsSync, mkdtempSync, rmSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';

const USAGE = `usage: skiff start [--engine-root DIR] [--server-dir DIR] [--host unix:///SOCK | tcp://H:P]... [--exec-root DIR] [--cgroup-parent PATH] [--https-listen H:P] [--datastore URL] [--no-server] [--no-engine]
                   [--no-cri] [--cri-socket PATH] [--pod-cidr CIDR]

Runs the engine (Docker Engine API) and the API server (Kubernetes API) of a single-node Skiff.
defaults: --engine-root /var/lib/skiff/engine  --host unix:///run/skiff/engine.sock
          --server-dir /var/lib/skiff/server   --https-listen 127.0.0.1:6443  --datastore sqlite://DIR/state.db
          --cri-socket /run/skiff/cri.sock (CRI v1 for kubelet/crictl; off with --no-cri)  --pod-cidr 10.42.0.0/24
`;

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
  if (!values['no-engine']) await importBusybox(values['engine-root']!);
  const { startNode } = await import('../../cluster/index.js');
  const node = await startNode({
    engine: values['no-engine']
      ? undefined
      : {
          dataRoot: values['engine-root']!,
          hosts: values.host?.length ? values.host : ['unix:///run/skiff/engine.sock'],
          execRoot: values['exec-root'],
          cgroupParent: values['cgroup-parent'],
          cri: values['no-cri'] ? undefined : { socket: values['cri-socket']!, podCidr: values['pod-cidr'] },
        },
    server: values['no-server']
      ? undefined
      : { dataDir: values['server-dir']!, httpsListen: values['https-listen'], datastore: values.datastore },
  });
  const lines: string[] = [];
  const { engine, server: s } = node;
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
      `server: Kubernetes API at ${s.url} (ready in ${Math.round(s.startupMs)} ms; control plane only, no node agent yet)`,
      `  export KUBECONFIG=${s.kubeconfig}`,
      '  kubectl get namespaces',
      '  kubectl create deployment web --image=busybox',
      '',
    );
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
