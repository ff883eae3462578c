// Air-gapped preload through the CLI, as a k3s user does it: the real dockerd's `docker save`
// archive and skopeo's `oci-archive:` copy of it (zstd-compressed) in a directory given to
// `skiff start --images-dir`, beside a truncated archive. The node comes up, says what it imported
// and what it could not, the images are the same (ids as dockerd's) on the engine's Docker API, a
// pod runs one with `imagePullPolicy: Never`, and after a restart (with a copy in AGENT_DIR/images)
// nothing is imported again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDockerd } from '../fixtures/dockerd.js';
import { startSkiff, type SkiffStart } from '../fixtures/skiff-start.js';

test('skiff start --images-dir imports a real docker save and a skopeo OCI archive once', async () => {
  const dir = mkdtempSync('/tmp/skiff-preload-slow-');
  const dockerd = await startDockerd();
  let s: SkiffStart | undefined;
  try {
    dockerd.importBusybox('preload/bb:v1');
    const saved = join(dir, 'images', 'bb.tar');
    mkdirSync(join(dir, 'images'));
    dockerd.docker(['save', '-o', saved, 'preload/bb:v1']);
    const id = dockerd.docker(['image', 'inspect', '-f', '{{.Id}}', 'preload/bb:v1']).trim();
    const oci = join(dir, 'oci.tar');
    execFileSync('skopeo', [
      '--insecure-policy',
      'copy',
      '--quiet',
      `docker-archive:${saved}`,
      `oci-archive:${oci}:preload/oci:v2`,
    ]);
    execFileSync('zstd', ['-q', '-1', oci, '-o', join(dir, 'images', 'oci.tar.zst')]);
    writeFileSync(join(dir, 'images', 'broken.tar.gz'), readFileSync(saved).subarray(0, 3000)); // not gzip
    s = await startSkiff({ extraArgs: ['--images-dir', join(dir, 'images')] });
    const out = s.output();
    assert.match(out, /skiff: images: imported preload\/bb:v1 from .*\/bb\.tar \(sha256:/);
    assert.match(out, /skiff: images: imported preload\/oci:v2 from .*\/oci\.tar\.zst/);
    assert.match(out, /skiff: images: .*broken\.tar\.gz: not imported: /);
    const docker = (args: string[]) =>
      execFileSync('docker', ['-H', `unix://${s!.engineSock}`, ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(docker(['image', 'inspect', '-f', '{{.Id}}', 'preload/bb:v1']).trim(), id);
    // skopeo rewrote the config as an OCI config: the id is that config's digest.
    const raw = JSON.parse(
      execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${oci}:preload/oci:v2`], { encoding: 'utf8' }),
    ) as { config: { digest: string } };
    assert.equal(docker(['image', 'inspect', '-f', '{{.Id}}', 'preload/oci:v2']).trim(), raw.config.digest);

    await s.apply(`apiVersion: v1
kind: Pod
metadata: {name: preloaded, namespace: default}
spec:
  restartPolicy: Never
  containers:
  - {name: main, image: preload/oci:v2, imagePullPolicy: Never, command: ["sh", "-c", "echo from-preloaded-image"]}
`);
    await s.k(['wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/preloaded', '--timeout=90s'], {
      timeoutMs: 100_000,
    });
    assert.match(await s.k(['logs', 'preloaded']), /from-preloaded-image/);

    // Restart with the same archive also in AGENT_DIR/images: known by content, not imported again.
    mkdirSync(join(s.dir, 'agent', 'images'), { recursive: true });
    copyFileSync(saved, join(s.dir, 'agent', 'images', 'same.tar'));
    await s.killAndRestart();
    const again = s.output();
    assert.doesNotMatch(again, /skiff: images: imported/);
    assert.match(again, /skiff: images: .*\/agent\/images\/same\.tar: already imported \(sha256:.*preload\/bb:v1\)/);
    assert.match(again, /skiff: images: .*\/oci\.tar\.zst: already imported/);
    assert.match(again, /broken\.tar\.gz: not imported: /);
  } finally {
    if (s) assert.deepEqual(await s.stop(), []);
    await dockerd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
