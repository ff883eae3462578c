// HA servers share one cluster PKI through their datastore, as k3s's bootstrap data: the first
// server on a shared (etcd) datastore puts its CA (certificate and key), service-account key pair,
// static token file, secrets encryption key and node join token into the datastore under
// /skiff/bootstrap, encrypted with the server token (AES-256-GCM, key from scrypt of the token's
// secret); a server started later on the same datastore with `--token` reads it, decrypts it and
// writes those files into its own DATA_DIR/pki before its API server starts, so certificates and
// tokens issued by either server are accepted by both. The server token is written to
// DATA_DIR/token as `K10<ca-hash>::server:<secret>` (k3s's secure server token).
//
// Leaves (the API server's serving certificate, the admin client certificate) stay per server:
// each server issues its own from the shared CA.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition, invalidArgument, isSkiffError, type Logger } from '../common/index.js';
import { auth as security } from '../kube/apiserver/index.js';
import { caHash, ensureNodeToken, parseNodeToken } from '../kube/certificates/index.js';
import { isKeyExists, openStore } from '../kube/storage/index.js';

export const BOOTSTRAP_KEY = '/skiff/bootstrap';
/** The PKI files every server of a cluster must hold the same. */
const SHARED = ['ca.crt', 'ca.key', 'sa.key', 'sa.pub', 'tokens.csv', 'encryption.key'] as const;
const PER_SERVER = ['server.crt', 'server.key', 'admin.crt', 'admin.key'];
const SERVER_USER = 'server';

interface Sealed {
  v: 1;
  /** The CA's hash in clear (the CA certificate is public): a server whose PKI was copied by hand
   *  starts without the token when its CA is this one. */
  caHash: string;
  salt: string;
  iv: string;
  tag: string;
  data: string;
}

interface Payload {
  files: Record<string, string>;
  nodeToken: string;
}

const isEtcd = (datastore?: string) => !!datastore && /^etcd(\+https?)?:\/\//.test(datastore);

const keyOf = (secret: string, salt: Buffer) => scryptSync(secret, salt, 32, { N: 1 << 14, r: 8, p: 1 });

export function seal(secret: string, p: Payload): Uint8Array {
  const ca = caHash(p.files['ca.crt']);
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', keyOf(secret, salt), iv);
  const data = Buffer.concat([c.update(JSON.stringify(p)), c.final()]);
  const s: Sealed = {
    v: 1,
    caHash: ca,
    salt: salt.toString('base64'),
    iv: iv.toString('base64'),
    tag: c.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return Buffer.from(JSON.stringify(s));
}

function parseSealed(bytes: Uint8Array): Sealed {
  let s: Sealed;
  try {
    s = JSON.parse(Buffer.from(bytes).toString('utf8')) as Sealed;
  } catch {
    throw failedPrecondition(`the datastore's ${BOOTSTRAP_KEY} is not Skiff bootstrap data`);
  }
  if (s.v !== 1) throw failedPrecondition(`the datastore's ${BOOTSTRAP_KEY} has unknown version ${String(s.v)}`);
  return s;
}

export function unseal(secret: string, bytes: Uint8Array): Payload {
  const s = parseSealed(bytes);
  const d = createDecipheriv('aes-256-gcm', keyOf(secret, Buffer.from(s.salt, 'base64')), Buffer.from(s.iv, 'base64'));
  d.setAuthTag(Buffer.from(s.tag, 'base64'));
  try {
    const text = Buffer.concat([d.update(Buffer.from(s.data, 'base64')), d.final()]).toString('utf8');
    return JSON.parse(text) as Payload;
  } catch {
    throw invalidArgument(
      "--token does not open this datastore's bootstrap data: pass the cluster's current server token (the first server's DATA_DIR/token, or the --new-token of the last `skiff token rotate`)",
      { field: 'token' },
    );
  }
}

/** The secret of a server token (`K10<hash>::server:<secret>`) or a bare secret. */
function tokenSecret(token: string): string {
  const t = token.trim();
  if (t.startsWith('K10')) return parseNodeToken(t).secret;
  if (!/^[A-Za-z0-9_-]{16,}$/.test(t))
    throw invalidArgument('--token: expected K10<ca-hash>::server:<secret> or a secret of 16+ [A-Za-z0-9_-]', {
      field: 'token',
    });
  return t;
}

function sameBytes(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface BootstrapOptions {
  dataDir: string;
  datastore?: string;
  /** The server token (k3s's --token); default DATA_DIR/token, else a new one on a new cluster. */
  token?: string;
  /** Hosts for the serving certificate when this server makes the PKI. */
  hosts: string[];
  log: Logger;
}

/** Shares the PKI through a shared datastore (etcd); returns the server token, or undefined for a
 *  datastore only this server uses (SQLite, memory), where nothing is shared, and for a server
 *  whose PKI (the datastore's CA) was copied in by hand and that has no token. */
export async function shareClusterBootstrap(o: BootstrapOptions): Promise<string | undefined> {
  if (!o.datastore || !isEtcd(o.datastore)) return undefined;
  const tokenFile = join(o.dataDir, 'token');
  const given = o.token ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8') : undefined);
  const pki = join(o.dataDir, 'pki');
  const store = await openStore(o.datastore);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const kv = await store.get(BOOTSTRAP_KEY);
      if (kv) {
        if (!given) {
          const local = join(pki, 'ca.crt');
          if (existsSync(local) && caHash(readFileSync(local, 'utf8')) === parseSealed(kv.value).caHash) {
            o.log.info('the cluster PKI was copied here: starting without the server token');
            return undefined;
          }
          throw invalidArgument(
            `the datastore already holds a cluster: start this server with --token (the first server's DATA_DIR/token)`,
            { field: 'token' },
          );
        }
        const secret = tokenSecret(given);
        const p = unseal(secret, kv.value);
        if (given.trim().startsWith('K10') && parseNodeToken(given).caHash !== caHash(p.files['ca.crt']))
          throw invalidArgument("--token: its CA hash is not the cluster CA's (the datastore's bootstrap data)", {
            field: 'token',
          });
        const localCa = existsSync(join(pki, 'ca.crt')) ? readFileSync(join(pki, 'ca.crt'), 'utf8') : undefined;
        const changed = localCa === undefined || !sameBytes(localCa, p.files['ca.crt'] ?? '');
        if (changed) {
          // Leaves issued by another CA are made again by the API server from the shared one.
          for (const f of PER_SERVER) rmSync(join(pki, f), { force: true });
          o.log.info('cluster PKI taken from the datastore', { key: BOOTSTRAP_KEY });
        }
        mkdirSync(pki, { recursive: true, mode: 0o700 });
        for (const f of SHARED) {
          const text = p.files[f];
          if (text === undefined) continue;
          const path = join(pki, f);
          if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
          await security.writeFileAtomic(path, text, f.endsWith('.crt') || f.endsWith('.pub') ? 0o644 : 0o600);
        }
        await security.writeFileAtomic(join(o.dataDir, 'node-token'), `${p.nodeToken.trim()}\n`, 0o600);
        const text = `K10${caHash(p.files['ca.crt'])}::${SERVER_USER}:${secret}`;
        await security.writeFileAtomic(tokenFile, `${text}\n`, 0o600);
        return text;
      }
      // A new cluster: this server's PKI (made now if missing) goes into the datastore.
      const made = await security.ensurePki(o.dataDir, { hosts: o.hosts });
      const nodeToken = await ensureNodeToken(o.dataDir, made);
      await security.loadOrCreateEncryptionKey(o.dataDir);
      const secret = given ? tokenSecret(given) : security.newToken();
      const files: Record<string, string> = {};
      for (const f of SHARED) if (existsSync(join(pki, f))) files[f] = readFileSync(join(pki, f), 'utf8');
      try {
        await store.create(BOOTSTRAP_KEY, seal(secret, { files, nodeToken }));
      } catch (e) {
        if (isKeyExists(e)) continue; // another server won the race: take its PKI
        throw e;
      }
      o.log.info('cluster PKI stored in the datastore for other servers', { key: BOOTSTRAP_KEY });
      const text = `K10${caHash(made.ca.certPem)}::${SERVER_USER}:${secret}`;
      await security.writeFileAtomic(tokenFile, `${text}\n`, 0o600);
      return text;
    }
    throw failedPrecondition(`could not agree on the datastore's ${BOOTSTRAP_KEY} in 3 attempts`);
  } finally {
    await store.close();
  }
}

export interface RotateOptions {
  /** The server's data dir: its DATA_DIR/token is rewritten with the new token. */
  dataDir?: string;
  datastore: string;
  /** The current server token (k3s's --token). */
  token: string;
  /** The token that replaces it (k3s's --new-token). */
  newToken: string;
}

/**
 * `skiff token rotate` (k3s's `k3s token rotate`): the bootstrap data in the datastore is opened
 * with the current token and sealed again under the new one, in one compare-and-swap on its
 * revision (a concurrent change fails the rotation, nothing half-written); then DATA_DIR/token
 * holds the new token. Running servers keep running (they need the token only at start); each
 * other server is restarted with `--token NEW`, and the old token opens nothing any more. Agents
 * join with the node token (DATA_DIR/node-token), which this does not change. Returns the new
 * token in its full form.
 */
export async function rotateServerToken(o: RotateOptions): Promise<string> {
  if (!isEtcd(o.datastore))
    throw invalidArgument(
      'token rotation needs the shared etcd datastore (--datastore etcd://…): a server on SQLite or memory keeps no bootstrap data',
      { field: 'datastore' },
    );
  const oldSecret = tokenSecret(o.token);
  const newSecret = tokenSecret(o.newToken);
  if (sameBytes(oldSecret, newSecret))
    throw invalidArgument('--new-token is the current token', { field: 'new-token' });
  const store = await openStore(o.datastore);
  try {
    const kv = await store.get(BOOTSTRAP_KEY);
    if (!kv)
      throw failedPrecondition(
        `the datastore holds no cluster (${BOOTSTRAP_KEY} is absent): start the first server before rotating its token`,
      );
    const p = unseal(oldSecret, kv.value);
    const hash = caHash(p.files['ca.crt']);
    for (const [flag, t] of [
      ['--token', o.token],
      ['--new-token', o.newToken],
    ] as const) {
      if (t.trim().startsWith('K10') && parseNodeToken(t).caHash !== hash)
        throw invalidArgument(`${flag}: its CA hash is not the cluster CA's (the datastore's bootstrap data)`, {
          field: flag.slice(2),
        });
    }
    try {
      await store.update(BOOTSTRAP_KEY, seal(newSecret, p), kv.modRevision);
    } catch (e) {
      if (isSkiffError(e, 'Conflict'))
        throw failedPrecondition(`the datastore's ${BOOTSTRAP_KEY} changed during the rotation: run it again`);
      throw e;
    }
    const text = `K10${hash}::${SERVER_USER}:${newSecret}`;
    if (o.dataDir) await security.writeFileAtomic(join(o.dataDir, 'token'), `${text}\n`, 0o600);
    return text;
  } finally {
    await store.close();
  }
}
