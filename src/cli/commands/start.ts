// `npm start` target: runs `skiff engine` on the default socket (unix:///run/skiff/engine.sock, data
// under /var/lib/skiff/engine) and prints how to point the docker CLI at it. The busybox image is
// imported on first start (Debian's busybox-static), so `docker run busybox …` works offline.
import { existsSync, mkdtempSync, rmSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const SOCK = '/run/skiff/engine.sock';
const ROOT = '/var/lib/skiff/engine';

export async function main(argv: string[] = []): Promise<number> {
  const { startEngine } = await import('../../engine/index.js');
  const { openImages, buildBusyboxRootfs } = await Promise.all([import('../../image/index.js'), import('../../runtime/index.js')]).then(([i, r]) => ({ ...i, ...r }));
  const images = await openImages(join(ROOT, 'image'));
  if (!(await images.store.has('busybox:latest')) && existsSync('/bin/busybox')) {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-start-'));
    try {
      buildBusyboxRootfs(join(dir, 'rootfs'));
      const { execFileSync } = await import('node:child_process');
      execFileSync('tar', ['-C', join(dir, 'rootfs'), '--numeric-owner', '-cf', join(dir, 'bb.tar'), '.']);
      await images.importRootfsTar(createReadStream(join(dir, 'bb.tar')), { ref: 'busybox:latest', changes: ['CMD ["sh"]'] });
      process.stdout.write('skiff: imported busybox:latest from /bin/busybox\n');
    } finally { rmSync(dir, { recursive: true, force: true }); }
  }
  const hosts = [`unix://${SOCK}`, ...argv.filter((a) => a.startsWith('tcp://'))];
  const engine = await startEngine({ dataRoot: ROOT, hosts });
  process.stdout.write(`skiff engine (Docker Engine API ${engine.ctx.info.apiVersion}) listening on ${engine.hosts.join(', ')}\n\n` +
    `  export DOCKER_HOST=unix://${SOCK}\n  docker run --rm busybox echo hello from skiff\n  docker run -it --rm busybox sh\n\nCtrl-C stops the engine; containers keep running under their monitors and are re-adopted on the next start.\n`);
  await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
  await engine.close();
  return 0;
}
