// The join token (k3s's node-token): `K10<ca-hash>::<user>:<secret>`, written by the server to
// DATA_DIR/node-token (0600). <ca-hash> is the hex SHA-256 of the cluster CA certificate (DER), so
// an agent that fetched the CA over an unverified connection can check it before trusting it; the
// secret is a bearer token of the static token file for the user system:bootstrap:<user> in group
// system:bootstrappers, whose only right is to ask for a node certificate (docs/multinode.md).
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { invalidArgument, unavailable } from '../../common/index.js';
import { auth } from '../apiserver/index.js';
import { BOOTSTRAPPERS } from './signer.js';

export const TOKEN_USER = 'node';

export interface NodeToken {
  caHash: string;
  user: string;
  secret: string;
}

export const caHash = (caPem: string) => createHash('sha256').update(new X509Certificate(caPem).raw).digest('hex');

export function formatNodeToken(t: NodeToken): string {
  return `K10${t.caHash}::${t.user}:${t.secret}`;
}

export function parseNodeToken(text: string): NodeToken {
  const m = /^K10([0-9a-f]{64})::([a-z0-9-]+):([A-Za-z0-9_-]{16,})$/.exec(text.trim());
  if (!m)
    throw invalidArgument(
      "--token: expected K10<sha256 of the CA>::<user>:<secret> (the server's DATA_DIR/node-token)",
      {
        field: 'token',
      },
    );
  return { caHash: m[1], user: m[2], secret: m[3] };
}

/** The server's join token: kept across restarts (DATA_DIR/node-token), registered as a static token. */
export async function ensureNodeToken(dataDir: string, pki: auth.Pki): Promise<string> {
  const file = join(dataDir, 'node-token');
  const hash = caHash(pki.ca.certPem);
  let secret = auth.newToken();
  if (existsSync(file)) {
    const old = parseNodeToken(readFileSync(file, 'utf8'));
    if (old.caHash === hash) secret = old.secret;
  }
  await auth.addStaticToken(pki.tokenFile, {
    token: secret,
    user: `system:bootstrap:${TOKEN_USER}`,
    uid: '',
    groups: [BOOTSTRAPPERS, `${BOOTSTRAPPERS}:skiff:default-node-token`],
  });
  const text = formatNodeToken({ caHash: hash, user: TOKEN_USER, secret });
  await auth.writeFileAtomic(file, `${text}\n`, 0o600);
  return text;
}

/** The cluster CA as the server presents it in its TLS chain, accepted only if it matches the
 *  token's hash (the trust-on-first-use step k3s does with /cacerts). */
export function fetchClusterCa(server: string, token: NodeToken, timeoutMs = 10_000): Promise<string> {
  const url = new URL(server);
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 443),
      servername: undefined,
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => sock.destroy(unavailable(`${server}: no TLS answer in ${timeoutMs} ms`)), timeoutMs);
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(unavailable(`${server}: ${e.message}`));
    });
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      const seen = new Set<unknown>();
      for (let c = sock.getPeerCertificate(true); c?.raw && !seen.has(c); c = c.issuerCertificate) {
        seen.add(c);
        const pem = new X509Certificate(c.raw).toString();
        if (caHash(pem) === token.caHash) {
          sock.end();
          resolve(pem);
          return;
        }
      }
      sock.destroy();
      reject(
        invalidArgument(`${server}: the server's certificate chain has no CA matching the token's hash`, {
          field: 'token',
        }),
      );
    });
  });
}
