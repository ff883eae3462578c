// Joining nodes (docs/multinode.md): the join token, the server's node CSR approver and signer,
// and a node's TLS bootstrap with certificate renewal.
export { NodeCsrController, approvalProblem, CLIENT_SIGNER, SERVING_SIGNER, BOOTSTRAPPERS, CSR_REF } from './signer.js';
export type { SignerOptions, Csr } from './signer.js';
export { ensureNodeToken, parseNodeToken, formatNodeToken, fetchClusterCa, caHash, TOKEN_USER } from './token.js';
export type { NodeToken } from './token.js';
export { NodeCredentials } from './bootstrap.js';
export type { NodeCredentialsOptions, Pair } from './bootstrap.js';
