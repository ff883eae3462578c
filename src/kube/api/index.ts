// kube/api: the Kubernetes kinds Skiff serves (schemas, defaulting, validation, table printing,
// field selectors) and the helpers every Kubernetes component needs (label selectors,
// quantities, name rules, durations, cron schedules).
export type * from './types.js';
export { allResources, findResource, isVirtual } from './registry.js';

// Schemas
export {
  DEFINITIONS as definitions,
  resolveSchema,
  refName,
  closure as definitionsReachableFrom,
} from './schema/registry.js';
export { N as metaDefinitionNames } from './schema/meta.js';
export { definitionNameFor } from './schema/builder.js';

// Label selectors
export {
  parseSelector,
  matches as selectorMatches,
  selectorToString,
  fromLabelSelector,
  labelSelectorMatches,
  formatLabelSelector,
  mapSelectorMatches,
  everything as selectEverything,
  nothing as selectNothing,
} from './labels/selector.js';
export type { Selector, Requirement, LabelSelector, LabelSelectorRequirement } from './labels/selector.js';

// Quantities
export {
  parseQuantity,
  formatQuantity,
  canonicalQuantity,
  isValidQuantity,
  compareQuantity,
  quantityValue,
  quantityMilliValue,
  quantityToNumber,
} from './quantity/quantity.js';
export type { Quantity, QuantityFormat } from './quantity/quantity.js';

// Validation helpers
export {
  isDNS1123Label,
  isDNS1123Subdomain,
  isDNS1035Label,
  isQualifiedName,
  isValidLabelValue,
  isCIdentifier,
  isEnvVarName,
  isConfigMapKey,
  isValidPortNum,
  isValidPortName,
  isPathSegmentName,
  nameRuleCheck,
} from './validation/names.js';
export { validateLabels, validateAnnotations, validateLabelSelector } from './validation/fields.js';
export {
  required,
  invalid,
  notSupported,
  duplicate,
  forbidden,
  notFoundValue,
  tooLong,
  tooMany,
  goValue,
  deepEqual,
} from './validation/errors.js';

// Printing
export { humanDuration, age as translateTimestampSince } from './printing/duration.js';
export { defaultPullPolicy, qosClass } from './resources/core/pod-defaults.js';
export { podStatusCells } from './resources/core/pod-printer.js';

// Service allocation and kind-specific helpers for the server and controllers
export {
  allocateService,
  serviceAllocations,
  firstServiceIP,
  ipInCIDR,
  parseCIDR,
} from './resources/core/service-alloc.js';
export type { ServiceAllocationState } from './resources/core/service-alloc.js';
export { NODE_PORT_RANGE, formatServicePorts } from './resources/core/service.js';
export { formatEndpoints } from './resources/core/endpoints.js';
export { nodeStatus, nodeRoles } from './resources/core/node.js';
export { SECRET_TYPES } from './resources/core/secret.js';
export { defaultPodSpec, defaultPod } from './resources/core/pod-defaults.js';
export {
  validatePodSpec,
  validatePodTemplateSpec,
  validateEphemeralContainersUpdate,
} from './resources/core/pod-validation.js';
export { jobStatusCell } from './resources/batch/job.js';

// Cron schedules (CronJob controller)
export { parseCron, nextCronTime, cronError, isKnownTimeZone, parseGoDuration } from './cron/cron.js';
export type { CronSchedule } from './cron/cron.js';
export { parseComponentFlags, durationFlag, type FlagSetters } from './flags/flags.js';
export {
  objectUsage,
  matchingResources,
  matchesScopes,
  quotaScopes,
  podConstraint,
  podResources,
  podCountsCompute,
  formatUsage,
  addQuantity,
  subQuantity,
  countName,
} from './quota/usage.js';
export type { Usage } from './quota/usage.js';
