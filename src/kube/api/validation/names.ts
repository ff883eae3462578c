// Name and value rules from apimachinery's util/validation: each returns the list of problems
// (empty when valid), worded as upstream so messages match kubectl users' expectations.
const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const QUALIFIED_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = `(${QUALIFIED_NAME})?`;
const C_IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const ENV_VAR = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const CONFIG_KEY = '[-._a-zA-Z0-9]+';
const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';

/** Returned when a value that must be a string is not (hooks run before schema type checks). */
const NOT_STRING = 'must be a string';

const full = (re: string) => new RegExp(`^(?:${re})$`);
const RE = {
  label: full(DNS1123_LABEL),
  subdomain: full(DNS1123_SUBDOMAIN),
  qualified: full(QUALIFIED_NAME),
  labelValue: full(LABEL_VALUE),
  cIdent: full(C_IDENT),
  env: full(ENV_VAR),
  configKey: full(CONFIG_KEY),
  dns1035: full(DNS1035_LABEL),
};

function regexError(msg: string, re: string, ...examples: string[]): string {
  let s = `${msg} (e.g. ${examples.map((e) => `'${e}'`).join(',  or ')}`;
  return `${s}, regex used for validation is '${re}')`;
}

const maxLen = (n: number) => `must be no more than ${n} characters`;

export function isDNS1123Label(v: string): string[] {
  if (typeof v !== 'string') return [NOT_STRING];
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!RE.label.test(v))
    errs.push(
      regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        DNS1123_LABEL,
        'my-name',
        '123-abc',
      ),
    );
  return errs;
}

export function isDNS1123Subdomain(v: string): string[] {
  if (typeof v !== 'string') return [NOT_STRING];
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLen(253));
  if (!RE.subdomain.test(v))
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN,
        'example.com',
      ),
    );
  return errs;
}

export function isDNS1035Label(v: string): string[] {
  if (typeof v !== 'string') return [NOT_STRING];
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!RE.dns1035.test(v))
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL,
        'my-name',
        'abc-123',
      ),
    );
  return errs;
}

/** A label key or annotation key: `[prefix/]name`, prefix a DNS subdomain, name ≤ 63. */
export function isQualifiedName(v: string): string[] {
  if (typeof v !== 'string') return [NOT_STRING];
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const [prefix] = parts;
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const e of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${e}`);
  } else {
    return [
      regexError(
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        QUALIFIED_NAME,
        'MyName',
        'my.name',
        '123-abc',
      ) + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`);
  if (name.length && !RE.qualified.test(name))
    errs.push(
      `name part ${regexError("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", QUALIFIED_NAME, 'MyName', 'my.name', '123-abc')}`,
    );
  return errs;
}

export function isValidLabelValue(v: string): string[] {
  if (typeof v !== 'string') return [NOT_STRING];
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!RE.labelValue.test(v))
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE,
        'MyValue',
        'my_value',
        '12345',
      ),
    );
  return errs;
}

export function isCIdentifier(v: string): string[] {
  if (typeof v !== 'string') return [NOT_STRING];
  return RE.cIdent.test(v)
    ? []
    : [
        regexError(
          "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'",
          C_IDENT,
          'my_name',
          'MY_NAME',
          'MyName',
        ),
      ];
}

/** Environment variable names as Pods accept them (upstream's IsEnvVarName). */
export function isEnvVarName(v: string): string[] {
  if (typeof v !== 'string') return [NOT_STRING];
  const errs: string[] = [];
  if (!RE.env.test(v))
    errs.push(
      regexError(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
        ENV_VAR,
        'my.env-name',
        'MY_ENV.NAME',
        'MyEnvName1',
      ),
    );
  errs.push(...dotErrors(v));
  return errs;
}

function dotErrors(v: string): string[] {
  if (v === '.') return ["must not be '.'"];
  if (v === '..') return ["must not be '..'"];
  if (v.startsWith('..')) return ["must not start with '..'"];
  return [];
}

/** Keys of ConfigMap/Secret data. */
export function isConfigMapKey(v: string): string[] {
  if (typeof v !== 'string') return [NOT_STRING];
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLen(253));
  if (!RE.configKey.test(v))
    errs.push(
      regexError(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        CONFIG_KEY,
        'key.name',
        'KEY_NAME',
        'key-name',
      ),
    );
  errs.push(...dotErrors(v));
  return errs;
}

export function isValidPortNum(p: unknown): string[] {
  return Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535
    ? []
    : ['must be between 1 and 65535, inclusive'];
}

/** An IANA_SVC_NAME: ≤ 15 chars, lowercase alphanumerics and '-', at least one letter. */
export function isValidPortName(v: string): string[] {
  if (typeof v !== 'string') return [NOT_STRING];
  const errs: string[] = [];
  if (v.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(v)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (v.includes('--')) errs.push('must not contain consecutive hyphens');
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)');
  if (v.startsWith('-') || v.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** A metadata.name rule by name, as ResourceDefinition.nameRule names them. */
export function nameRuleCheck(rule: 'subdomain' | 'label' | 'path' | undefined, name: string): string[] {
  if (rule === 'label') return isDNS1123Label(name);
  if (rule === 'path') return isPathSegmentName(name);
  return isDNS1123Subdomain(name);
}

export function isPathSegmentName(v: string): string[] {
  if (typeof v !== 'string') return [NOT_STRING];
  const errs: string[] = [];
  if (v === '.' || v === '..') errs.push(`may not be '${v}'`);
  for (const c of ['/', '%']) if (v.includes(c)) errs.push(`may not contain '${c}'`);
  return errs;
}
