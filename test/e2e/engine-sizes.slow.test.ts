// Sizes as dockerd reports them, through the real docker CLI: an image's Size is its unpacked size
// (checked against the layers of `docker save`, read independently), a container's SizeRw what it
// wrote, SizeRootFs that plus its image (`docker ps -s`, `inspect --size`, `/system/df`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let e: EngineFixture;
const sfx = Math.random().toString(16).slice(2, 8);
const n = (x: string) => `size-${x}-${sfx}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('engine-sizes e2e needs root (containers, mounts, cgroups)');
  execFileSync('docker', ['--version']);
  e = await startEngine();
});
after(async () => {
  await e?.stop();
});

function api(path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    request({ socketPath: e.socket, path }, (res) => {
      let b = '';
      res.on('data', (d) => {
        b += d;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(b));
        } catch (err) {
          reject(err);
        }
      });
    })
      .on('error', reject)
      .end();
  });
}

/** Entries of a tar buffer: name → {size, type, link target, data for small files}. */
async function tarEntries(
  buf: Buffer,
): Promise<Map<string, { size: number; type: string; linkname: string; data: Buffer }>> {
  const out = new Map<string, { size: number; type: string; linkname: string; data: Buffer }>();
  const x = extract();
  const done = new Promise<void>((res, rej) => {
    x.on('finish', res);
    x.on('error', rej);
  });
  x.on('entry', (h, s, next) => {
    const chunks: Buffer[] = [];
    s.on('data', (c) => {
      chunks.push(c as Buffer);
    });
    s.on('end', () => {
      out.set(h.name, {
        size: h.size ?? 0,
        type: h.type ?? 'file',
        linkname: h.linkname ?? '',
        data: Buffer.concat(chunks),
      });
      next();
    });
  });
  x.end(buf);
  await done;
  return out;
}

/** Unpacked size of the image's layers from `docker save` (file and symlink sizes, as dockerd's
 *  DiffSize: lstat of every non-directory, so a symlink counts its target's length). */
async function savedUnpackedSize(image: string): Promise<{ unpacked: number; stored: number }> {
  const saved = execFileSync('docker', ['save', image], {
    env: { ...process.env, DOCKER_HOST: e.host },
    maxBuffer: 256 << 20,
  });
  const files = await tarEntries(saved);
  const manifest = JSON.parse(files.get('manifest.json')!.data.toString()) as { Layers: string[] }[];
  let unpacked = 0,
    stored = 0;
  for (const l of manifest[0].Layers) {
    const raw = files.get(l)!.data;
    stored += raw.length;
    const layer = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
    for (const ent of (await tarEntries(layer)).values())
      if (ent.type === 'file' || ent.type === 'contiguous-file') unpacked += ent.size;
      else if (ent.type === 'symlink') unpacked += Buffer.byteLength(ent.linkname);
  }
  return { unpacked, stored };
}

test('image Size is the unpacked size of its layers', async () => {
  const { unpacked } = await savedUnpackedSize('busybox');
  assert.ok(unpacked > 500_000, `busybox unpacks to ${unpacked} bytes`);
  assert.equal(Number(e.docker(['image', 'inspect', 'busybox', '--format', '{{.Size}}']).trim()), unpacked);
  const listed = JSON.parse(e.docker(['images', 'busybox', '--format', '{{json .}}']).trim().split('\n')[0]) as {
    Size: string;
  };
  assert.match(listed.Size, /MB|kB/);
  const df = (await api('/system/df')) as { Images: { Id: string; Size: number }[]; LayersSize: number };
  assert.ok(
    df.Images.some((i) => i.Size === unpacked),
    'system df reports the same image size',
  );
});

test('SizeRw and SizeRootFs: docker ps -s, inspect --size and /system/df, running and stopped', async () => {
  const c = n('rw');
  const imageSize = Number(e.docker(['image', 'inspect', 'busybox', '--format', '{{.Size}}']).trim());
  e.docker([
    'run',
    '-d',
    '--name',
    c,
    'busybox',
    'sh',
    '-c',
    'head -c 123456 /dev/zero > /tmp/blob; mkdir -p /srv/d; echo hello > /srv/d/f; sleep 600',
  ]);
  try {
    for (let i = 0; i < 50 && e.dockerRaw(['exec', c, 'test', '-s', '/srv/d/f']).status !== 0; i++) await sleep(100);
    const written = 123456 + 6;
    const [rw, rootfs] = e
      .docker(['inspect', '--size', c, '--format', '{{.SizeRw}} {{.SizeRootFs}}'])
      .trim()
      .split(' ')
      .map(Number);
    assert.ok(rw >= written && rw < written + 4096, `SizeRw ${rw} for ${written} bytes written`);
    assert.equal(rootfs, rw + imageSize);
    assert.match(
      e.docker(['ps', '-s', '--filter', `name=${c}`, '--format', '{{.Size}}']).trim(),
      /^12\dkB \(virtual \d+(\.\d+)?[kM]B\)$/,
    );
    const list = (await api(
      `/containers/json?size=1&filters=${encodeURIComponent(JSON.stringify({ name: [c] }))}`,
    )) as { SizeRw: number; SizeRootFs: number }[];
    assert.equal(list[0].SizeRw, rw);
    const df = (await api('/system/df')) as { Containers: { Names: string[]; SizeRw: number; SizeRootFs: number }[] };
    const mine = df.Containers.find((x) => x.Names.includes(`/${c}`))!;
    assert.equal(mine.SizeRw, rw);
    assert.equal(mine.SizeRootFs, rw + imageSize);
    e.docker(['stop', '-t', '1', c]);
    assert.equal(
      Number(e.docker(['inspect', '--size', c, '--format', '{{.SizeRw}}']).trim()),
      rw,
      'measured on a stopped container too',
    );
    e.docker(['create', '--name', n('fresh'), 'busybox', 'true']);
    assert.equal(
      Number(e.docker(['inspect', '--size', n('fresh'), '--format', '{{.SizeRw}}']).trim()),
      0,
      'a container that wrote nothing',
    );
  } finally {
    e.dockerRaw(['rm', '-f', c, n('fresh')]);
  }
});
