// `skiff token rotate`: replaces the server token of an HA cluster (k3s's `k3s token rotate`). See
// docs/multinode.md "Rotating the server token".
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `usage: skiff token rotate --datastore URL [--data-dir DIR] [--token OLD] --new-token NEW

Seals the cluster's bootstrap data in the datastore (CA, service-account key, static tokens,
encryption key, node token) under NEW and writes NEW to DIR/token, as k3s token rotate does.
Restart every other server with --token NEW; the old token is refused from then on. Agents join
with DIR/node-token, which does not change.

  --datastore URL   the servers' shared datastore, etcd://h1:2379,h2:2379 (as given to skiff server)
  --data-dir DIR    this server's data dir (default /var/lib/skiff/server); its token file is rewritten
  --token OLD       the current server token (default: the content of DIR/token)
  --new-token NEW   the new token: K10<ca-hash>::server:<secret> or a secret of 16+ [A-Za-z0-9_-]
`;

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === '--help' || verb === '-h' || verb === undefined) {
    process.stdout.write(USAGE);
    return verb === undefined ? 2 : 0;
  }
  if (verb !== 'rotate') {
    process.stderr.write(`skiff token: unknown command ${JSON.stringify(verb)}\n\n${USAGE}`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        'data-dir': { type: 'string', default: '/var/lib/skiff/server' },
        datastore: { type: 'string' },
        token: { type: 'string' },
        'new-token': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    process.stderr.write(`skiff token rotate: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const dataDir = values['data-dir']!;
  const tokenFile = join(dataDir, 'token');
  const token = values.token ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  const missing = [
    !values.datastore && '--datastore',
    !token && `--token (no ${tokenFile} either)`,
    !values['new-token'] && '--new-token',
  ].filter(Boolean);
  if (missing.length) {
    process.stderr.write(`skiff token rotate: missing ${missing.join(', ')}\n\n${USAGE}`);
    return 2;
  }
  const { rotateServerToken } = await import('../../cluster/index.js');
  try {
    await rotateServerToken({
      dataDir: existsSync(dataDir) ? dataDir : undefined,
      datastore: values.datastore!,
      token: token!,
      newToken: values['new-token']!,
    });
  } catch (e) {
    process.stderr.write(`skiff token rotate: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(
    `server token rotated${existsSync(dataDir) ? ` (${tokenFile} holds the new one)` : ''}: restart the other servers with --token NEW\n`,
  );
  return 0;
}
