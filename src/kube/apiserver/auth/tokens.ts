// Static bearer tokens, in upstream's `--token-auth-file` CSV format: one line per token,
// `token,user,uid,"group1,group2"` (the groups column optional, quoted when it holds commas).
// Hand-written: four columns with one optional quoted field do not warrant a CSV dependency.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { invalidArgument } from '../../../common/index.js';
import { writeFileAtomic, readIfExists } from './files.js';

export interface StaticToken {
  token: string;
  user: string;
  uid: string;
  groups: string[];
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) throw invalidArgument('unterminated quote');
  out.push(cur);
  return out;
}

/** Parses a token file; `file` names it in errors. Blank lines and `#` comments are ignored. */
export function parseTokenFile(text: string, file = 'token file'): StaticToken[] {
  const out: StaticToken[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith('#')) continue;
    let cols: string[];
    try {
      cols = splitCsvLine(line);
    } catch (e) {
      throw invalidArgument(`${file}:${i + 1}: ${(e as Error).message}`, { field: `${file}:${i + 1}` });
    }
    const [token, user, uid, groups] = cols.map((c) => c.trim());
    if (!token || !user) {
      throw invalidArgument(`${file}:${i + 1}: a line needs at least "token,user"`, { field: `${file}:${i + 1}` });
    }
    out.push({
      token,
      user,
      uid: uid ?? '',
      groups: groups
        ? groups
            .split(',')
            .map((g) => g.trim())
            .filter(Boolean)
        : [],
    });
  }
  return out;
}

export function formatTokenFile(tokens: StaticToken[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return tokens.map((t) => [t.token, t.user, t.uid, t.groups.join(',')].map(q).join(',')).join('\n') + '\n';
}

/** A random token in the style of upstream bootstrap tokens: 32 bytes, base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export async function readTokenFile(path: string): Promise<StaticToken[]> {
  const text = await readIfExists(path);
  return text === undefined ? [] : parseTokenFile(text, path);
}

/** Adds (or replaces, by user name) a token in the file, atomically; returns the new token. */
export async function addStaticToken(
  path: string,
  entry: Omit<StaticToken, 'token'> & { token?: string },
): Promise<string> {
  const tokens = (await readTokenFile(path)).filter((t) => t.user !== entry.user);
  const token = entry.token ?? newToken();
  if (/[\s,"]/.test(token))
    throw invalidArgument('a token may not contain whitespace, commas or quotes', { field: 'token' });
  tokens.push({ ...entry, token });
  await writeFileAtomic(path, formatTokenFile(tokens), 0o600);
  return token;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Token lookup that re-reads the file when it changes (checked at most once a second) and compares
 *  tokens through their SHA-256 so lookups take the same time whatever prefix matches. */
export class TokenTable {
  private byDigest = new Map<string, StaticToken>();
  private stamp = '';
  private checkedAt = 0;
  constructor(
    private readonly path: string,
    /** Told when the file cannot be parsed; the previous tokens stay in force meanwhile. */
    private readonly onError: (message: string) => void = () => {},
    private readonly clock: () => number = Date.now,
  ) {}

  async lookup(token: string): Promise<StaticToken | undefined> {
    await this.refresh();
    const d = digest(token);
    const hit = this.byDigest.get(d.toString('hex'));
    // The map key is already a digest; the extra compare keeps the check explicit.
    return hit && timingSafeEqual(digest(hit.token), d) ? hit : undefined;
  }

  private async refresh(): Promise<void> {
    const now = this.clock();
    if (now - this.checkedAt < 1000 && this.stamp) return;
    this.checkedAt = now;
    let stamp: string;
    try {
      const st = await fs.stat(this.path);
      stamp = `${st.ino}:${st.mtimeMs}:${st.size}`; // atomic replaces change the inode
    } catch {
      this.byDigest.clear();
      this.stamp = 'missing';
      return;
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    let tokens: StaticToken[];
    try {
      tokens = await readTokenFile(this.path);
    } catch (e) {
      // A bad edit must not turn every request into a 500 or lock everyone out: keep the old table.
      this.onError(`ignoring unreadable token file: ${(e as Error).message}`);
      return;
    }
    this.byDigest = new Map(tokens.map((t) => [digest(t.token).toString('hex'), t]));
  }
}
