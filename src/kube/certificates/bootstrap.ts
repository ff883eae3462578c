// A joining node's credentials (kubelet's TLS bootstrap and certificate manager): the cluster CA
// (checked against the join token), a client certificate for system:node:NAME asked by CSR with
// the token (later renewals with the node's own certificate), a serving certificate for the node's
// HTTPS server asked by the node itself; each renewed at a random point between 70 % and 90 % of
// its lifetime, as client-go's certificate manager does. Kept under DIR (keys 0600) so a restart
// reuses them instead of asking again.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unavailable, type Logger, sleep, randomSuffix } from '../../common/index.js';
import { KubeClient } from '../client/index.js';
import { auth } from '../apiserver/index.js';
import { CLIENT_SIGNER, SERVING_SIGNER, type Csr } from './signer.js';
import { caHash, fetchClusterCa, parseNodeToken } from './token.js';

export interface NodeCredentialsOptions {
  /** https://HOST:PORT of a server. */
  server: string;
  token: string;
  nodeName: string;
  /** Addresses and names the node's HTTPS server answers on. */
  servingHosts: string[];
  /** Where ca.crt, client.{crt,key} and serving.{crt,key} are kept. */
  dir: string;
  /** Requested validity (CSR spec.expirationSeconds); the server may issue shorter. */
  expirationSeconds?: number;
  /** How long a refusing or unreachable server is retried while bootstrapping (default 2 min). */
  retryMs?: number;
  log?: Logger;
}

export interface Pair {
  certPem: string;
  keyPem: string;
}

type Kind = 'client' | 'serving';

function usable(p: Pair | undefined, cn: string): p is Pair {
  if (!p) return false;
  try {
    const x = new X509Certificate(p.certPem);
    return (
      x.subject.split('\n').includes(`CN=${cn}`) &&
      Date.parse(x.validTo) > Date.now() &&
      x.checkPrivateKey(createPrivateKey(p.keyPem))
    );
  } catch {
    return false;
  }
}

export class NodeCredentials {
  private timers: NodeJS.Timeout[] = [];
  private listeners: ((kind: Kind, p: Pair) => void)[] = [];
  private stopped = false;

  private constructor(
    private o: NodeCredentialsOptions,
    readonly ca: string,
    public client: Pair,
    public serving: Pair,
  ) {}

  get cn(): string {
    return `system:node:${this.o.nodeName}`;
  }

  /** The credentials: from DIR when still good, else asked for (CA via the token first). */
  static async obtain(o: NodeCredentialsOptions): Promise<NodeCredentials> {
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    const token = parseNodeToken(o.token);
    const caFile = join(o.dir, 'ca.crt');
    let ca = existsSync(caFile) ? readFileSync(caFile, 'utf8') : '';
    if (!ca || caHash(ca) !== token.caHash) {
      ca = await retrying(o, 'fetching the cluster CA', () => fetchClusterCa(o.server, token));
      await auth.writeFileAtomic(caFile, ca, 0o644);
    }
    const cn = `system:node:${o.nodeName}`;
    let client = read(o.dir, 'client');
    if (!usable(client, cn)) {
      const bootstrap = new KubeClient({
        server: o.server,
        ca,
        token: token.secret,
        userAgent: `skiff-agent/${o.nodeName} (bootstrap)`,
      });
      try {
        client = await retrying(o, 'bootstrapping', () => request(bootstrap, o, 'client'));
      } finally {
        bootstrap.close();
      }
      await save(o.dir, 'client', client);
    }
    let serving = read(o.dir, 'serving');
    if (!usable(serving, cn) || !servingCovers(serving, o.servingHosts)) {
      const self = new KubeClient({ server: o.server, ca, cert: client.certPem, key: client.keyPem });
      try {
        serving = await retrying(o, 'asking for the serving certificate', () => request(self, o, 'serving'));
      } finally {
        self.close();
      }
      await save(o.dir, 'serving', serving);
    }
    const c = new NodeCredentials(o, ca, client, serving);
    c.schedule('client');
    c.schedule('serving');
    return c;
  }

  /** Told after a certificate was renewed (and saved). */
  onRotate(fn: (kind: Kind, p: Pair) => void): void {
    this.listeners.push(fn);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  /**
   * The addresses the serving certificate must name (the node's address moved): when the current
   * one does not name them all, a new one is asked for now (kubelet's serving certificate manager
   * rotates when its template's addresses change). Listeners are told as for a renewal.
   */
  async setServingHosts(hosts: string[]): Promise<void> {
    this.o = { ...this.o, servingHosts: hosts };
    if (!servingCovers(this.serving, hosts)) await this.renewNow('serving');
  }

  /** When `kind` is renewed: a random point between 70 % and 90 % of its lifetime. */
  renewAt(kind: Kind): number {
    const x = new X509Certificate(this[kind].certPem);
    const from = Date.parse(x.validFrom);
    const life = Date.parse(x.validTo) - from;
    return from + life * (0.7 + 0.2 * Math.random());
  }

  private schedule(kind: Kind, retryMs?: number): void {
    if (this.stopped) return;
    // (at least 5 s: a certificate shorter-lived than its 5-minute backdating must not spin)
    const wait = retryMs ?? Math.max(5000, this.renewAt(kind) - Date.now());
    // (setTimeout holds at most ~24.8 days; a longer wait re-arms when it fires)
    const t = setTimeout(
      () => {
        this.timers = this.timers.filter((x) => x !== t);
        if (retryMs === undefined && Date.now() < this.renewAt(kind) - 1000 && wait >= 2 ** 31 - 1) {
          this.schedule(kind);
          return;
        }
        // renewNow logs its failure and schedules the retry itself
        void this.renewNow(kind).catch(() => undefined);
      },
      Math.min(wait, 2 ** 31 - 1),
    );
    t.unref();
    this.timers.push(t);
  }

  /** Asks for a new certificate now, with the node's own identity (rescheduling the next one). */
  async renewNow(kind: Kind): Promise<void> {
    const self = new KubeClient({
      server: this.o.server,
      ca: this.ca,
      cert: this.client.certPem,
      key: this.client.keyPem,
    });
    try {
      const p = await request(self, this.o, kind);
      await save(this.o.dir, kind, p);
      this[kind] = p;
      this.o.log?.info('node certificate renewed', { kind, notAfter: new X509Certificate(p.certPem).validTo });
      for (const l of this.listeners) l(kind, p);
      this.schedule(kind);
    } catch (e) {
      this.o.log?.warn('node certificate renewal failed; retrying', { kind, error: (e as Error).message });
      this.schedule(kind, 10_000);
      throw e;
    } finally {
      self.close();
    }
  }
}

function servingCovers(p: Pair, hosts: string[]): boolean {
  const san = new X509Certificate(p.certPem).subjectAltName ?? '';
  return hosts.every((h) => san.includes(`:${h}`));
}

function read(dir: string, kind: Kind): Pair | undefined {
  const cert = join(dir, `${kind}.crt`);
  const key = join(dir, `${kind}.key`);
  if (!existsSync(cert) || !existsSync(key)) return undefined;
  return { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}

async function save(dir: string, kind: Kind, p: Pair): Promise<void> {
  // Key first: a crash between the two leaves a cert whose key does not match, which is asked again.
  await auth.writeFileAtomic(join(dir, `${kind}.key`), p.keyPem, 0o600);
  await auth.writeFileAtomic(join(dir, `${kind}.crt`), p.certPem, 0o644);
}

const PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

/** Retries what a server that is starting (or has just written its token, which its authenticator
 *  reads within a second) refuses for a while: connection errors and 401, for up to 2 minutes,
 *  backing off from 0.5 s to 5 s, as kubelet keeps retrying its bootstrap. A CA that does not match
 *  the token, a denied request or a 403 fail at once. */
async function retrying<T>(o: NodeCredentialsOptions, what: string, fn: () => Promise<T>): Promise<T> {
  const end = Date.now() + (o.retryMs ?? 120_000);
  for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await fn();
    } catch (e) {
      const { code, reason } = e as { code?: string; reason?: string };
      const transient =
        reason === 'Unauthorized' ||
        code === 'Unavailable' ||
        /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ETIMEDOUT|socket hang up/.test(String((e as Error).message));
      const denied = /denied|failed:/.test(String((e as Error).message));
      if (!transient || denied || Date.now() + delay > end) throw e;
      o.log?.info(`${what}: retrying`, { error: (e as Error).message });
      await sleep(delay);
    }
  }
}

/** Creates the CSR and waits for the signer's certificate (or its denial). */
async function request(client: KubeClient, o: NodeCredentialsOptions, kind: Kind, timeoutMs = 300_000): Promise<Pair> {
  const cn = `system:node:${o.nodeName}`;
  const { csrPem, keyPem } = auth.createCsr({
    commonName: cn,
    organizations: ['system:nodes'],
    hosts: kind === 'serving' ? o.servingHosts : undefined,
  });
  const name = `node-csr-${o.nodeName}-${randomSuffix()}`.slice(0, 253);
  await client.request('POST', PATH, {
    body: {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name },
      spec: {
        request: Buffer.from(csrPem).toString('base64'),
        signerName: kind === 'client' ? CLIENT_SIGNER : SERVING_SIGNER,
        usages: ['digital signature', 'key encipherment', kind === 'client' ? 'client auth' : 'server auth'],
        ...(o.expirationSeconds ? { expirationSeconds: o.expirationSeconds } : {}),
      },
    },
  });
  const end = Date.now() + timeoutMs;
  for (let delay = 100; Date.now() < end; delay = Math.min(delay * 2, 2000)) {
    const csr = await client.request<Csr>('GET', `${PATH}/${name}`);
    const bad = csr.status?.conditions?.find(
      (c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True',
    );
    if (bad)
      throw unavailable(`certificate request ${name} ${bad.type.toLowerCase()}: ${bad.message ?? bad.reason ?? ''}`);
    if (csr.status?.certificate)
      return { certPem: Buffer.from(csr.status.certificate, 'base64').toString('utf8'), keyPem };
    await sleep(delay);
  }
  throw unavailable(
    `certificate request ${name}: not signed within ${timeoutMs / 1000} s (is the server's signer running?)`,
  );
}
