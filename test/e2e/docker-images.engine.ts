// Test helper for the images-side e2e suites: a private `skiff engine` with the images/volumes
// services and routes wired in, in its own process (unique data root, exec root, socket and cgroup
// parent); `stop()` ends it by its pid and removes everything it made.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, openSync, closeSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export interface ImagesEngine { dir: string; host: string; env: NodeJS.ProcessEnv; stop(): Promise<void> }

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The engine with the images side's services and routes wired in, as its own process. */
function launcher(dir: string, suffix: string): string {
  const src = (p: string) => JSON.stringify(join(ROOT, 'src', p));
  return `
import { startEngine } from ${src('engine/index.ts')};
import { createImagesService } from ${src('engine/services/images.ts')};
import { createVolumesService } from ${src('engine/services/volumes.ts')};
import { register as images } from ${src('engine/api/routes/images.ts')};
import { register as volumes } from ${src('engine/api/routes/volumes.ts')};
import { register as auth } from ${src('engine/api/routes/auth.ts')};
let img, vol;
const e = await startEngine({
  dataRoot: ${JSON.stringify(join(dir, 'data'))}, execRoot: ${JSON.stringify(join(dir, 'x'))},
  hosts: [${JSON.stringify(`unix://${join(dir, 'engine.sock')}`)}], cgroupParent: ${JSON.stringify(`/skiff-test-${suffix}`)},
  images: (b) => (img = createImagesService(b)), volumes: (b) => (vol = createVolumesService(b)), routes: [images, volumes, auth],
});
img.attach(e.ctx); vol.attach(e.ctx);
process.stdout.write('ready\\n');
process.once('SIGTERM', async () => { await e.close(); process.exit(0); });
`;
}

/** Starts a private engine (unique roots, socket and cgroup parent) in a child process. */
export async function startImagesEngine(): Promise<ImagesEngine> {
  const suffix = randomBytes(4).toString('hex');
  const dir = mkdtempSync(`/tmp/skei-${suffix}-`);
  const host = `unix://${join(dir, 'engine.sock')}`;
  const log = openSync(join(dir, 'engine.log'), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', launcher(dir, suffix)],
    { cwd: ROOT, stdio: ['ignore', log, log], env: { ...process.env, SKIFF_DEBUG: '1' } });
  closeSync(log);
  const deadline = Date.now() + 30_000;
  while (!readFileSync(join(dir, 'engine.log'), 'utf8').includes('ready')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`engine did not start: ${readFileSync(join(dir, 'engine.log'), 'utf8').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dir, host, env: { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: join(dir, 'docker-config') },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await gone; }
      }
      for (const h of ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids']) {
        const cg = `/sys/fs/cgroup/${h}/skiff-test-${suffix}`;
        if (!existsSync(cg)) continue;
        for (const sub of readdirSync(cg, { withFileTypes: true }).filter((x) => x.isDirectory())) {
          try { for (const p of readFileSync(join(cg, sub.name, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
        }
      }
      await new Promise((r) => setTimeout(r, 200));
      const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && m.startsWith(dir)).sort((a, b) => b.length - a.length);
      for (const m of mounts) await new Promise((r) => execFile('umount', ['-l', m], () => r(undefined)));
      for (const h of ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids']) {
        const cg = `/sys/fs/cgroup/${h}/skiff-test-${suffix}`;
        if (!existsSync(cg)) continue;
        for (const sub of readdirSync(cg)) if (existsSync(join(cg, sub, 'cgroup.procs'))) await new Promise((r) => execFile('rmdir', [join(cg, sub)], () => r(undefined)));
        await new Promise((r) => execFile('rmdir', [cg], () => r(undefined)));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
