export {
  Reference,
  parseReference,
  validateRepositoryPath,
  validateTag,
  familiarString,
  DEFAULT_DOMAIN,
  DEFAULT_TAG,
  LEGACY_DEFAULT_DOMAIN,
  OFFICIAL_REPO_PREFIX,
  PATH_RE,
  TAG_RE,
  type ParseReferenceOptions,
} from './parse.js';
