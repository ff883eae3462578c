// Shared by the runtime integration suites: a busybox rootfs built once per file, bundles that
// point at it, a private state root, and a `runIn` that captures a container's output.
import {
  mkdtempSync,
  writeFileSync,
  readFileSync,
  rmSync,
  openSync,
  closeSync,
  existsSync,
  mkdirSync,
  chmodSync,
} from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Runtime, defaultSpec, type DefaultSpecOptions } from '../../src/runtime/index.js';
import { makeBusyboxRootfs } from '../fixtures/busybox.js';
import type { Spec } from '../../src/oci/index.js';

export const ROOT_DIR = process.env.SKIFF_ROOT ?? join(import.meta.dirname, '..', '..');

export interface Env {
  dir: string;
  rootfs: string;
  rt: Runtime;
  id(prefix?: string): string;
  /** A spec on the test rootfs (absolute root.path), for the library. */
  spec(mod?: (s: Spec) => void, opts?: DefaultSpecOptions): Spec;
  /** A bundle directory holding that spec as config.json, for the CLI. */
  bundle(mod?: (s: Spec) => void, opts?: DefaultSpecOptions): string;
  runIn(
    args: string[],
    mod?: (s: Spec) => void,
    o?: { stdin?: string; opts?: DefaultSpecOptions },
  ): Promise<{ code: number; out: string; err: string }>;
  cleanup(): Promise<void>;
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new Error('runtime integration tests need root (real namespaces, mounts, cgroups)');
  if (!existsSync(join(ROOT_DIR, 'native/build/skiff-init')))
    throw new Error('native/build/skiff-init missing: run npm run build');
}

export function makeEnv(): Env {
  requireRoot();
  const dir = mkdtempSync(join(tmpdir(), 'skiff-rt-'));
  chmodSync(dir, 0o755); // a user-namespaced container's root must be able to reach its rootfs
  const rootfs = makeBusyboxRootfs(join(dir, 'rootfs'));
  const rt = new Runtime({ root: join(dir, 'state') });
  const made: string[] = [];
  const env: Env = {
    dir,
    rootfs,
    rt,
    id(prefix = 't') {
      const id = `${prefix}-${randomBytes(4).toString('hex')}`;
      made.push(id);
      return id;
    },
    spec(mod, opts) {
      const spec = defaultSpec({ rootfs, ...opts });
      mod?.(spec);
      return spec;
    },
    bundle(mod, opts) {
      const b = mkdtempSync(join(dir, 'bundle-'));
      const spec = defaultSpec({ rootfs, ...opts });
      mod?.(spec);
      writeFileSync(join(b, 'config.json'), JSON.stringify(spec));
      return b;
    },
    async runIn(args, mod, o = {}) {
      const b = mkdtempSync(join(dir, 'run-'));
      const spec = env.spec((s) => {
        s.process!.args = args;
        mod?.(s);
      }, o.opts);
      const outF = join(b, 'out'),
        errF = join(b, 'err'),
        inF = join(b, 'in');
      writeFileSync(inF, o.stdin ?? '');
      const fds = [openSync(inF, 'r'), openSync(outF, 'w'), openSync(errF, 'w')];
      try {
        const code = await rt.run(env.id('run'), spec, { stdio: fds });
        return { code, out: readFileSync(outF, 'utf8'), err: readFileSync(errF, 'utf8') };
      } catch (e) {
        (e as Error).message += ` (container stderr: ${readFileSync(errF, 'utf8').trim()})`;
        throw e;
      } finally {
        fds.forEach((f) => closeSync(f));
      }
    },
    async cleanup() {
      for (const id of made) {
        try {
          await rt.delete(id, { force: true });
        } catch {
          /* already gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  mkdirSync(join(dir, 'state'), { recursive: true });
  return env;
}

export function hostMounts(): string {
  return readFileSync('/proc/self/mountinfo', 'utf8');
}

export function sleepSpec(env: Env, mod?: (s: Spec) => void, opts?: DefaultSpecOptions): Spec {
  return env.spec((s) => {
    s.process!.args = ['sleep', '300'];
    mod?.(s);
  }, opts);
}

export function noStdio(): ['ignore', 'ignore', 'ignore'] {
  return ['ignore', 'ignore', 'ignore'];
}

/** Capabilities this process can grant (its bounding set): "all capabilities" for a test. */
export function grantableCaps(all: readonly string[]): string[] {
  const bnd = BigInt('0x' + /^CapBnd:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
  return all.filter((_, i) => (bnd >> BigInt(i)) & 1n);
}
