// OCI hooks: each runs with the container state on stdin, its own args/env, and a timeout.
import { spawn } from 'node:child_process';
import { failedPrecondition } from '../common/index.js';
import type { Hook, OciState } from '../oci/index.js';

export type HookPhase = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

export async function runHook(phase: HookPhase, hook: Hook, state: OciState): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const [argv0, ...rest] = hook.args?.length ? hook.args : [hook.path];
    const child = spawn(hook.path, rest, {
      argv0,
      env: Object.fromEntries(
        (hook.env ?? []).map((e) => {
          const i = e.indexOf('=');
          return [e.slice(0, i), e.slice(i + 1)];
        }),
      ),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      if (err.length < 4096) err += b.toString();
    });
    child.stdin!.on('error', () => {
      /* hook did not read its stdin */
    });
    child.stdin!.end(JSON.stringify(state));
    const timer = hook.timeout ? setTimeout(() => child.kill('SIGKILL'), hook.timeout * 1000) : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(failedPrecondition(`${phase} hook ${hook.path}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          failedPrecondition(
            `${phase} hook ${hook.path} ${sig ? `killed by ${sig}${sig === 'SIGKILL' && hook.timeout ? ' (timeout)' : ''}` : `exited with ${code}`}${err ? `: ${err.trim()}` : ''}`,
          ),
        );
    });
  });
}

export async function runHooks(phase: HookPhase, hooks: Hook[] | undefined, state: OciState): Promise<void> {
  for (const h of hooks ?? []) await runHook(phase, h, state);
}
