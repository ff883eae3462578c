// `skiff registry`: an OCI distribution registry.
//   skiff registry --data-root DIR --listen 127.0.0.1:5000 [--htpasswd FILE] [--token-realm URL|/auth/token]
//                  [--token-service NAME] [--anonymous-pull] [--tls-cert F --tls-key F]
//   skiff registry gc --data-root DIR [--dry-run] [--delete-untagged]
import { parseArgs } from 'node:util';
import { createRegistryServer, garbageCollect } from '../../registry/index.js';
import { invalidArgument } from '../../common/index.js';

const USAGE = `usage: skiff registry --data-root DIR [--listen HOST:PORT] [--htpasswd FILE]
                      [--token-realm URL|/auth/token] [--token-service NAME] [--anonymous-pull]
                      [--tls-cert FILE --tls-key FILE]
       skiff registry gc --data-root DIR [--dry-run] [--delete-untagged]
`;

function splitListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  if (!m) throw invalidArgument(`--listen: want HOST:PORT, got ${JSON.stringify(v)}`, { field: 'listen' });
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'gc') {
    const { values } = parseArgs({
      args: argv.slice(1),
      options: {
        'data-root': { type: 'string', default: '/var/lib/skiff/registry' },
        'dry-run': { type: 'boolean' },
        'delete-untagged': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const r = await garbageCollect(values['data-root']!, {
      dryRun: values['dry-run'],
      deleteUntagged: values['delete-untagged'],
    });
    for (const d of r.deleted) process.stdout.write(`${values['dry-run'] ? 'would delete' : 'deleted'} ${d}\n`);
    process.stdout.write(
      `${r.marked} blobs marked, ${r.deleted.length} blobs ${values['dry-run'] ? 'eligible for deletion' : 'deleted'} (${r.freedBytes} bytes)\n`,
    );
    return 0;
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-root': { type: 'string', default: '/var/lib/skiff/registry' },
      listen: { type: 'string', default: '127.0.0.1:5000' },
      htpasswd: { type: 'string' },
      'token-realm': { type: 'string' },
      'token-service': { type: 'string' },
      'anonymous-pull': { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!!values['tls-cert'] !== !!values['tls-key'])
    throw invalidArgument('--tls-cert and --tls-key go together', {
      field: values['tls-cert'] ? 'tls-key' : 'tls-cert',
    });
  const { host, port } = splitListen(values.listen!);
  const reg = await createRegistryServer({
    dataRoot: values['data-root']!,
    htpasswd: values.htpasswd,
    tokenRealm: values['token-realm'],
    tokenService: values['token-service'],
    anonymousPull: values['anonymous-pull'],
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
  });
  const url = await reg.listen(host, port);
  process.stdout.write(`skiff registry listening on ${url} (data root ${values['data-root']})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      reg.close().then(resolve, resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}
