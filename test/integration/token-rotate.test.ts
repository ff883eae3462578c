// Server token rotation on a real etcd (k3s's `k3s token rotate`): the first server's bootstrap data
// is sealed again under a new token by `skiff token rotate` (the CLI's main, in process); a second
// server then takes the cluster PKI with the new token only, the old token is refused with a clear
// error, and bad rotations (wrong current token, a new token of another CA, SQLite) change nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, type Etcd } from '../fixtures/etcd.js';
import { createLogger } from '../../src/common/index.js';
import { openStore } from '../../src/kube/storage/index.js';
import { BOOTSTRAP_KEY, rotateServerToken, shareClusterBootstrap } from '../../src/cluster/bootstrap.js';
import { main as tokenCli } from '../../src/cli/commands/token.js';

let etcd: Etcd, root: string, datastore: string;
const log = createLogger({}, { level: 'error' });
const dir = (name: string) => join(root, name);
const tokenOf = (d: string) => readFileSync(join(d, 'token'), 'utf8').trim();
const bootstrap = (d: string, token?: string) =>
  shareClusterBootstrap({ dataDir: dir(d), datastore, token, hosts: ['127.0.0.1'], log });
async function storedRevision(): Promise<number> {
  const store = await openStore(datastore);
  try {
    return (await store.get(BOOTSTRAP_KEY))!.modRevision;
  } finally {
    await store.close();
  }
}
/** Runs `skiff token rotate ARGS`, its stderr captured. */
async function cli(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const write = process.stderr.write.bind(process.stderr);
  const out = process.stdout.write.bind(process.stdout);
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return { code: await tokenCli(['rotate', ...args]), err };
  } finally {
    process.stderr.write = write;
    process.stdout.write = out;
  }
}

before(async () => {
  etcd = await startEtcd();
  datastore = `etcd://${etcd.endpoint}`;
  root = mkdtempSync(join(tmpdir(), 'skiff-token-'));
});

after(async () => {
  await etcd?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('token rotate: the new token opens the bootstrap data, the old one is refused', async () => {
  const first = await bootstrap('a');
  assert.match(first!, /^K10[0-9a-f]{64}::server:/);
  const hash = first!.slice(3, 67);
  const ca = readFileSync(join(dir('a'), 'pki', 'ca.crt'), 'utf8');

  // A wrong current token changes nothing.
  const rev0 = await storedRevision();
  const wrong = await cli([
    '--datastore',
    datastore,
    '--data-dir',
    dir('a'),
    '--token',
    'x'.repeat(20),
    '--new-token',
    'y'.repeat(20),
  ]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /--token does not open this datastore's bootstrap data/);
  // A new token naming another CA is refused.
  const otherCa = await cli([
    '--datastore',
    datastore,
    '--data-dir',
    dir('a'),
    '--new-token',
    `K10${'0'.repeat(64)}::server:${'n'.repeat(24)}`,
  ]);
  assert.equal(otherCa.code, 1);
  assert.match(otherCa.err, /--new-token: its CA hash is not the cluster CA's/);
  assert.equal(await storedRevision(), rev0, 'refused rotations left the data as it was');
  assert.equal(tokenOf(dir('a')), first);

  // The rotation itself (the current token read from DIR/token, as k3s reads its own).
  const fresh = 'Rotated_token-0123456789abcdef';
  const ok = await cli(['--datastore', datastore, '--data-dir', dir('a'), '--new-token', fresh]);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(tokenOf(dir('a')), `K10${hash}::server:${fresh}`);
  assert.ok((await storedRevision()) > rev0);

  // A second server: the old token is refused before any PKI is written; the new one works.
  await assert.rejects(bootstrap('b', first), /--token does not open this datastore's bootstrap data.*token rotate/);
  assert.throws(() => readFileSync(join(dir('b'), 'pki', 'ca.crt')), /ENOENT/);
  const second = await bootstrap('b', `K10${hash}::server:${fresh}`);
  assert.equal(second, `K10${hash}::server:${fresh}`);
  assert.equal(readFileSync(join(dir('b'), 'pki', 'ca.crt'), 'utf8'), ca, 'the cluster CA, from the datastore');
  assert.equal(
    readFileSync(join(dir('b'), 'node-token'), 'utf8'),
    readFileSync(join(dir('a'), 'node-token'), 'utf8'),
    'the node token is unchanged: agents keep joining with it',
  );
  // The first server restarts on its rewritten DIR/token.
  assert.equal(await bootstrap('a'), `K10${hash}::server:${fresh}`);

  // The same token again, SQLite, and no bootstrap data are clear errors.
  await assert.rejects(
    rotateServerToken({ datastore, token: fresh, newToken: fresh }),
    /--new-token is the current token/,
  );
  await assert.rejects(
    rotateServerToken({ datastore: `sqlite://${join(root, 'x.db')}`, token: fresh, newToken: 'z'.repeat(20) }),
    /needs the shared etcd datastore/,
  );
  const missing = await cli(['--datastore', datastore, '--data-dir', join(root, 'none')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /missing --token .*--new-token/);
});
