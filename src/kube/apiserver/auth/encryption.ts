// Secrets encrypted at rest, in the shape of upstream's aesgcm provider: a stored value is
// `k8s:enc:aesgcm:v1:<keyname>:` + 12-byte random nonce + AES-256-GCM ciphertext + 16-byte tag.
// The storage key (e.g. `/registry/secrets/ns/name`) is the additional authenticated data, so a
// value copied under another key does not decrypt. Values without the prefix (written before
// encryption was on) pass through unchanged; they are encrypted on their next write.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, dirname } from 'node:path';
import { failedPrecondition, internal, invalidArgument, randomSuffix } from '../../../common/index.js';
import { fsyncDir } from './files.js';

const PREFIX = 'k8s:enc:aesgcm:v1:';
const NONCE = 12;
const TAG = 16;
export const DEFAULT_KEY_NAME = 'skiff';

export function encryptionKeyPath(dataDir: string): string {
  return join(dataDir, 'pki', 'encryption.key');
}

function parseKeyFile(text: string, path: string): Uint8Array {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32 || key.toString('base64') !== text.trim()) {
    throw failedPrecondition(`encryption key ${path} must hold 32 bytes, base64-encoded on one line`, { field: path });
  }
  return new Uint8Array(key);
}

/** Reads DATA/pki/encryption.key, creating it (32 random bytes, base64, 0600) on first use.
 *  Creation is atomic and never replaces an existing key, even when two processes race. */
export async function loadOrCreateEncryptionKey(dataDir: string): Promise<Uint8Array> {
  const path = encryptionKeyPath(dataDir);
  try {
    return parseKeyFile(await fs.readFile(path, 'utf8'), path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${randomSuffix()}`;
  await fs.writeFile(tmp, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  try {
    const fh = await fs.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.link(tmp, path); // fails with EEXIST if another process made the key first
    await fsyncDir(dirname(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return parseKeyFile(await fs.readFile(path, 'utf8'), path);
}

export interface SecretTransformer {
  /** Encrypts a value to be stored under `storageKey`. */
  encrypt(plain: Uint8Array, storageKey: string): Uint8Array;
  /** Decrypts a stored value; values without the prefix are returned as they are. */
  decrypt(stored: Uint8Array, storageKey: string): Uint8Array;
  /** Whether a stored value is in the encrypted format (any key name). */
  isEncrypted(stored: Uint8Array): boolean;
}

export interface TransformerOptions {
  /** Name recorded in the prefix (default `skiff`). */
  name?: string;
  /** Older keys still accepted for decryption (key rotation): name → key. */
  previous?: { name: string; key: Uint8Array }[];
}

function startsWith(buf: Uint8Array, prefix: Buffer): boolean {
  if (buf.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

export function createSecretTransformer(key: Uint8Array, opts: TransformerOptions = {}): SecretTransformer {
  const keys = new Map<string, Uint8Array>();
  const name = opts.name ?? DEFAULT_KEY_NAME;
  for (const k of [{ name, key }, ...(opts.previous ?? [])]) {
    if (!/^[A-Za-z0-9._-]+$/.test(k.name))
      throw invalidArgument(`encryption key name "${k.name}" may hold only letters, digits, '.', '_' and '-'`, {
        field: 'name',
      });
    if (k.key.length !== 32)
      throw invalidArgument(`encryption key "${k.name}" must be 32 bytes (AES-256), got ${k.key.length}`, {
        field: 'key',
      });
    if (!keys.has(k.name)) keys.set(k.name, k.key);
  }
  const anyPrefix = Buffer.from(PREFIX);
  const ownPrefix = Buffer.from(`${PREFIX}${name}:`);

  return {
    encrypt(plain, storageKey) {
      const nonce = randomBytes(NONCE);
      const c = createCipheriv('aes-256-gcm', key, nonce);
      c.setAAD(Buffer.from(storageKey));
      const body = Buffer.concat([c.update(plain), c.final()]);
      return new Uint8Array(Buffer.concat([ownPrefix, nonce, body, c.getAuthTag()]));
    },
    decrypt(stored, storageKey) {
      if (!startsWith(stored, anyPrefix)) return stored;
      const buf = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
      const colon = buf.indexOf(0x3a, anyPrefix.length);
      const keyName = colon < 0 ? '' : buf.subarray(anyPrefix.length, colon).toString();
      const k = keys.get(keyName);
      if (!k)
        throw internal(`cannot decrypt the value stored at ${storageKey}: no encryption key named "${keyName}"`, {
          reason: 'DecryptionFailed',
        });
      const data = buf.subarray(colon + 1);
      if (data.length < NONCE + TAG)
        throw internal(`cannot decrypt the value stored at ${storageKey}: it is truncated`, {
          reason: 'DecryptionFailed',
        });
      try {
        const d = createDecipheriv('aes-256-gcm', k, data.subarray(0, NONCE));
        d.setAAD(Buffer.from(storageKey));
        d.setAuthTag(data.subarray(data.length - TAG));
        return new Uint8Array(Buffer.concat([d.update(data.subarray(NONCE, data.length - TAG)), d.final()]));
      } catch (e) {
        throw internal(
          `cannot decrypt the value stored at ${storageKey}: authentication failed (tampered, corrupted, or stored under another key)`,
          { reason: 'DecryptionFailed', cause: e },
        );
      }
    },
    isEncrypted: (stored) => startsWith(stored, anyPrefix),
  };
}
