// POST /auth (`docker login`): checks the credentials against the registry's /v2/ endpoint.
import { z } from 'zod';
import { invalidArgument, isSkiffError, SkiffError } from '../../../common/index.js';
import type { Router } from '../router.js';
import type { AuthBackend } from '../backends.js';

const AuthBody = z
  .object({
    username: z.string().optional(),
    password: z.string().optional(),
    serveraddress: z.string().optional(),
    identitytoken: z.string().optional(),
    registrytoken: z.string().optional(),
    email: z.string().optional(),
    auth: z.string().optional(),
  })
  .passthrough();

export function register(r: Router, backend: AuthBackend): void {
  r.post('/auth', async (q) => {
    const parsed = AuthBody.safeParse((await q.json()) ?? {});
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw invalidArgument(`${i?.path.join('.') || 'body'}: ${i?.message}`, { field: i?.path.join('.') || 'body' });
    }
    const b = parsed.data;
    let { username, password } = b;
    if (b.auth && !username) {
      const raw = Buffer.from(b.auth, 'base64').toString('utf8');
      const i = raw.indexOf(':');
      if (i > 0) {
        username = raw.slice(0, i);
        password = raw.slice(i + 1);
      }
    }
    try {
      return await backend.login({
        username,
        password,
        identitytoken: b.identitytoken,
        registrytoken: b.registrytoken,
        serveraddress: b.serveraddress,
      });
    } catch (e) {
      if (isSkiffError(e) && (e.reason === 'UNAUTHORIZED' || e.reason === 'DENIED')) {
        throw new SkiffError(
          'FailedPrecondition',
          `login attempt to ${b.serveraddress ?? 'docker.io'} failed: ${e.message}`,
          { cause: e, reason: 'Unauthorized' },
        );
      }
      throw e;
    }
  });
}
