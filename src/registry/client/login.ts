// `docker login` for the engine's POST /auth: checks credentials against a registry's /v2/ (through
// its Basic or Bearer challenge) and decodes the Engine API's X-Registry-Auth header.
import { z } from 'zod';
import { invalidArgument } from '../../common/index.js';
import { remoteError } from './errors.js';
import { DOCKER_HUB_HOST } from './common.js';
import { RegistryTransport } from './transport.js';
import { normalizeAuthKey, type AuthConfig } from './credentials.js';

export async function loginRegistry(
  registry: string,
  o: { auth: AuthConfig; insecureRegistries?: string[]; signal?: AbortSignal },
): Promise<{ status: string }> {
  const key = normalizeAuthKey(registry || 'docker.io');
  const t = new RegistryTransport(key === 'docker.io' ? DOCKER_HUB_HOST : key, {
    auth: o.auth,
    insecureRegistries: o.insecureRegistries,
    retries: 1,
  });
  const res = await t.call('GET', '/v2/', { scopes: [], signal: o.signal });
  if (res.status !== 200) throw await remoteError(res, `login to ${key}`);
  res.drain();
  return { status: 'Login Succeeded' };
}

const RegistryAuthSchema = z
  .object({
    username: z.string().optional(),
    password: z.string().optional(),
    auth: z.string().optional(),
    email: z.string().optional(),
    serveraddress: z.string().optional(),
    identitytoken: z.string().optional(),
    registrytoken: z.string().optional(),
  })
  .passthrough();

/** Decodes `X-Registry-Auth` (base64url JSON, as the docker CLI sends it); undefined when absent/empty. */
export function parseRegistryAuthHeader(header: string | undefined): AuthConfig | undefined {
  if (!header || header.trim() === '' || header === 'e30=' || header === 'e30') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw invalidArgument('X-Registry-Auth: not base64-encoded JSON', { field: 'X-Registry-Auth' });
  }
  const r = RegistryAuthSchema.safeParse(doc);
  if (!r.success)
    throw invalidArgument(`X-Registry-Auth: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`, {
      field: 'X-Registry-Auth',
    });
  const a = r.data;
  const out: AuthConfig = {
    serveraddress: a.serveraddress,
    identitytoken: a.identitytoken,
    registrytoken: a.registrytoken,
    username: a.username,
    password: a.password,
  };
  if (a.auth && !a.username) {
    const raw = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = raw.indexOf(':');
    if (i > 0) {
      out.username = raw.slice(0, i);
      out.password = raw.slice(i + 1);
    }
  }
  for (const k of Object.keys(out) as (keyof AuthConfig)[]) if (!out[k]) delete out[k];
  return Object.keys(out).length ? out : undefined;
}
