// Client-side credentials, in the docker CLI's config.json (`$DOCKER_CONFIG/config.json` or
// ~/.docker/config.json) so `skiff login` and `docker login` share them; sent to the engine as the
// base64url `X-Registry-Auth` header on pull and push.
import { readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';

interface Config {
  auths?: Record<string, { auth?: string }>;
  [k: string]: unknown;
}

export function configPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

export function loadAuthConfig(): Config {
  try {
    return JSON.parse(readFileSync(configPath(), 'utf8')) as Config;
  } catch {
    return {};
  }
}

export function saveAuthConfig(c: Config): void {
  const p = configPath();
  mkdirSync(dirname(p), { recursive: true, mode: 0o700 });
  writeFileSync(`${p}.tmp`, JSON.stringify(c, null, '\t') + '\n', { mode: 0o600 });
  renameSync(`${p}.tmp`, p);
}

/** The registry host of an image reference ("busybox" → docker.io). */
export function registryOf(ref: string): string {
  const first = ref.split('/')[0];
  return ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
    ? first
    : 'docker.io';
}

export function registryAuthHeader(ref: string): string {
  const host = registryOf(ref);
  const keys =
    host === 'docker.io'
      ? ['https://index.docker.io/v1/', 'docker.io', 'index.docker.io']
      : [host, `https://${host}`, `http://${host}`];
  const auths = loadAuthConfig().auths ?? {};
  for (const k of keys) {
    const a = auths[k]?.auth;
    if (!a) continue;
    const raw = Buffer.from(a, 'base64').toString('utf8');
    const i = raw.indexOf(':');
    return Buffer.from(
      JSON.stringify({ username: raw.slice(0, i), password: raw.slice(i + 1), serveraddress: host }),
    ).toString('base64url');
  }
  return Buffer.from('{}').toString('base64url');
}
