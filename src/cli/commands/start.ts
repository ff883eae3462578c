// `npm start` target. Until the engine and server exist, the most complete Skiff is its OCI
// runtime: this builds a busybox bundle and runs a demo container that shows its isolation.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';

const DEMO = [
  'echo "  hostname:        $(hostname)"',
  'echo "  id:              $(id)"',
  'echo "  my pid:          $$ (PID 1 of its own pid namespace)"',
  'echo "  processes seen:  $(ls /proc | grep -c "^[0-9]")"',
  'echo "  network links (only loopback: its own network namespace):"; ip link | sed "s/^/    /"',
  'echo "  capabilities:    $(grep CapEff /proc/self/status | cut -f2)"',
  'echo "  seccomp mode:    $(grep Seccomp: /proc/self/status | cut -f2) (2 = filter)"',
].join('; ');

export async function main(): Promise<number> {
  const { Runtime, defaultSpec, buildBusyboxRootfs } = await import('../../runtime/index.js');
  process.stdout.write('skiff: DEMO — the engine and the server do not exist yet; this runs one container through\n' +
    'Skiff\'s OCI runtime (the part that exists): busybox from Debian\'s busybox-static, all namespaces,\n' +
    'Docker\'s default capabilities and seccomp profile.\n\n');
  const dir = mkdtempSync(join(tmpdir(), 'skiff-demo-'));
  const id = `skiff-demo-${randomBytes(3).toString('hex')}`;
  try {
    buildBusyboxRootfs(join(dir, 'rootfs'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(defaultSpec({ args: ['sh', '-c', DEMO], hostname: 'skiff-demo' })));
    const rt = new Runtime();
    const t = performance.now();
    process.stdout.write(`container ${id}:\n`);
    const code = await rt.run(id, dir, { stdio: ['ignore', 'inherit', 'inherit'] });
    process.stdout.write(`\nexit status ${code}; create + start + run + delete took ${(performance.now() - t).toFixed(0)} ms.\n` +
      'Try the runc-compatible CLI: ./bin/skiff-runtime --help (dockerd can use it: --add-runtime skiff=$PWD/bin/skiff-runtime)\n');
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
