// The cluster's PKI under DATA/pki/: a CA, the API server's serving certificate, the admin client
// certificate, a static token file with the admin token, and the service-account signing key.
// First start builds everything in a temp directory and renames it into place, so a crash never
// leaves a half-made PKI; later starts load it and replace (atomically, one file at a time) only
// leaves that are missing, broken, expiring within 90 days, or — for the serving certificate —
// that do not cover the requested hosts (the new certificate keeps the old hosts too).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { failedPrecondition, invalidArgument, randomSuffix } from '../../../common/index.js';
import { issueCertificate, checkCertificate, certificateHosts, certificateCovers, type CertKeyPair } from './certs.js';
import { writeFileAtomic, readIfExists, fsyncDir } from './files.js';
import { addStaticToken, readTokenFile } from './tokens.js';

export const ADMIN_USER = 'skiff-admin';
export const ADMIN_GROUPS = ['system:masters'];
/** Names in-cluster clients use for the API server (the `kubernetes` Service). */
export const KUBERNETES_SERVICE_NAMES = [
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

const CA_DAYS = 3650;
const LEAF_DAYS = 365;
const RENEW_DAYS = 90;

export interface ServiceAccountKey {
  alg: 'ES256';
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** JWT `kid`: base64url SHA-256 of the DER public key, as upstream computes it. */
  keyId: string;
  publicKeyPem: string;
}

export interface Pki {
  dir: string;
  clusterName: string;
  ca: CertKeyPair;
  server: CertKeyPair & { hosts: string[] };
  admin: CertKeyPair & { username: string; groups: string[]; token: string };
  /** The static token file (`token,user,uid,"groups"`), 0600. */
  tokenFile: string;
  serviceAccountKey: ServiceAccountKey;
}

export interface EnsurePkiOptions {
  /** Hosts the serving certificate must cover (default 127.0.0.1, localhost, this host's name). */
  hosts?: string[];
  clusterName?: string;
  now?: () => Date;
}

const FILES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  serverCert: 'server.crt',
  serverKey: 'server.key',
  adminCert: 'admin.crt',
  adminKey: 'admin.key',
  tokens: 'tokens.csv',
  saKey: 'sa.key',
  saPub: 'sa.pub',
} as const;

export function defaultHosts(): string[] {
  return ['127.0.0.1', 'localhost', hostname()];
}

export async function ensurePki(dataDir: string, opts: EnsurePkiOptions = {}): Promise<Pki> {
  const now = opts.now ?? (() => new Date());
  const hosts = [
    ...new Set([...(opts.hosts ?? defaultHosts()), ...KUBERNETES_SERVICE_NAMES].map((h) => h.trim()).filter(Boolean)),
  ];
  for (const h of hosts) {
    if (!/^[A-Za-z0-9.:_*-]+$/.test(h))
      throw invalidArgument(`host "${h}" is not a DNS name or IP address`, { field: 'hosts' });
  }
  const dir = join(dataDir, 'pki');
  await fs.mkdir(dataDir, { recursive: true });
  await removeStaleTempDirs(dataDir);
  if (!(await exists(dir))) await createFresh(dataDir, dir, hosts, now());
  else if (!(await exists(join(dir, FILES.caCert)))) await completeFresh(dataDir, dir, hosts, now());
  return load(dir, hosts, opts.clusterName ?? 'skiff', now());
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Removes temp dirs a crashed start left behind; recent ones may belong to a concurrent start. */
async function removeStaleTempDirs(dataDir: string): Promise<void> {
  for (const name of await fs.readdir(dataDir)) {
    if (!name.startsWith('.pki.tmp-')) continue;
    const p = join(dataDir, name);
    // a temporary file removed by another start meanwhile needs no cleanup
    const st = await fs.stat(p).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 10 * 60_000) await fs.rm(p, { recursive: true, force: true });
  }
}

/** Makes a whole PKI in a temp directory next to `dir`; `keep` lists files of an existing `dir`
 *  that stay (the service-account key and token file do not depend on the CA). */
async function buildTemp(dataDir: string, hosts: string[], now: Date, keep: Set<string>): Promise<string> {
  const tmp = join(dataDir, `.pki.tmp-${randomSuffix()}`);
  await fs.mkdir(tmp, { mode: 0o700 });
  try {
    const ca = await issueCertificate({ commonName: 'skiff-ca', usage: 'ca', days: CA_DAYS, now });
    await writePair(tmp, FILES.caCert, FILES.caKey, ca);
    await writeServer(tmp, ca, hosts, now);
    await writeAdmin(tmp, ca, now);
    if (!keep.has(FILES.saKey)) await writeServiceAccountKey(tmp);
    if (!keep.has(FILES.tokens))
      await addStaticToken(join(tmp, FILES.tokens), { user: ADMIN_USER, uid: ADMIN_USER, groups: ADMIN_GROUPS });
    await fsyncDir(tmp);
    return tmp;
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function createFresh(dataDir: string, dir: string, hosts: string[], now: Date): Promise<void> {
  const tmp = await buildTemp(dataDir, hosts, now, new Set());
  try {
    await fs.rename(tmp, dir);
    await fsyncDir(dataDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    // Another process made the PKI first: use theirs.
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** `dir` exists but has no CA certificate (only, say, the encryption key, or a first start that
 *  crashed): make the CA and its leaves, move them in one file at a time with ca.crt last — its
 *  presence marks a complete PKI, so a crash in between just repeats this on the next start. */
async function completeFresh(dataDir: string, dir: string, hosts: string[], now: Date): Promise<void> {
  const keep = new Set<string>();
  for (const f of [FILES.saKey, FILES.tokens]) if (await exists(join(dir, f))) keep.add(f);
  if (keep.has(FILES.saKey) && !(await exists(join(dir, FILES.saPub)))) keep.delete(FILES.saKey);
  const tmp = await buildTemp(dataDir, hosts, now, keep);
  try {
    await fs.chmod(dir, 0o700);
    const files = (await fs.readdir(tmp)).filter((f) => f !== FILES.caCert);
    for (const f of [...files, FILES.caCert]) await fs.rename(join(tmp, f), join(dir, f));
    await fsyncDir(dir);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function writePair(dir: string, certFile: string, keyFile: string, pair: CertKeyPair): Promise<void> {
  // Key first, certificate second: a crash in between leaves a mismatched pair, which load() detects
  // and reissues (never a certificate whose key is lost).
  await writeFileAtomic(join(dir, keyFile), pair.keyPem, 0o600);
  await writeFileAtomic(join(dir, certFile), pair.certPem, 0o644);
}

async function writeServer(dir: string, ca: CertKeyPair, hosts: string[], now: Date): Promise<CertKeyPair> {
  const pair = await issueCertificate(
    { commonName: 'skiff-apiserver', usage: 'server', hosts, days: LEAF_DAYS, now },
    ca,
  );
  await writePair(dir, FILES.serverCert, FILES.serverKey, pair);
  return pair;
}

async function writeAdmin(dir: string, ca: CertKeyPair, now: Date): Promise<CertKeyPair> {
  const pair = await issueCertificate(
    { commonName: ADMIN_USER, organizations: ADMIN_GROUPS, usage: 'client', days: LEAF_DAYS, now },
    ca,
  );
  await writePair(dir, FILES.adminCert, FILES.adminKey, pair);
  return pair;
}

async function writeServiceAccountKey(dir: string): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFileAtomic(join(dir, FILES.saKey), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
  await writeFileAtomic(join(dir, FILES.saPub), publicKey.export({ format: 'pem', type: 'spki' }) as string, 0o644);
}

async function readPair(dir: string, certFile: string, keyFile: string): Promise<CertKeyPair | undefined> {
  const [certPem, keyPem] = await Promise.all([readIfExists(join(dir, certFile)), readIfExists(join(dir, keyFile))]);
  return certPem !== undefined && keyPem !== undefined ? { certPem, keyPem } : undefined;
}

async function load(dir: string, hosts: string[], clusterName: string, now: Date): Promise<Pki> {
  const ca = await readPair(dir, FILES.caCert, FILES.caKey);
  if (!ca) {
    throw failedPrecondition(
      `the PKI in ${dir} has a CA certificate but no CA key (${FILES.caKey}); restore it, or remove ${dir} to make a new cluster identity`,
      { field: join(dir, FILES.caKey) },
    );
  }
  const caCheck = checkCertificate(ca, { now });
  if ('problem' in caCheck)
    throw failedPrecondition(`the cluster CA in ${dir} is unusable: ${caCheck.problem}`, {
      field: join(dir, FILES.caCert),
    });

  // Serving certificate: reissue when broken, expiring, or missing a requested host.
  let server = await readPair(dir, FILES.serverCert, FILES.serverKey);
  const serverCheck = server
    ? checkCertificate(server, { ca: ca.certPem, minDaysLeft: RENEW_DAYS, now })
    : { problem: 'missing' };
  let serverHosts = hosts;
  if (!('problem' in serverCheck)) {
    const missing = hosts.filter((h) => !certificateCovers(serverCheck, h));
    if (missing.length === 0) serverHosts = certificateHosts(serverCheck);
    else serverHosts = [...new Set([...certificateHosts(serverCheck), ...hosts])];
    if (missing.length > 0) server = undefined;
  } else server = undefined;
  // Keep the pair just made in memory (a concurrent start may replace the files meanwhile).
  server ??= await writeServer(dir, ca, serverHosts, now);

  let admin = await readPair(dir, FILES.adminCert, FILES.adminKey);
  if (!admin || 'problem' in checkCertificate(admin, { ca: ca.certPem, minDaysLeft: RENEW_DAYS, now })) {
    admin = await writeAdmin(dir, ca, now);
  }

  const tokenFile = join(dir, FILES.tokens);
  let adminToken = (await readTokenFile(tokenFile)).find((t) => t.user === ADMIN_USER)?.token;
  adminToken ??= await addStaticToken(tokenFile, { user: ADMIN_USER, uid: ADMIN_USER, groups: ADMIN_GROUPS });

  let saPem = await readIfExists(join(dir, FILES.saKey));
  if (saPem === undefined) {
    await writeServiceAccountKey(dir);
    saPem = (await readIfExists(join(dir, FILES.saKey)))!;
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(saPem);
  } catch (e) {
    throw failedPrecondition(
      `the service-account key ${join(dir, FILES.saKey)} is unreadable: ${(e as Error).message}`,
      { field: join(dir, FILES.saKey), cause: e },
    );
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw failedPrecondition(`the service-account key ${join(dir, FILES.saKey)} must be an ECDSA P-256 key`, {
      field: join(dir, FILES.saKey),
    });
  }
  const publicKey = createPublicKey(privateKey);
  const serviceAccountKey: ServiceAccountKey = {
    alg: 'ES256',
    privateKey,
    publicKey,
    keyId: createHash('sha256')
      .update(publicKey.export({ format: 'der', type: 'spki' }))
      .digest('base64url'),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }) as string,
  };

  const serverCert = checkCertificate(server, { ca: ca.certPem });
  return {
    dir,
    clusterName,
    ca,
    server: { ...server, hosts: 'problem' in serverCert ? serverHosts : certificateHosts(serverCert) },
    admin: { ...admin, username: ADMIN_USER, groups: ADMIN_GROUPS, token: adminToken },
    tokenFile,
    serviceAccountKey,
  };
}

/** Issues a client certificate signed by the cluster CA (for node agents, other components). */
export async function issueClientCertificate(
  pki: Pki,
  opts: { commonName: string; organizations?: string[]; days?: number },
): Promise<CertKeyPair> {
  if (!opts.commonName)
    throw invalidArgument('a client certificate needs a common name (the user name)', { field: 'commonName' });
  return issueCertificate(
    { commonName: opts.commonName, organizations: opts.organizations, usage: 'client', days: opts.days ?? LEAF_DAYS },
    pki.ca,
  );
}

/** Issues a serving certificate signed by the cluster CA (a node agent's HTTPS server). */
export async function issueServingCertificate(
  pki: Pki,
  opts: { commonName: string; hosts: string[]; days?: number },
): Promise<CertKeyPair> {
  if (!opts.hosts.length) throw invalidArgument('a serving certificate needs at least one host', { field: 'hosts' });
  return issueCertificate(
    { commonName: opts.commonName, hosts: opts.hosts, usage: 'server', days: opts.days ?? LEAF_DAYS },
    pki.ca,
  );
}
