// PKCS#10 certificate signing requests (RFC 2986), the payload of certificates.k8s.io's
// CertificateSigningRequest: made by a node agent for its own key (client or serving), parsed and
// checked by the server's signer, which certifies the request's public key with the cluster CA.
// Built on the DER helpers certificate issuance already uses (der.ts); node:crypto has no CSR API.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { invalidArgument } from '../../../common/index.js';
import { bits, children, octets, oid, readTlv, seq, set, tlv, uint, type Node } from './der.js';
import { ipBytes, issueCertificate, sanEntries, subjectName, type CertKeyPair } from './certs.js';

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const RSA_SHA256 = '1.2.840.113549.1.1.11';
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SUBJECT_ALT_NAME = '2.5.29.17';
const CN = '2.5.4.3';
const O = '2.5.4.10';

export interface ParsedCsr {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  publicKey: KeyObject;
}

const pem = (label: string, der: Buffer) =>
  `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END ${label}-----\n`;

/** A new P-256 key and a signed request for it (subject CN/O; SANs for a serving certificate). */
export function createCsr(o: { commonName: string; organizations?: string[]; hosts?: string[] }): {
  csrPem: string;
  keyPem: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const attrs: Buffer[] = [];
  if (o.hosts?.length) {
    const names = sanEntries(o.hosts).map((e) =>
      e.type === 'ip' ? tlv(0x87, ipBytes(e.value)) : tlv(0x82, Buffer.from(e.value, 'ascii')),
    );
    const ext = seq(oid(SUBJECT_ALT_NAME), octets(seq(...names)));
    attrs.push(seq(oid(EXTENSION_REQUEST), set(seq(ext))));
  }
  const info = seq(
    uint(Buffer.from([0])),
    subjectName(o.commonName, o.organizations),
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa0, ...attrs),
  );
  const der = seq(info, seq(oid(ECDSA_SHA256)), bits(sign('sha256', info, privateKey)));
  return {
    csrPem: pem('CERTIFICATE REQUEST', der),
    keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  };
}

function derFromPem(text: string): Buffer {
  const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(
    text,
  );
  if (!m) throw invalidArgument('spec.request: no PEM block of type CERTIFICATE REQUEST', { field: 'spec.request' });
  return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
}

function ipString(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i).toString(16));
  return g.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function stringValue(buf: Buffer, n: Node): string {
  return buf.subarray(n.contentStart, n.end).toString(n.tag === 0x1e ? 'utf16le' : 'utf8');
}

/** Parses a PEM request and checks its self-signature (ECDSA or RSA with SHA-256). */
export function parseCsr(text: string): ParsedCsr {
  const der = derFromPem(text);
  try {
    const [infoN, algN, sigN] = children(der, readTlv(der, 0));
    const info = der.subarray(infoN.start, infoN.end);
    const [, subjectN, spkiN, attrsN] = children(der, infoN);
    const alg = der.subarray(children(der, algN)[0].start, children(der, algN)[0].end);
    if (!alg.equals(oid(ECDSA_SHA256)) && !alg.equals(oid(RSA_SHA256)))
      throw invalidArgument('unsupported signature algorithm (ECDSA or RSA with SHA-256 only)');
    const publicKey = createPublicKey({ key: der.subarray(spkiN.start, spkiN.end), format: 'der', type: 'spki' });
    const signature = der.subarray(sigN.contentStart + 1, sigN.end);
    if (!verify('sha256', info, publicKey, signature)) throw invalidArgument('the signature does not verify');
    const out: ParsedCsr = { commonName: '', organizations: [], dnsNames: [], ipAddresses: [], publicKey };
    for (const rdn of children(der, subjectN))
      for (const atv of children(der, rdn)) {
        const [t, v] = children(der, atv);
        const type = der.subarray(t.start, t.end);
        if (type.equals(oid(CN))) out.commonName = stringValue(der, v);
        else if (type.equals(oid(O))) out.organizations.push(stringValue(der, v));
      }
    for (const attr of attrsN ? children(der, attrsN) : []) {
      const [t, values] = children(der, attr);
      if (!der.subarray(t.start, t.end).equals(oid(EXTENSION_REQUEST))) continue;
      for (const extensions of children(der, values)) {
        for (const e of children(der, extensions)) {
          const parts = children(der, e);
          if (!der.subarray(parts[0].start, parts[0].end).equals(oid(SUBJECT_ALT_NAME))) continue;
          const value = parts[parts.length - 1];
          const names = readTlv(der, value.contentStart);
          for (const n of children(der, names)) {
            const b = der.subarray(n.contentStart, n.end);
            if (n.tag === 0x82) out.dnsNames.push(b.toString('ascii'));
            else if (n.tag === 0x87) out.ipAddresses.push(ipString(b));
          }
        }
      }
    }
    return out;
  } catch (e) {
    throw invalidArgument(`spec.request: malformed certificate request: ${(e as Error).message}`, {
      field: 'spec.request',
    });
  }
}

/** Certifies the request's key with the CA for `seconds` (client or serving usage). */
export async function signCsr(
  ca: CertKeyPair,
  csr: ParsedCsr,
  o: { usage: 'client' | 'server'; seconds: number; now?: Date },
): Promise<string> {
  createPrivateKey(ca.keyPem); // (fails early on a CA without its key)
  const cert = await issueCertificate(
    {
      commonName: csr.commonName,
      organizations: csr.organizations,
      usage: o.usage,
      hosts: [...csr.dnsNames, ...csr.ipAddresses],
      days: o.seconds / 86_400,
      now: o.now,
      publicKey: csr.publicKey,
    },
    ca,
  );
  return cert.certPem;
}
