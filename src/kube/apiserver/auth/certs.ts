// X.509 issuance with node:crypto and a small DER encoder (der.ts): ECDSA P-256 keys, SHA-256
// signatures, positive random serials (Go's crypto/x509 refuses negative ones), and the extensions
// Go's TLS stack checks (basicConstraints/keyUsage on the CA, extended key usage + SANs on leaves,
// subject/authority key identifiers). Leaves name their issuer with the CA certificate's own
// subject bytes, so CAs made by earlier versions keep working.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { isIP } from 'node:net';
import {
  bits,
  bool,
  children,
  explicit,
  namedBits,
  octets,
  oid,
  readTlv,
  seq,
  set,
  time,
  tlv,
  uint,
  utf8,
} from './der.js';
import { internal } from '../../../common/index.js';

const DAY = 86_400_000;
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

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
  /** Certify this public key (a CertificateSigningRequest's) instead of a new one; keyPem is then ''. */
  publicKey?: KeyObject;
}

function serial(): Buffer {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x10; // positive, no leading zero byte
  return b;
}

export function subjectName(commonName: string, organizations: string[] = []): Buffer {
  const rdn = (type: string, v: string) => set(seq(oid(type), utf8(v)));
  return seq(...organizations.map((o) => rdn('2.5.4.10', o)), rdn('2.5.4.3', commonName));
}

/** Splits hosts into SAN entries (IP or DNS), deduplicated, order kept. */
export function sanEntries(hosts: string[]): { type: 'ip' | 'dns'; value: string }[] {
  const seen = new Set<string>();
  const out: { type: 'ip' | 'dns'; value: string }[] = [];
  for (const h of hosts) {
    const v = h.trim();
    if (!v || seen.has(v)) continue;
    seen.add(v);
    out.push({ type: isIP(v) ? 'ip' : 'dns', value: v });
  }
  return out;
}

export function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  let s = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = ipBytes(v4[1]);
    s = s.slice(0, -v4[1].length) + `${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = s.split('::');
  const parts = (x?: string) => (x ? x.split(':').filter(Boolean) : []);
  const h = parts(head),
    t = parts(tail);
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const extension = (id: string, critical: boolean, value: Buffer) =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** The subjectPublicKey bits of an SPKI (what key identifiers hash, RFC 5280 4.2.1.2 method 1). */
function keyBits(spki: Buffer): Buffer {
  const [, bitString] = children(spki, readTlv(spki, 0));
  return spki.subarray(bitString.contentStart + 1, bitString.end);
}

/** The CA certificate's subject (raw bytes) and subject key identifier. */
function issuerOf(caPem: string): { name: Buffer; keyId: Buffer } {
  const ca = new X509Certificate(caPem);
  const der = ca.raw;
  const [tbs] = children(der, readTlv(der, 0));
  const f = children(der, tbs);
  const o = f[0].tag === 0xa0 ? 1 : 0; // [0] version present
  const name = der.subarray(f[o + 4].start, f[o + 4].end);
  let keyId: Buffer | undefined;
  const exts = f.find((x) => x.tag === 0xa3);
  if (exts) {
    for (const e of children(der, children(der, exts)[0])) {
      const parts = children(der, e);
      if (der.subarray(parts[0].start, parts[0].end).equals(oid('2.5.29.14'))) {
        const inner = readTlv(der, parts[parts.length - 1].contentStart);
        keyId = der.subarray(inner.contentStart, inner.end);
      }
    }
  }
  const spki = ca.publicKey.export({ type: 'spki', format: 'der' });
  return { name, keyId: keyId ?? createHash('sha1').update(keyBits(spki)).digest() };
}

/** Issues a certificate: self-signed when `issuer` is absent (a CA), else signed by `issuer`. */
export async function issueCertificate(opts: IssueOptions, issuer?: CertKeyPair): Promise<CertKeyPair> {
  const now = opts.now ?? new Date();
  const pair = opts.publicKey ? undefined : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPem = pair ? (pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string) : '';
  const spki = (opts.publicKey ?? pair!.publicKey).export({ type: 'spki', format: 'der' });
  const subject = subjectName(opts.commonName, opts.organizations);
  const ca = issuer ? issuerOf(issuer.certPem) : undefined;
  const exts = [extension('2.5.29.14', false, octets(createHash('sha1').update(keyBits(spki)).digest()))];
  if (opts.usage === 'ca') {
    exts.push(extension('2.5.29.19', true, seq(bool(true))));
    exts.push(extension('2.5.29.15', true, namedBits([0x86]))); // digitalSignature, keyCertSign, cRLSign
  } else {
    exts.push(extension('2.5.29.19', true, seq()));
    exts.push(extension('2.5.29.15', true, namedBits([0xa0]))); // digitalSignature, keyEncipherment
    exts.push(
      extension('2.5.29.37', false, seq(oid(opts.usage === 'server' ? '1.3.6.1.5.5.7.3.1' : '1.3.6.1.5.5.7.3.2'))),
    );
    if (opts.usage === 'server') {
      const names = sanEntries(opts.hosts ?? []).map((e) =>
        e.type === 'ip' ? tlv(0x87, ipBytes(e.value)) : tlv(0x82, Buffer.from(e.value, 'ascii')),
      );
      exts.push(extension('2.5.29.17', false, seq(...names)));
    }
  }
  if (ca) exts.push(extension('2.5.29.35', false, seq(tlv(0x80, ca.keyId))));
  const tbs = seq(
    explicit(0, uint(Buffer.from([2]))),
    uint(serial()),
    ECDSA_SHA256,
    ca?.name ?? subject,
    seq(time(new Date(now.getTime() - 5 * 60_000)), time(new Date(now.getTime() + opts.days * DAY))),
    subject,
    spki,
    explicit(3, seq(...exts)),
  );
  // A programming error: callers pass an issuer or let this make the key.
  if (!issuer && !pair) throw internal('a self-signed certificate needs its own new key');
  const signature = sign('sha256', tbs, issuer ? createPrivateKey(issuer.keyPem) : pair!.privateKey);
  const der = seq(tbs, ECDSA_SHA256, bits(signature));
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return { certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`, keyPem };
}

export interface CertProblem {
  problem: string;
}

/** Checks a leaf (or the CA itself when `ca` is absent): parses, key matches, signed by `ca`,
 *  valid now and for at least `minDaysLeft`. Returns the parsed certificate or a problem. */
export function checkCertificate(
  pair: CertKeyPair,
  opts: { ca?: string; minDaysLeft?: number; now?: Date } = {},
): X509Certificate | CertProblem {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.certPem);
  } catch (e) {
    return { problem: `unreadable certificate: ${(e as Error).message}` };
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem)))
      return { problem: 'the key does not match the certificate' };
  } catch (e) {
    return { problem: `unreadable key: ${(e as Error).message}` };
  }
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
  return san
    .split(', ')
    .map((e) => e.replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean)
    .map(normalizeIp);
}

/** Node prints IPv6 SANs expanded (`0:0:0:0:0:0:0:1`); compare hosts in canonical form. */
function normalizeIp(h: string): string {
  if (isIP(h) !== 6) return h;
  try {
    return new URL(`http://[${h}]/`).hostname.slice(1, -1);
  } catch {
    return h;
  }
}

export function certificateCovers(cert: X509Certificate, host: string): boolean {
  return isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(host, { wildcards: false }) !== undefined;
}

export function publicKeyPem(keyPem: string): string {
  return createPublicKey(keyPem).export({ format: 'pem', type: 'spki' }) as string;
}
