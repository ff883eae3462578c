// Image references, parsed and normalised as the Docker CLI does ("busybox" →
// "docker.io/library/busybox:latest"). Grammar from the distribution reference spec:
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [ domain "/" ] path-component { "/" path-component }
// The first component is a domain only if it contains "." or ":" or is "localhost" (or has
// uppercase letters, which a path component may not); otherwise the domain is docker.io and a
// single-component path gets "library/". Errors name the part that is wrong.
import { invalidArgument } from '../../common/index.js';
import { parseDigest } from '../digest.js';

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
export const NAME_TOTAL_LENGTH_MAX = 255;

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
/** A repository path ("library/busybox"): lowercase components separated by "/". */
export const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
export const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const ANCHORED_ID_RE = /^[a-f0-9]{64}$/;

export class Reference {
  constructor(
    readonly domain: string,
    /** Repository path within the domain, e.g. "library/busybox". */
    readonly path: string,
    /** Absent only when a digest was given without a tag (`name@sha256:…`). */
    readonly tag?: string,
    readonly digest?: string,
  ) {}

  /** Fully qualified repository name: "docker.io/library/busybox". */
  get name(): string {
    return `${this.domain}/${this.path}`;
  }

  /** Docker's short form of the name: "busybox", "user/app", "host:5000/app". */
  familiarName(): string {
    if (this.domain !== DEFAULT_DOMAIN) return this.name;
    if (this.path.startsWith(OFFICIAL_REPO_PREFIX) && !this.path.slice(OFFICIAL_REPO_PREFIX.length).includes('/')) {
      return this.path.slice(OFFICIAL_REPO_PREFIX.length);
    }
    return this.path;
  }

  /** Short form with tag and digest: "busybox:latest", "busybox@sha256:…". */
  familiarString(): string {
    return this.familiarName() + (this.tag ? `:${this.tag}` : '') + (this.digest ? `@${this.digest}` : '');
  }

  /** Canonical form: "docker.io/library/busybox:latest[@sha256:…]". */
  toString(): string {
    return this.name + (this.tag ? `:${this.tag}` : '') + (this.digest ? `@${this.digest}` : '');
  }

  /** What to ask a registry for: the digest when pinned, else the tag. */
  get object(): string {
    return this.digest ?? this.tag ?? DEFAULT_TAG;
  }

  withTag(tag: string): Reference {
    if (!TAG_RE.test(tag))
      throw invalidArgument(
        `invalid tag ${JSON.stringify(tag)}: use up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'`,
        { field: 'tag' },
      );
    return new Reference(this.domain, this.path, tag, undefined);
  }

  withDigest(digest: string): Reference {
    parseDigest(digest, 'digest');
    return new Reference(this.domain, this.path, undefined, digest);
  }

  toJSON(): string {
    return this.toString();
  }
}

function bad(ref: string, what: string, field = 'reference'): Error {
  return invalidArgument(`invalid reference format ${JSON.stringify(ref)}: ${what}`, { field });
}

export interface ParseReferenceOptions {
  /** Add tag "latest" when neither tag nor digest is given (Docker's TagNameOnly). Default true. */
  defaultTag?: boolean;
}

/** Parses a reference as `docker pull` does; errors name the bad part. */
export function parseReference(input: string, opts: ParseReferenceOptions = {}): Reference {
  if (typeof input !== 'string' || input.length === 0) throw bad(String(input ?? ''), 'reference is empty');
  if (ANCHORED_ID_RE.test(input)) {
    throw bad(input, 'repository name cannot be a 64-character hexadecimal string (that is an image id)');
  }
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest, 'digest');
    } catch (e) {
      throw bad(
        input,
        `digest ${JSON.stringify(digest)} is invalid: ${(e as Error).message.replace(/^digest: /, '')}`,
        'digest',
      );
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) {
      throw bad(
        input,
        `tag ${JSON.stringify(tag)} is invalid: use up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'`,
        'tag',
      );
    }
  }
  if (rest.length === 0) throw bad(input, 'repository name is empty');
  const { domain, path } = splitDomain(input, rest);
  const ref = new Reference(domain, path, tag, digest);
  if (ref.name.length > NAME_TOTAL_LENGTH_MAX) {
    throw bad(input, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`, 'name');
  }
  if (!tag && !digest && opts.defaultTag !== false) return new Reference(domain, path, DEFAULT_TAG);
  return ref;
}

function splitDomain(input: string, name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  let domain: string;
  let path: string;
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(slash + 1);
    if (!DOMAIN_RE.test(domain)) throw bad(input, `registry domain ${JSON.stringify(domain)} is invalid`, 'domain');
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path.length === 0) throw bad(input, 'repository name must have at least one path component', 'name');
  if (path.toLowerCase() !== path)
    throw bad(input, `repository name ${JSON.stringify(path)} must be lowercase`, 'name');
  if (!PATH_RE.test(path)) {
    const badPart = path.split('/').find((c) => !new RegExp(`^${PATH_COMPONENT}$`).test(c));
    throw bad(
      input,
      `repository name component ${JSON.stringify(badPart ?? path)} is invalid: use lowercase letters, digits and single separators (., _, __, -)`,
      'name',
    );
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
}

/** Validates a repository path as the registry API receives it ("library/busybox"). */
export function validateRepositoryPath(path: string, field = 'name'): string {
  if (typeof path !== 'string' || !PATH_RE.test(path) || path.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalidArgument(
      `invalid repository name ${JSON.stringify(path)}: lowercase components [a-z0-9] joined by ., _, __ or - and separated by /`,
      { field },
    );
  }
  return path;
}

/** Validates a tag. */
export function validateTag(tag: string, field = 'tag'): string {
  if (typeof tag !== 'string' || !TAG_RE.test(tag)) {
    throw invalidArgument(
      `invalid tag ${JSON.stringify(tag)}: use up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'`,
      { field },
    );
  }
  return tag;
}

/** Docker's `FamiliarString` of any reference string. */
export function familiarString(ref: string): string {
  return parseReference(ref, { defaultTag: false }).familiarString();
}
