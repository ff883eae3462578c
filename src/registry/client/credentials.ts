// Registry credentials: explicit ones (the Engine API's X-Registry-Auth shape), else a Docker-style
// config.json (`auths` entries with base64 `auth` or username/password, or an `identitytoken`).
// The file is $DOCKER_CONFIG/config.json, else ~/.docker/config.json, unless a path is given.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { invalidArgument } from '../../common/index.js';

export interface AuthConfig {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (Docker's identity token). */
  identitytoken?: string;
  /** A bearer token to send as is. */
  registrytoken?: string;
  serveraddress?: string;
}

const EntrySchema = z
  .object({
    auth: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    identitytoken: z.string().optional(),
    registrytoken: z.string().optional(),
  })
  .passthrough();
const ConfigSchema = z.object({ auths: z.record(z.string(), EntrySchema).optional() }).passthrough();

export function dockerConfigPath(explicit?: string): string {
  if (explicit) return explicit;
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** "https://index.docker.io/v1/" → "docker.io"; "http://host:5000/x" → "host:5000". */
export function normalizeAuthKey(key: string): string {
  let k = key.replace(/^[a-z]+:\/\//i, '');
  k = k.split('/')[0].toLowerCase();
  if (k === 'index.docker.io' || k === 'registry-1.docker.io' || k === 'docker.io') return 'docker.io';
  return k;
}

/** Credentials for `registry` (a reference domain such as "docker.io" or "127.0.0.1:5000"). */
export function credentialsFromDockerConfig(registry: string, path?: string): AuthConfig | undefined {
  const file = dockerConfigPath(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let parsed;
  try {
    parsed = ConfigSchema.safeParse(JSON.parse(text));
  } catch (e) {
    throw invalidArgument(`${file}: not valid JSON: ${(e as Error).message}`, { field: 'config.json' });
  }
  if (!parsed.success)
    throw invalidArgument(`${file}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`, {
      field: 'auths',
    });
  const want = normalizeAuthKey(registry);
  for (const [key, e] of Object.entries(parsed.data.auths ?? {})) {
    if (normalizeAuthKey(key) !== want) continue;
    const out: AuthConfig = { serveraddress: key };
    if (e.auth) {
      const raw = Buffer.from(e.auth, 'base64').toString('utf8');
      const i = raw.indexOf(':');
      if (i < 0)
        throw invalidArgument(`${file}: auths.${key}.auth: want base64 of "user:password"`, {
          field: `auths.${key}.auth`,
        });
      out.username = raw.slice(0, i);
      out.password = raw.slice(i + 1);
    }
    if (e.username) out.username = e.username;
    if (e.password) out.password = e.password;
    if (e.identitytoken) out.identitytoken = e.identitytoken;
    if (e.registrytoken) out.registrytoken = e.registrytoken;
    return out;
  }
  return undefined;
}
