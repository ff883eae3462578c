// Unit tests of the images and volumes services over a real image store in a temp dir (no root, no
// daemon): ids and tags, rmi rules with a recording fake of the containers service, prune, filters,
// import changes, volume validation and in-use checks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { isSkiffError } from '../../common/index.js';
import { openImages, createSnapshotter } from '../../image/index.js';
import { EventBus } from '../events.js';
import type { EngineContext } from './context.js';
import { createImagesService } from './images.js';
import { createVolumesService } from './volumes.js';
import { progressBar, humanSize } from './images/progress.js';
import { busyboxTar } from '../../../test/fixtures/busybox.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-imgsvc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const users = new Map<string, { id: string; running: boolean }[]>();
async function setup() {
  const root = mkdtempSync(join(dir, 'r-'));
  const events = new EventBus();
  const ctx = {
    root,
    imageStore: await openImages(join(root, 'image')),
    snapshotter: await createSnapshotter('native', join(root, 'snap')),
    events,
    info: {
      id: 'x',
      name: 'x',
      version: '0',
      apiVersion: '1.45',
      minApiVersion: '1.24',
      startedAt: new Date(),
      cgroupParent: '/x',
    },
  } as unknown as EngineContext;
  ctx.containers = {
    imageUsers: (id: string) => (users.get(id) ?? []).map((u) => u.id),
    volumeUsers: (n: string) => (users.get(`vol:${n}`) ?? []).map((u) => u.id),
    count: () => ({ total: 0, running: 0, paused: 0, stopped: 0 }),
    get: (cid: string) => ({ State: { Running: [...users.values()].flat().some((u) => u.id === cid && u.running) } }),
  } as unknown as EngineContext['containers'];
  return { ctx, images: createImagesService(ctx), volumes: createVolumesService(ctx), events };
}
const tar = busyboxTar(join(dir, 'bb.tar'));

test('import, tag, lookup by id prefix, list filters and rmi rules', async () => {
  const { images, events } = await setup();
  const seen: string[] = [];
  events.subscribe((e) => seen.push(`${e.Type}:${e.Action}`));
  const id = await images.importTar(createReadStream(tar), {
    repo: 'bb',
    tag: 'v1',
    changes: ['CMD ["sh"]', 'LABEL team=blue'],
    message: 'm',
  });
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  assert.equal((await images.resolve('bb:v1')).id, id);
  assert.equal((await images.resolve(id.slice(7, 12))).id, id);
  await images.tag('bb:v1', 'bb', 'v2');
  await images.tag(id, 'other/x');
  const [only] = await images.list({});
  assert.deepEqual(only.RepoTags, ['bb:v1', 'bb:v2', 'other/x:latest']);
  assert.deepEqual(only.Labels, { team: 'blue' });
  assert.equal((await images.list({ label: ['team=red'] })).length, 0);
  assert.equal((await images.list({ reference: ['bb:*'] })).length, 1);
  // `docker images REPO[:TAG]`: only the matching tags of an image are listed (dockerd's FamiliarMatch).
  const refTags = async (...p: string[]) => (await images.list({ reference: p })).flatMap((x) => x.RepoTags);
  assert.deepEqual(await refTags('bb'), ['bb:v1', 'bb:v2']);
  assert.deepEqual(await refTags('bb:v2'), ['bb:v2']);
  assert.deepEqual(await refTags('other/x'), ['other/x:latest']);
  assert.deepEqual(await refTags('other/*'), ['other/x:latest']);
  assert.deepEqual(await refTags('*'), ['bb:v1', 'bb:v2'], '* does not cross a /');
  assert.deepEqual(await refTags('b?:v[12]'), ['bb:v1', 'bb:v2']);
  assert.deepEqual(await refTags('bb:v[^1]'), ['bb:v2']);
  assert.deepEqual(await refTags('bb', 'other/x:latest'), ['bb:v1', 'bb:v2', 'other/x:latest']);
  assert.deepEqual(await refTags('nope'), []);
  assert.deepEqual(await refTags('bb:v['), [], 'a malformed pattern matches nothing');
  assert.equal((await images.list({ dangling: ['true'] })).length, 0);
  await assert.rejects(
    images.list({ bogus: ['1'] }),
    (e) => isSkiffError(e, 'InvalidArgument') && /Invalid filter 'bogus'/.test(e.message),
  );
  assert.deepEqual(await images.remove('bb:v2'), [{ Untagged: 'bb:v2' }]);
  await assert.rejects(images.remove(id), /referenced in multiple repositories/);
  users.set(id, [{ id: 'c1', running: true }]);
  await assert.rejects(
    images.remove(id, { force: true }),
    /cannot be forced\) - image is being used by running container c1/,
  );
  users.set(id, [{ id: 'c2', running: false }]);
  assert.deepEqual(await images.remove('other/x'), [{ Untagged: 'other/x:latest' }]);
  await assert.rejects(
    images.remove('bb:v1'),
    (e) =>
      isSkiffError(e, 'Conflict') &&
      /unable to remove repository reference "bb:v1" \(must force\) - container c2/.test(e.message),
  );
  // Forced while a stopped container uses it: the tags go, the image stays dangling.
  const out = await images.remove(id, { force: true });
  assert.deepEqual(out, [{ Untagged: 'bb:v1' }]);
  assert.equal((await images.list({ dangling: ['true'] })).length, 1);
  users.delete(id);
  const [layer] = (await images.inspect(id)).RootFS.Layers;
  const pr = await images.prune({});
  // The image, then its layer (no other image uses it; a single layer's chain id is its diff id).
  assert.deepEqual(pr.ImagesDeleted, [{ Deleted: id }, { Deleted: layer }]);
  assert.ok(pr.SpaceReclaimed > 1_000_000, String(pr.SpaceReclaimed));
  await assert.rejects(images.resolve(id), (e) => isSkiffError(e, 'NotFound') && /No such image/.test(e.message));
  assert.ok(
    seen.includes('image:import') &&
      seen.includes('image:tag') &&
      seen.includes('image:untag') &&
      seen.includes('image:delete'),
    seen.join(),
  );
});

test('a moved tag leaves the old image dangling; bad changes are refused by field', async () => {
  const { images } = await setup();
  const a = await images.importTar(createReadStream(tar), { repo: 'm', tag: '1' });
  const b = await images.importTar(createReadStream(tar), { repo: 'm', tag: '1', changes: ['ENV X=1'] });
  assert.notEqual(a, b);
  const dangling = await images.list({ dangling: ['true'] });
  assert.deepEqual(
    dangling.map((x) => x.Id),
    [a],
  );
  await assert.rejects(
    images.importTar(createReadStream(tar), { repo: 'm', changes: ['RUN rm -rf /'] }),
    (e) => isSkiffError(e, 'InvalidArgument') && e.field === 'changes[0]',
  );
  const h = await images.history('m:1');
  assert.equal(h[0].Id, b);
  assert.deepEqual(h[0].Tags, ['m:1']);
});

test('volumes: names, options, labels filter, in-use removal, prune', async () => {
  const { volumes } = await setup();
  await assert.rejects(
    volumes.create({ Name: 'a/b' }),
    (e) => isSkiffError(e, 'InvalidArgument') && e.field === 'Name',
  );
  await assert.rejects(
    volumes.create({ Name: 'ok1', DriverOpts: { bogus: '1' } }),
    (e) => isSkiffError(e, 'InvalidArgument') && e.field === 'DriverOpts.bogus',
  );
  await assert.rejects(
    volumes.create({ Name: 'ok1', Labels: { a: 1 as unknown as string } }),
    (e) => isSkiffError(e, 'InvalidArgument') && e.field === 'Labels.a',
  );
  await assert.rejects(volumes.create({ Driver: 'nfs' }), (e) => isSkiffError(e, 'NotFound'));
  const v = await volumes.create({ Name: 'data1', Labels: { k: 'v' } });
  assert.equal((await volumes.create({ Name: 'data1' })).CreatedAt, v.CreatedAt);
  const anon = await volumes.ensure('f'.repeat(64), { anonymous: true });
  assert.equal(anon.Labels['com.docker.volume.anonymous'], '');
  assert.deepEqual(
    (await volumes.list({ label: ['k=v'] })).Volumes.map((x) => x.Name),
    ['data1'],
  );
  users.set('vol:data1', [{ id: 'c9', running: false }]);
  await assert.rejects(
    volumes.remove('data1'),
    (e) => isSkiffError(e, 'Conflict') && /volume is in use - \[c9\]/.test(e.message),
  );
  assert.deepEqual((await volumes.prune({})).VolumesDeleted, ['f'.repeat(64)]);
  assert.equal((await volumes.prune({ all: ['true'] })).VolumesDeleted, null);
  users.delete('vol:data1');
  await volumes.remove('data1');
  await assert.rejects(
    volumes.inspect('data1'),
    (e) => isSkiffError(e, 'NotFound') && /no such volume/.test(e.message),
  );
  await volumes.remove('data1', { force: true });
});

test('progress bar text as moby renders it', () => {
  assert.equal(humanSize(2_003_000), '2.003MB');
  assert.equal(humanSize(512), '512B');
  assert.equal(progressBar(50, 100), `[${'='.repeat(25)}>${' '.repeat(24)}]      50B/100B`);
  assert.equal(progressBar(100, 100), `[${'='.repeat(49)}>]     100B/100B`);
});
