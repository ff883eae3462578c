// What runc checks inside the container before an exec's process runs — its working directory and
// the command (looked up in the process's PATH as Go's exec.LookPath does) — checked here first, from
// the host through the container's mount-aware view, so that `docker exec` of a missing command or
// into a missing directory fails at once with dockerd's message and exit code 126, instead of after
// the process was released (when the client's stream may already have ended).
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { internal } from '../../../common/index.js';
import { resolveView, type View } from './paths.js';

/** dockerd's wording of an exec that runc refused (`docker exec` prints it as is). */
const refused = (detail: string, hint = '') =>
  internal(`OCI runtime exec failed: exec failed: unable to start container process: ${detail}: unknown${hint}`, {
    field: 'Cmd',
  });

export const NOT_A_DIRECTORY_HINT =
  ': Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';

function stat(v: View, p: string) {
  try {
    return statSync(resolveView(v, p, true).host);
  } catch {
    return undefined; // missing, or not resolvable inside the view
  }
}

const executable = (v: View, p: string) => {
  const st = stat(v, p);
  return !!st && st.isFile() && (st.mode & 0o111) !== 0;
};

/** Throws dockerd's error when `cwd` is not a directory of the container or `cmd` cannot be found. */
export function checkExec(v: View, cmd: string, cwd: string, env: string[]): void {
  const dir = stat(v, cwd);
  const chdir = `chdir to cwd (${JSON.stringify(cwd)}) set in config.json failed`;
  if (!dir) throw refused(`${chdir}: no such file or directory`);
  // dockerd adds its hint to every "not a directory" of a start
  if (!dir.isDirectory()) throw refused(`${chdir}: not a directory`, NOT_A_DIRECTORY_HINT);
  if (!cmd) return;
  if (cmd.includes('/')) {
    const p = posix.resolve(cwd, cmd);
    if (!stat(v, p)) throw refused(`exec: ${JSON.stringify(cmd)}: stat ${cmd}: no such file or directory`);
    if (!executable(v, p)) throw refused(`exec: ${JSON.stringify(cmd)}: permission denied`);
    return;
  }
  const path =
    [...env]
      .reverse()
      .find((e) => e.startsWith('PATH='))
      ?.slice(5) ?? '';
  for (const d of path.split(':')) if (d && executable(v, posix.resolve(cwd, d, cmd))) return;
  throw refused(`exec: ${JSON.stringify(cmd)}: executable file not found in $PATH`);
}
