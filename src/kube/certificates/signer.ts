// The server's certificate controller (kube-controller-manager's csrapproving and csrsigning):
// approves a node's requests — its first client certificate asked with the join token (group
// system:bootstrappers), renewals and serving certificates asked by the node itself — and signs
// approved ones with the cluster CA; requests for kubernetes.io/kube-apiserver-client (a user's
// client certificate) are signed once someone approved them (`kubectl certificate approve`).
// Requests for other signers are left for someone else; a malformed one is marked Failed.
import type { Logger } from '../../common/index.js';
import { Informer, type KubeClient, type ResourceRef } from '../client/index.js';
import { auth } from '../apiserver/index.js';

export const CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
export const APISERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
export const BOOTSTRAPPERS = 'system:bootstrappers';
export const CSR_REF: ResourceRef = {
  group: 'certificates.k8s.io',
  version: 'v1',
  resource: 'certificatesigningrequests',
  kind: 'CertificateSigningRequest',
  namespaced: false,
};

export interface Csr {
  metadata: { name?: string; resourceVersion?: string; uid?: string };
  spec: {
    request: string;
    signerName: string;
    expirationSeconds?: number;
    usages?: string[];
    username?: string;
    groups?: string[];
  };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[]; certificate?: string };
}

export interface SignerOptions {
  ca: auth.CertKeyPair;
  /** Longest validity issued (kube-controller-manager's --cluster-signing-duration; default 1 year). */
  maxSeconds?: number;
  log?: Logger;
}

const ALLOWED_USAGES: Record<string, string[]> = {
  [CLIENT_SIGNER]: ['digital signature', 'key encipherment', 'client auth'],
  [SERVING_SIGNER]: ['digital signature', 'key encipherment', 'server auth'],
};

/** Why a node CSR may not be auto-approved ('' when it may). */
export function approvalProblem(csr: Csr, parsed: auth.ParsedCsr): string {
  const { signerName, usages = [], username = '', groups = [] } = csr.spec;
  const needed = signerName === CLIENT_SIGNER ? 'client auth' : 'server auth';
  if (!usages.includes(needed) || usages.some((u) => !ALLOWED_USAGES[signerName].includes(u)))
    return `usages must include "${needed}" and be among ${ALLOWED_USAGES[signerName].join(', ')}`;
  if (!/^system:node:[a-z0-9.-]+$/.test(parsed.commonName)) return 'the subject must be CN=system:node:<node name>';
  if (parsed.organizations.length !== 1 || parsed.organizations[0] !== 'system:nodes')
    return 'the subject must have exactly O=system:nodes';
  if (signerName === CLIENT_SIGNER) {
    if (parsed.dnsNames.length || parsed.ipAddresses.length)
      return 'a client certificate has no subject alternative names';
    if (groups.includes(BOOTSTRAPPERS) || username === parsed.commonName) return '';
    return `only a bootstrapping node (group ${BOOTSTRAPPERS}) or the node itself may ask`;
  }
  if (!parsed.dnsNames.length && !parsed.ipAddresses.length)
    return 'a serving certificate needs subject alternative names';
  return username === parsed.commonName ? '' : 'only the node itself may ask for its serving certificate';
}

/** kube-controller-manager's check of a kube-apiserver-client request's usages ('' when valid). */
function apiserverClientUsageProblem(usages: string[]): string {
  for (const u of usages)
    if (u !== 'digital signature' && u !== 'key encipherment' && u !== 'client auth')
      return `invalid usage for client certificate: ${u}`;
  return usages.includes('client auth') ? '' : 'missing required usage for client certificate: client auth';
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export class NodeCsrController {
  private informer: Informer<Csr>;
  private pending = new Set<string>();
  private running = false;
  private readonly maxSeconds: number;

  constructor(
    private client: KubeClient,
    private o: SignerOptions,
  ) {
    this.maxSeconds = o.maxSeconds ?? 365 * 86_400;
    const enqueue = (c: Csr) => this.enqueue(c.metadata.name ?? '');
    this.informer = new Informer<Csr>(
      client,
      CSR_REF,
      { add: enqueue, update: (_o, c) => enqueue(c) },
      { log: o.log, transform: (x) => x as unknown as Csr },
    );
  }

  start(): Promise<void> {
    return this.informer.start();
  }
  stop(): void {
    this.informer.stop();
  }

  private enqueue(name: string): void {
    if (!name) return;
    this.pending.add(name);
    if (this.running) return;
    this.running = true;
    void (async () => {
      while (this.pending.size) {
        const [next] = this.pending;
        this.pending.delete(next);
        const csr = this.informer.get(next);
        if (csr)
          await this.handle(csr).catch((e) =>
            this.o.log?.warn('csr: handling failed', { csr: next, error: e instanceof Error ? e.message : String(e) }),
          );
      }
      this.running = false;
    })();
  }

  private async handle(csr: Csr): Promise<void> {
    const { signerName } = csr.spec;
    if (signerName !== CLIENT_SIGNER && signerName !== SERVING_SIGNER && signerName !== APISERVER_CLIENT_SIGNER) return;
    const name = csr.metadata.name!;
    const path = `/apis/certificates.k8s.io/v1/certificatesigningrequests/${encodeURIComponent(name)}`;
    const pendingHere = (c: Csr) =>
      !c.status?.certificate && !c.status?.conditions?.some((x) => x.type !== 'Approved' && x.status === 'True');
    if (!pendingHere(csr)) return;
    // The cache may trail this controller's own last write: act on the stored object.
    csr = await this.client.request<Csr>('GET', path);
    if (!pendingHere(csr)) return;
    const conds = csr.status?.conditions ?? [];
    const has = (t: string) => conds.some((c) => c.type === t && c.status === 'True');
    let parsed: auth.ParsedCsr;
    try {
      parsed = auth.parseCsr(Buffer.from(csr.spec.request, 'base64').toString('utf8'));
    } catch (e) {
      await this.setStatus(path, csr, 'status', {
        conditions: [...conds, this.condition('Failed', 'SignerValidationFailure', (e as Error).message)],
      });
      return;
    }
    if (signerName === APISERVER_CLIENT_SIGNER) {
      if (!has('Approved')) return; // (never auto-approved: an administrator decides)
      const bad = apiserverClientUsageProblem(csr.spec.usages ?? []);
      if (bad) {
        await this.setStatus(path, csr, 'status', {
          conditions: [...conds, this.condition('Failed', 'SignerValidationFailure', bad)],
        });
        return;
      }
    } else if (!has('Approved')) {
      const problem = approvalProblem(csr, parsed);
      if (problem) {
        this.o.log?.debug('csr: not auto-approved', { csr: name, reason: problem });
        return;
      }
      const why =
        signerName === CLIENT_SIGNER && csr.spec.username !== parsed.commonName
          ? 'Auto approving kubelet client certificate after SubjectAccessReview.'
          : 'Auto approving self kubelet certificate after SubjectAccessReview.';
      csr = await this.setStatus(path, csr, 'approval', {
        conditions: [...conds, this.condition('Approved', 'AutoApproved', why)],
      });
      this.o.log?.info('csr: approved', { csr: name, subject: parsed.commonName });
    }
    const seconds = Math.min(csr.spec.expirationSeconds ?? this.maxSeconds, this.maxSeconds);
    const pem = await auth.signCsr(this.o.ca, parsed, {
      usage: signerName === SERVING_SIGNER ? 'server' : 'client',
      seconds,
    });
    await this.setStatus(path, csr, 'status', {
      ...csr.status,
      certificate: Buffer.from(pem).toString('base64'),
    });
    this.o.log?.info('csr: signed', { csr: name, subject: parsed.commonName, seconds });
  }

  private condition(type: string, reason: string, message: string) {
    const t = now();
    return { type, status: 'True', reason, message, lastUpdateTime: t, lastTransitionTime: t };
  }

  /** PUT with the object's resourceVersion: a second server doing the same gets a conflict. */
  private async setStatus(path: string, csr: Csr, sub: 'status' | 'approval', status: Csr['status']): Promise<Csr> {
    const body = { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', ...csr, status };
    return this.client.request<Csr>('PUT', `${path}/${sub}`, { body });
  }
}
