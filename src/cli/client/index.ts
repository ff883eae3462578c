// The client side of the Docker Engine API for `skiff` verbs: connection, flags, output.
import { Client, ApiError } from './http.js';
import { UsageError } from './args.js';

export { Client, ApiError, resolveHost, readAll, eachJson, demux, DEFAULT_HOST } from './http.js';
export { parse, str, list, filtersJson, UsageError, type Spec } from './args.js';
export { displayJsonMessages, bar } from './progress.js';
export { table, humanDuration, ago, size, shortId, render, printRows } from './format.js';
export { registryAuthHeader, loadAuthConfig, saveAuthConfig } from './auth.js';

/** Runs a verb: prints daemon errors as the docker CLI does and maps them to its exit codes. */
export async function runVerb(
  fn: () => Promise<number | void>,
  o: { usageCode?: number; errorCode?: number } = {},
): Promise<number> {
  try {
    return (await fn()) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\nSee 'skiff --help'.\n`);
      return o.usageCode ?? 125;
    }
    if (e instanceof ApiError) {
      process.stderr.write(e.status === 0 ? `${e.message}\n` : `Error response from daemon: ${e.message}\n`);
      return o.errorCode ?? 1;
    }
    throw e;
  }
}

export function client(host: unknown): Client {
  return new Client(typeof host === 'string' ? host : undefined);
}
export { pumpAttach, proxyResize, type AttachOptions } from './attach.js';
