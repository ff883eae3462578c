// certificates.k8s.io/v1 CertificateSigningRequest: a client asks a signer to certify a key. The
// API server records who asked (spec.username/groups/uid, set by its strategy); approval is a
// condition set through /approval, the certificate is set through /status by the signer.
import type { FieldError, KubeObject } from '../../types.js';
import { arr, bytes, define, int32, kindSchema, mapOf, obj, ref, str, strList } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, type Obj } from '../../validation/fields.js';
import { forbidden, invalid, required } from '../../validation/errors.js';
import { resource } from '../shared/define.js';

const G = 'io.k8s.api.certificates.v1';
const USAGES = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
];
const CONDITIONS = ['Approved', 'Denied', 'Failed'];

define(
  `${G}.CertificateSigningRequestSpec`,
  obj(
    'The certificate request and what it is for.',
    {
      request: bytes('The PEM-encoded PKCS#10 request (base64 in JSON).'),
      signerName: str('The signer asked to sign, e.g. kubernetes.io/kube-apiserver-client-kubelet.'),
      expirationSeconds: int32('The requested validity (at least 600); the signer may issue shorter.'),
      usages: strList('Key usages requested in the certificate.'),
      username: str('Who created the request (set by the server).'),
      uid: str('The uid of who created the request (set by the server).'),
      groups: strList('The groups of who created the request (set by the server).'),
      extra: mapOf('Extra attributes of who created the request (set by the server).', strList('')),
    },
    ['request', 'signerName'],
  ),
);
define(
  `${G}.CertificateSigningRequestCondition`,
  obj(
    'One condition of a request: Approved, Denied or Failed.',
    {
      type: str('Approved, Denied or Failed.'),
      status: str('True or False.'),
      reason: str('A brief reason.'),
      message: str('A human readable message.'),
      lastUpdateTime: ref(N.Time, 'When the condition was last updated.'),
      lastTransitionTime: ref(N.Time, 'When the condition last changed status.'),
    },
    ['type', 'status'],
  ),
);
define(
  `${G}.CertificateSigningRequestStatus`,
  obj('Approval and the issued certificate.', {
    conditions: arr('Approved, Denied, Failed.', ref(`${G}.CertificateSigningRequestCondition`), {
      listType: 'map',
      mapKeys: ['type'],
    }),
    certificate: bytes('The issued PEM certificate (base64 in JSON), set by the signer once approved.'),
  }),
);

const decodedPem = (b64: unknown) => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('utf8') : '');

function validate(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const s = asObj(o.spec) ?? {};
  if (!s.request) errs.push(required('spec.request'));
  else if (!decodedPem(s.request).includes('-----BEGIN CERTIFICATE REQUEST-----'))
    errs.push(invalid('spec.request', '<bytes>', 'PEM block type must be CERTIFICATE REQUEST'));
  if (!s.signerName) errs.push(required('spec.signerName'));
  else if (!/^[a-z0-9.-]+\/[A-Za-z0-9.\-_]+$/.test(String(s.signerName)))
    errs.push(
      invalid(
        'spec.signerName',
        s.signerName,
        'must be a fully qualified domain and path of the form "example.com/signer-name"',
      ),
    );
  if (s.expirationSeconds !== undefined && !(Number(s.expirationSeconds) >= 600))
    errs.push(
      invalid(
        'spec.expirationSeconds',
        s.expirationSeconds,
        'may not specify a duration less than 600 seconds (10 minutes)',
      ),
    );
  asArr(s.usages).forEach((u, i) => {
    if (!USAGES.includes(String(u)))
      errs.push(invalid(`spec.usages[${i}]`, u, `supported values: ${USAGES.join(', ')}`));
  });
  const st = asObj(o.status) ?? {};
  const seen = new Set<string>();
  asArr(st.conditions).forEach((c, i) => {
    const cond = asObj(c) ?? {};
    if (!CONDITIONS.includes(String(cond.type)))
      errs.push(invalid(`status.conditions[${i}].type`, cond.type, 'supported values: Approved, Denied, Failed'));
    if (seen.has(String(cond.type)))
      errs.push(invalid(`status.conditions[${i}].type`, cond.type, 'duplicate condition type'));
    seen.add(String(cond.type));
  });
  if (seen.has('Approved') && seen.has('Denied'))
    errs.push(
      invalid('status.conditions', 'Approved, Denied', 'Approved and Denied conditions are mutually exclusive'),
    );
  if (st.certificate && !seen.has('Approved') && !seen.has('Failed'))
    errs.push(forbidden('status.certificate', 'may only be set when the request is approved'));
  return errs;
}

function condition(o: KubeObject): string {
  const conds = asArr(asObj((o as Obj).status)?.conditions).map((c) => String(asObj(c)?.type));
  const out: string[] = conds.filter((t) => t === 'Approved' || t === 'Denied');
  if (asObj((o as Obj).status)?.certificate) out.push('Issued');
  if (conds.includes('Failed')) out.push('Failed');
  return out.length ? out.join(',') : 'Pending';
}

export const certificateSigningRequest = resource({
  group: 'certificates.k8s.io',
  version: 'v1',
  kind: 'CertificateSigningRequest',
  plural: 'certificatesigningrequests',
  singular: 'certificatesigningrequest',
  namespaced: false,
  shortNames: ['csr'],
  subresources: {
    status: true,
    extra: [{ name: 'approval', kind: 'CertificateSigningRequest', verbs: ['get', 'patch', 'update'] }],
  },
  schema: kindSchema(
    { group: 'certificates.k8s.io', version: 'v1', kind: 'CertificateSigningRequest' },
    'A request for a signed certificate from a named signer.',
    {
      spec: ref(`${G}.CertificateSigningRequestSpec`, 'The request.'),
      status: ref(`${G}.CertificateSigningRequestStatus`, 'Approval and the certificate.'),
    },
    ['spec'],
  ),
  validate: (o: KubeObject) => validate(o as Obj),
  validateUpdate(o: KubeObject, old: KubeObject) {
    const errs = validate(o as Obj);
    if (JSON.stringify((o as Obj).spec) !== JSON.stringify((old as Obj).spec))
      errs.push(forbidden('spec', 'field is immutable'));
    const oldCert = asObj((old as Obj).status)?.certificate;
    if (oldCert && asObj((o as Obj).status)?.certificate !== oldCert)
      errs.push(forbidden('status.certificate', 'updates may not modify existing certificate content'));
    return errs;
  },
  columns: [
    nameColumn,
    ageColumn,
    col('SignerName', 'string', 'The signer.'),
    col('Requestor', 'string', 'Who asked.'),
    col('RequestedDuration', 'string', 'The requested validity.'),
    col('Condition', 'string', 'Pending, Approved, Denied, Issued, Failed.'),
  ],
  row: (obj, now) => {
    const s = asObj((obj as Obj).spec) ?? {};
    return [
      obj.metadata.name,
      age(obj.metadata.creationTimestamp, now),
      s.signerName ?? '',
      s.username ?? '',
      s.expirationSeconds ? `${Math.round(Number(s.expirationSeconds) / 60)}m` : '<none>',
      condition(obj),
    ];
  },
});
