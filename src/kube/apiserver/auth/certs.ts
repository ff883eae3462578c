// X.509 issuance with @peculiar/x509 over Node's WebCrypto: ECDSA P-256 keys, SHA-256 signatures,
// positive random serials (Go's crypto/x509 refuses negative ones), and the extensions Go's TLS
// stack checks (basicConstraints/keyUsage on the CA, extended key usage + SANs on leaves).
// The library (≈1 MB with its ASN.1 stack) is loaded on the first issuance only: a server that
// restarts with its PKI in place checks certificates with Node's own X509Certificate.
import type * as X509 from '@peculiar/x509';
import { webcrypto, createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

let lib: Promise<typeof X509> | undefined;
function loadX509(): Promise<typeof X509> {
  lib ??= (async () => {
    await import('reflect-metadata'); // tsyringe, inside @peculiar/x509, needs the Reflect metadata polyfill first
    const ns = await import('@peculiar/x509');
    // Bundled, the CommonJS build arrives as the namespace's default export.
    const m = (ns.cryptoProvider ? ns : (ns as unknown as { default: typeof X509 }).default);
    m.cryptoProvider.set(webcrypto as unknown as Crypto);
    return m;
  })();
  return lib;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface CertKeyPair {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  commonName: string;
  organizations?: string[];
  /** Validity in days from now (notBefore is back-dated 5 minutes for clock skew). */
  days: number;
  usage: 'ca' | 'server' | 'client';
  /** Server certificates: DNS names and IP addresses (split by `net.isIP`). */
  hosts?: string[];
  now?: Date;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x10; // positive, no leading zero byte
  return b.toString('hex');
}

async function newKeyPair(): Promise<{ keys: CryptoKeyPair; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string;
  return { keys, keyPem };
}

async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const der = createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']) as Promise<CryptoKey>;
}

function subjectName(commonName: string, organizations: string[] = []): X509.JsonName {
  return [...organizations.map((o) => ({ O: [o] })), { CN: [commonName] }];
}

/** Splits hosts into SAN entries (IP or DNS), deduplicated, order kept. */
export function sanEntries(hosts: string[]): X509.JsonGeneralNames {
  const seen = new Set<string>();
  const out: X509.JsonGeneralNames = [];
  for (const h of hosts) {
    const v = h.trim();
    if (!v || seen.has(v)) continue;
    seen.add(v);
    out.push({ type: isIP(v) ? 'ip' : 'dns', value: v });
  }
  return out;
}

/** Issues a certificate: self-signed when `issuer` is absent (a CA), else signed by `issuer`. */
export async function issueCertificate(opts: IssueOptions, issuer?: CertKeyPair): Promise<CertKeyPair> {
  const now = opts.now ?? new Date();
  const x509 = await loadX509();
  const { keys, keyPem } = await newKeyPair();
  const extensions: X509.Extension[] = [await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)];
  const F = x509.KeyUsageFlags;
  if (opts.usage === 'ca') {
    extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
    extensions.push(new x509.KeyUsagesExtension(F.keyCertSign | F.cRLSign | F.digitalSignature, true));
  } else {
    extensions.push(new x509.BasicConstraintsExtension(false, undefined, true));
    extensions.push(new x509.KeyUsagesExtension(F.digitalSignature | F.keyEncipherment, true));
    extensions.push(new x509.ExtendedKeyUsageExtension([
      opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]));
    if (opts.usage === 'server') extensions.push(new x509.SubjectAlternativeNameExtension(sanEntries(opts.hosts ?? [])));
  }
  const common = {
    serialNumber: serial(),
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + opts.days * DAY),
    signingAlgorithm: EC,
  };
  const name = subjectName(opts.commonName, opts.organizations);
  let cert: X509.X509Certificate;
  if (!issuer) {
    cert = await x509.X509CertificateGenerator.createSelfSigned({ ...common, name, keys, extensions });
  } else {
    const ca = new x509.X509Certificate(issuer.certPem);
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey));
    cert = await x509.X509CertificateGenerator.create({
      ...common, subject: name, issuer: ca.subject, publicKey: keys.publicKey,
      signingKey: await importSigningKey(issuer.keyPem), extensions,
    });
  }
  return { certPem: cert.toString('pem') + '\n', keyPem };
}

export interface CertProblem { problem: string }

/** Checks a leaf (or the CA itself when `ca` is absent): parses, key matches, signed by `ca`,
 *  valid now and for at least `minDaysLeft`. Returns the parsed certificate or a problem. */
export function checkCertificate(pair: CertKeyPair, opts: { ca?: string; minDaysLeft?: number; now?: Date } = {}): X509Certificate | CertProblem {
  let cert: X509Certificate;
  try { cert = new X509Certificate(pair.certPem); } catch (e) { return { problem: `unreadable certificate: ${(e as Error).message}` }; }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return { problem: 'the key does not match the certificate' };
  } catch (e) { return { problem: `unreadable key: ${(e as Error).message}` }; }
  if (opts.ca !== undefined) {
    const ca = new X509Certificate(opts.ca);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return { problem: 'not signed by the cluster CA' };
  }
  const now = (opts.now ?? new Date()).getTime();
  if (Date.parse(cert.validFrom) > now + 5 * 60_000) return { problem: `not valid before ${cert.validFrom}` };
  if (Date.parse(cert.validTo) - now < (opts.minDaysLeft ?? 0) * DAY) return { problem: `expires ${cert.validTo}` };
  return cert;
}

/** Hosts in a certificate's subjectAltName (`DNS:a, IP Address:1.2.3.4`). */
export function certificateHosts(cert: X509Certificate): string[] {
  const san = cert.subjectAltName ?? '';
  return san.split(', ').map((e) => e.replace(/^(DNS|IP Address):/, '')).filter(Boolean).map(normalizeIp);
}

/** Node prints IPv6 SANs expanded (`0:0:0:0:0:0:0:1`); compare hosts in canonical form. */
function normalizeIp(h: string): string {
  if (isIP(h) !== 6) return h;
  try { return new URL(`http://[${h}]/`).hostname.slice(1, -1); } catch { return h; }
}

export function certificateCovers(cert: X509Certificate, host: string): boolean {
  return isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(host, { wildcards: false }) !== undefined;
}

export function publicKeyPem(keyPem: string): string {
  return createPublicKey(keyPem).export({ format: 'pem', type: 'spki' }) as string;
}
