// htpasswd (bcrypt) credentials, as distribution's `auth.htpasswd`. Verifying bcrypt costs tens of
// milliseconds, so a successful (user, password) pair is remembered until the file changes; a
// registry answers thousands of authenticated requests per image.
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

export class Htpasswd {
  private users = new Map<string, string>();
  private mtime = -1;
  private checkedAt = 0;
  private ok = new Set<string>();
  constructor(readonly file: string) {}

  private async reload(): Promise<void> {
    if (Date.now() - this.checkedAt < 1000) return;
    this.checkedAt = Date.now();
    const st = await fs.stat(this.file);
    if (st.mtimeMs === this.mtime) return;
    const users = new Map<string, string>();
    for (const line of (await fs.readFile(this.file, 'utf8')).split('\n')) {
      const t = line.trim();
      if (!t || t.startsWith('#')) continue;
      const i = t.indexOf(':');
      if (i > 0) users.set(t.slice(0, i), t.slice(i + 1));
    }
    this.users = users;
    this.mtime = st.mtimeMs;
    this.ok.clear();
  }

  async verify(user: string, password: string): Promise<boolean> {
    await this.reload();
    const hash = this.users.get(user);
    if (!hash || !/^\$2[abxy]?\$/.test(hash)) return false;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    if (this.ok.has(key)) return true;
    const good = await bcrypt.compare(password, hash);
    if (good) this.ok.add(key);
    return good;
  }
}

/** Parses `Authorization: Basic …` into user and password. */
export function parseBasic(h: string | undefined): { user: string; password: string } | undefined {
  if (!h || !/^basic /i.test(h)) return undefined;
  const raw = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const i = raw.indexOf(':');
  return i < 0 ? undefined : { user: raw.slice(0, i), password: raw.slice(i + 1) };
}
