// Image store end to end on the real file system: docker import, unpack into both snapshotters,
// GC with leases, docker save/load and OCI layout round trips, and interop with skopeo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  rmSync,
  createReadStream,
  createWriteStream,
  readdirSync,
  existsSync,
  readFileSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable, PassThrough } from 'node:stream';
import {
  openImages,
  OverlaySnapshotter,
  NativeSnapshotter,
  garbageCollect,
  saveDockerArchive,
  saveOciArchive,
  loadArchive,
  mountAll,
  unmount,
  isDigest,
  sha256Digest,
  MediaType,
  type Images,
} from '../../src/image/index.js';
import { isSkiffError } from '../../src/common/index.js';
import { busyboxTar } from '../fixtures/busybox.js';
import { makeTarGz } from './image-fixtures.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'skiff-imgstore-'));

async function importBusybox(images: Images, dir: string, ref = 'busybox:latest') {
  const tar = busyboxTar(join(dir, `bb-${Math.random().toString(36).slice(2)}.tar`));
  return images.importRootfsTar(createReadStream(tar), {
    ref,
    changes: [
      'CMD ["sh"]',
      'ENV A=b C="d e"',
      'WORKDIR /root',
      'EXPOSE 80 53/udp',
      'USER daemon',
      'LABEL org.x=y',
      'ENTRYPOINT ["/bin/busybox"]',
    ],
  });
}

function tarDir(dir: string): Readable {
  const child = spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Read at once: node discards an unread child stdout when the child exits.
  return child.stdout.pipe(new PassThrough({ highWaterMark: 64 << 20 }));
}

test('docker import with changes, then unpack into overlay and native snapshotters', async () => {
  const dir = tmp();
  try {
    const images = await openImages(join(dir, 'images'));
    const img = await importBusybox(images, dir);
    assert.equal(img.record.name, 'docker.io/library/busybox:latest');
    const c = img.config.config!;
    assert.deepEqual(c.Cmd, ['sh']);
    assert.deepEqual(c.Entrypoint, ['/bin/busybox']);
    assert.deepEqual(c.Env, ['A=b', 'C=d e']);
    assert.equal(c.WorkingDir, '/root');
    assert.deepEqual(Object.keys(c.ExposedPorts ?? {}).sort(), ['53/udp', '80/tcp']);
    assert.equal(c.User, 'daemon');
    assert.deepEqual(c.Labels, { 'org.x': 'y' });
    assert.equal(img.config.history?.[0].comment, 'Imported from -');
    assert.equal(img.manifest.layers[0].digest, img.config.rootfs.diff_ids[0]);
    assert.ok(isDigest(img.id));
    assert.equal((await images.resolve(img.id.slice(7, 19))).id, img.id); // short image id
    await assert.rejects(images.importRootfsTar(Readable.from([Buffer.from('not a tar at all'.repeat(100))])), /tar/);
    await assert.rejects(
      images.importRootfsTar(Readable.from([Buffer.alloc(0)]), { changes: ['RUN rm -rf /'] }),
      /RUN is not a valid change/,
    );

    for (const sn of [
      await new OverlaySnapshotter(join(dir, 'ov')).init(),
      await new NativeSnapshotter(join(dir, 'nat')).init(),
    ]) {
      const chain = await images.unpack('busybox', sn);
      assert.equal(chain, img.config.rootfs.diff_ids[0]);
      assert.equal(await images.unpack('busybox', sn), chain); // once only
      const keys: string[] = [];
      for await (const i of sn.walk()) keys.push(i.name);
      assert.deepEqual(keys, [chain]);
      await sn.view('check', chain);
      const target = mkdtempSync(join(tmpdir(), 'skiff-imgmnt-'));
      await mountAll(await sn.mounts('check'), target);
      try {
        assert.ok(existsSync(join(target, 'bin/busybox')));
        assert.ok(readFileSync(join(target, 'etc/passwd'), 'utf8').startsWith('root:'));
      } finally {
        await unmount(target);
        rmSync(target, { recursive: true });
      }
      await sn.remove('check');
      const info = await images.content.info(img.configDesc.digest);
      assert.equal(info.labels[`containerd.io/gc.ref.snapshot.${sn.name}`], chain);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('garbage collection honours references, leases and snapshot labels', async () => {
  const dir = tmp();
  try {
    const images = await openImages(join(dir, 'images'));
    const sn = await new OverlaySnapshotter(join(dir, 'ov')).init();
    const layer = await makeTarGz([{ name: 'hello', data: 'world' }]);
    const layerDigest = await images.content.put(layer);
    const { createGunzip } = await import('node:zlib');
    const diffId = sha256Digest(
      await new Promise<Buffer>((res) => {
        const z = createGunzip();
        const ch: Buffer[] = [];
        z.on('data', (c) => ch.push(c));
        z.on('end', () => res(Buffer.concat(ch)));
        z.end(layer);
      }),
    );
    const img = await images.storeImage(
      { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } },
      [{ mediaType: MediaType.OciLayerGzip, digest: layerDigest, size: layer.length }],
      'app:v1',
    );
    const chain = await images.unpack('app:v1', sn);
    await sn.prepare('container-1', chain); // a container's layer is always kept
    const garbage = await images.content.put(Buffer.from('garbage'));
    const lease = await images.leases.create();
    const leased = await images.content.put(Buffer.from('in flight'));
    await images.leases.addResource(lease.id, { type: 'content', id: leased });
    const w = await images.content.writer('stale-ingest');
    await w.write(Buffer.from('partial'));
    await w.close();
    const w2 = await images.content.writer('leased-ingest');
    await w2.write(Buffer.from('partial'));
    await w2.close();
    await images.leases.addResource(lease.id, { type: 'ingest', id: 'leased-ingest' });
    const gcOpts = {
      content: images.content,
      images: images.store,
      leases: images.leases,
      snapshotters: [sn],
      ingestMaxAgeMs: 0,
    };

    const r1 = await garbageCollect(gcOpts);
    assert.deepEqual(r1.removedContent, [garbage]);
    assert.deepEqual(r1.removedIngests, ['stale-ingest']);
    assert.deepEqual(r1.removedSnapshots, []);
    for (const d of [layerDigest, img.configDesc.digest, img.manifestDesc.digest, leased])
      assert.ok(await images.content.has(d), d);

    // Drop the lease and the image: everything but the container's chain goes.
    await images.leases.delete(lease.id);
    await images.delete('app:v1');
    const r2 = await garbageCollect(gcOpts);
    assert.deepEqual(
      new Set(r2.removedContent),
      new Set([layerDigest, img.configDesc.digest, img.manifestDesc.digest, leased]),
    );
    assert.deepEqual(r2.removedIngests, ['leased-ingest']);
    assert.deepEqual(r2.removedSnapshots, []); // still the parent of container-1
    await sn.remove('container-1');
    const r3 = await garbageCollect(gcOpts);
    assert.deepEqual(r3.removedSnapshots, [{ snapshotter: 'overlayfs', key: chain }]);
    assert.deepEqual(readdirSync(join(dir, 'images/content/blobs/sha256')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('docker save / load and OCI layout round trips; skopeo reads and writes them', async () => {
  const dir = tmp();
  try {
    const a = await openImages(join(dir, 'a'));
    const img = await importBusybox(a, dir, 'example.com/tools/busybox:1.0');
    const saved = join(dir, 'save.tar');
    await saveDockerArchive(a, ['example.com/tools/busybox:1.0'], createWriteStream(saved));
    const list = execFileSync('tar', ['-tf', saved], { encoding: 'utf8' }).split('\n');
    for (const f of ['manifest.json', 'repositories', 'index.json', 'oci-layout', `blobs/sha256/${img.id.slice(7)}`])
      assert.ok(list.includes(f), f);
    const mj = JSON.parse(execFileSync('tar', ['-xOf', saved, 'manifest.json'], { encoding: 'utf8' }));
    assert.deepEqual(mj[0].RepoTags, ['example.com/tools/busybox:1.0']);

    const b = await openImages(join(dir, 'b'));
    execFileSync('gzip', ['-k', '-1', saved]); // docker load also takes a compressed archive
    const loaded = await loadArchive(b, createReadStream(`${saved}.gz`));
    assert.deepEqual(
      loaded.map((l) => [l.name, l.id]),
      [['example.com/tools/busybox:1.0', img.id]],
    );
    const bi = await b.resolve('example.com/tools/busybox:1.0');
    assert.deepEqual(bi.config.rootfs.diff_ids, img.config.rootfs.diff_ids);
    assert.equal(
      await b.unpack('example.com/tools/busybox:1.0', await new NativeSnapshotter(join(dir, 'nat')).init()),
      img.config.rootfs.diff_ids[0],
    );

    // OCI layout archive round trip keeps the manifest digest.
    const oci = join(dir, 'oci.tar');
    await saveOciArchive(a, ['example.com/tools/busybox:1.0'], createWriteStream(oci));
    const c = await openImages(join(dir, 'c'));
    const lo = await loadArchive(c, createReadStream(oci));
    assert.deepEqual(
      lo.map((l) => [l.name, l.manifestDigest, l.id]),
      [['example.com/tools/busybox:1.0', img.manifestDesc.digest, img.id]],
    );

    // skopeo reads both archives…
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${oci}`], { encoding: 'utf8' }));
    assert.equal(inspect.Digest, img.manifestDesc.digest);
    assert.deepEqual(inspect.Layers, [img.manifest.layers[0].digest]);
    const raw = JSON.parse(
      execFileSync('skopeo', ['inspect', '--config', `docker-archive:${saved}`], { encoding: 'utf8' }),
    );
    assert.deepEqual(raw.rootfs.diff_ids, img.config.rootfs.diff_ids);
    // …and an OCI layout that skopeo wrote from our docker archive loads back.
    const layout = join(dir, 'layout');
    execFileSync('skopeo', ['copy', '--quiet', `docker-archive:${saved}`, `oci:${layout}:1.0`]);
    const d = await openImages(join(dir, 'd'));
    const ls = await loadArchive(d, tarDir(layout), { repository: 'example.com/tools/busybox' });
    assert.equal(ls.length, 1);
    assert.equal(ls[0].name, 'example.com/tools/busybox:1.0');
    const di = await d.resolve('example.com/tools/busybox:1.0');
    assert.deepEqual(di.config.rootfs.diff_ids, img.config.rootfs.diff_ids);
    assert.equal(
      await d.unpack('example.com/tools/busybox:1.0', await new OverlaySnapshotter(join(dir, 'ov')).init()),
      img.config.rootfs.diff_ids[0],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad archives are rejected naming what is wrong, and leave no image behind', async () => {
  const dir = tmp();
  try {
    const a = await openImages(join(dir, 'a'));
    const img = await importBusybox(a, dir);
    const saved = join(dir, 'save.tar');
    await saveDockerArchive(a, ['busybox'], createWriteStream(saved));
    // Corrupt the config blob's bytes (same length): its name no longer matches its digest.
    const x = join(dir, 'x');
    mkdirSync(x);
    execFileSync('tar', ['-C', x, '-xf', saved]);
    const cfg = join(x, 'blobs/sha256', img.id.slice(7));
    const bytes = readFileSync(cfg);
    bytes[bytes.length - 2] ^= 1;
    writeFileSync(cfg, bytes);
    const b = await openImages(join(dir, 'b'));
    await assert.rejects(
      loadArchive(b, tarDir(x)),
      (e: Error) =>
        isSkiffError(e, 'InvalidArgument') && /blobs\/sha256\/[a-f0-9]{64}.*digest mismatch/.test(e.message),
    );
    assert.deepEqual(await b.store.list(), []);
    // A manifest.json naming a layer the archive lacks.
    rmSync(x, { recursive: true });
    mkdirSync(x);
    execFileSync('tar', ['-C', x, '-xf', saved]);
    rmSync(join(x, 'blobs/sha256', img.config.rootfs.diff_ids[0].slice(7)));
    await assert.rejects(loadArchive(b, tarDir(x)), /layer 0 of image 0 .* is missing/);
    assert.deepEqual(await b.store.list(), []);
    await assert.rejects(loadArchive(b, Readable.from([Buffer.alloc(1024)])), /neither manifest.json/);
    await assert.rejects(
      a.resolve('nosuch:image'),
      (e) => isSkiffError(e, 'NotFound') && /No such image/.test((e as Error).message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('garbage collection keeps leased snapshots with their parents and removes the rest leaf first', async () => {
  const dir = tmp();
  try {
    const images = await openImages(join(dir, 'images'));
    const sn = await new NativeSnapshotter(join(dir, 'nat')).init();
    for (const [name, parent] of [
      ['a', undefined],
      ['b', 'a'],
      ['c', 'b'],
      ['x', undefined],
      ['y', 'x'],
    ] as const) {
      await sn.prepare(`k-${name}`, parent);
      await sn.commit(name, `k-${name}`);
    }
    const lease = await images.leases.create();
    await images.leases.addResource(lease.id, { type: 'snapshot', id: 'b', snapshotter: 'native' });
    const expired = await images.leases.create({ expiresInMs: 1 });
    await images.leases.addResource(expired.id, { type: 'snapshot', id: 'y', snapshotter: 'native' });
    await new Promise((r) => setTimeout(r, 5));
    const r = await garbageCollect({
      content: images.content,
      images: images.store,
      leases: images.leases,
      snapshotters: [sn],
    });
    assert.deepEqual(
      r.removedSnapshots.map((s) => s.key),
      ['c', 'y', 'x'],
    );
    const left: string[] = [];
    for await (const i of sn.walk()) left.push(i.name);
    assert.deepEqual(left.sort(), ['a', 'b']);
    assert.deepEqual(
      (await images.leases.list()).map((l) => l.id),
      [lease.id],
    ); // the expired lease is gone
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
