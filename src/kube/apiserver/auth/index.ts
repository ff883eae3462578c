// Security for the Kubernetes API server: PKI and kubeconfig, authentication (client
// certificates, static tokens, service-account JWTs), RBAC authorization, Secret encryption at rest.
export {
  ensurePki,
  issueClientCertificate,
  issueServingCertificate,
  defaultHosts,
  ADMIN_USER,
  ADMIN_GROUPS,
  KUBERNETES_SERVICE_NAMES,
} from './pki.js';
export type { Pki, EnsurePkiOptions, ServiceAccountKey } from './pki.js';
export type { CertKeyPair } from './certs.js';
export { writeKubeconfig, kubeconfigObject } from './kubeconfig.js';
export type { KubeconfigOptions } from './kubeconfig.js';
export { createAuthenticator, serverTlsOptions, bearerToken, userFromCertificate } from './authn.js';
export type { Authenticator, AuthenticatorOptions, AuthRequest, TokenResult } from './authn.js';
export { addStaticToken, readTokenFile, parseTokenFile, newToken } from './tokens.js';
export type { StaticToken } from './tokens.js';
export {
  signServiceAccountToken,
  signLegacyServiceAccountToken,
  verifyServiceAccountToken,
  serviceAccountUsername,
  parseServiceAccountUsername,
  DEFAULT_ISSUER,
  LEGACY_ISSUER,
} from './serviceaccount.js';
export type { SignOptions, BoundObject, ServiceAccountLookups } from './serviceaccount.js';
export {
  ANONYMOUS,
  ANONYMOUS_USER,
  AUTHENTICATED_GROUP,
  UNAUTHENTICATED_GROUP,
  SUPERUSER_GROUP,
  SERVICE_ACCOUNTS_GROUP,
} from './user.js';
export type { UserInfo } from './user.js';
export { createRbacAuthorizer, aggregateClusterRoles, subjectMatches } from './rbac.js';
export { createCachedRbacSource } from './rbac-cache.js';
export type { CachedRbacSource, RbacKind } from './rbac-cache.js';
export { ruleAllows, uncoveredRules, describeRule, selectorMatches } from './rbac-rules.js';
export { RBAC_GROUP } from './rbac-types.js';
export type {
  Authorizer,
  RbacSource,
  RequestAttributes,
  Decision,
  ResolvedRules,
  PolicyRule,
  Role,
  ClusterRole,
  RoleBinding,
  ClusterRoleBinding,
  Subject,
  RoleRef,
  LabelSelector,
} from './rbac-types.js';
export { bootstrapPolicy, reconcileBootstrapPolicy } from './bootstrap-policy.js';
export type { PolicyReconciliation } from './bootstrap-policy.js';
export {
  reviewAccess,
  reviewRules,
  reviewSubject,
  reviewAttributes,
  forbiddenStatus,
  forbiddenMessage,
  unauthorizedStatus,
  SubjectAccessReviewSpec,
} from './review.js';
export type {
  SubjectAccessReviewStatus,
  SubjectRulesReviewStatus,
  ResourceRule,
  NonResourceRule,
  Status,
} from './review.js';
export { checkEscalation, checkRbacWrite } from './escalation.js';
export type { EscalationRequest } from './escalation.js';
export { requestAttributes } from './request-info.js';
export {
  loadOrCreateEncryptionKey,
  createSecretTransformer,
  encryptionKeyPath,
  DEFAULT_KEY_NAME,
} from './encryption.js';
export type { SecretTransformer, TransformerOptions } from './encryption.js';
export { impersonate, wantsImpersonation } from './impersonation.js';
export type { ImpersonationResult } from './impersonation.js';
export { reviewToken, requestServiceAccountToken, serviceAccountIssuerDiscovery } from './token-api.js';
export type { TokenReviewStatus, TokenRequestOptions } from './token-api.js';
export { createCsr, parseCsr, signCsr } from './csr.js';
export type { ParsedCsr } from './csr.js';
export { writeFileAtomic } from './files.js';
