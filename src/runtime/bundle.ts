// The OCI files, read at the runc-compatible CLI's edge only: BUNDLE/config.json, an exec's
// --process file, update's --resources. Each is parsed and checked against src/oci's schemas here,
// once; the library (Runtime) takes the typed values and trusts them.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { invalidArgument } from '../common/index.js';
import {
  parseOrThrow,
  parseSpec,
  ProcessSchema,
  ResourcesSchema,
  type LinuxResources,
  type Process,
  type Spec,
} from '../oci/index.js';

/** Reads and validates BUNDLE/config.json. */
export function loadBundle(bundle: string): { spec: Spec; bundle: string } {
  const b = resolve(bundle);
  let text: string;
  try {
    text = readFileSync(join(b, 'config.json'), 'utf8');
  } catch (e) {
    throw invalidArgument(`bundle ${b}: cannot read config.json: ${(e as Error).message}`, {
      field: 'bundle',
      cause: e,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`bundle ${b}: config.json is not valid JSON: ${(e as Error).message}`, {
      field: 'config.json',
      cause: e,
    });
  }
  return { spec: parseSpec(raw), bundle: b };
}

/** Validates an exec process (runc's --process file, or one assembled from exec's flags). */
export function parseProcess(value: unknown): Process {
  return parseOrThrow(ProcessSchema, value, 'process', 'process');
}

/** Validates update's --resources document. */
export function parseResources(value: unknown): LinuxResources {
  return parseOrThrow(ResourcesSchema, value, 'resources', 'resources');
}
