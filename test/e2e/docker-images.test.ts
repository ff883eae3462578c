// The real docker CLI (28) against a private Skiff engine for the images and volumes API: import with
// --change, images/inspect/history/tag/rmi (conflicts), push and pull with progress against a
// private distribution registry on 127.0.0.1, save/load round trip, volumes, and `docker login`
// against a registry with htpasswd.
import { test as baseTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { busyboxTar } from '../fixtures/busybox.js';
import { startDistribution, type Distribution } from '../fixtures/distribution.js';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

const test = (name: string, fn: () => Promise<void>) => baseTest(name, { timeout: 90_000 }, fn);

let E: EngineFixture & { env: NodeJS.ProcessEnv };
let reg: Distribution;
let authReg: Distribution;
let tarFile: string;

/** The busybox tar plus one file of its own, so its layer digest is unique. */
function uniqueTar(tag: string): string {
  const d = mkdtempSync(join(E.dir, 'u-'));
  writeFileSync(join(d, `unique-${tag}`), randomBytes(16).toString('hex'));
  const out = join(E.dir, `busybox-${tag}.tar`);
  copyFileSync(tarFile, out);
  execFileSync('tar', ['--append', '-f', out, '-C', d, `unique-${tag}`]);
  return out;
}

interface Res {
  code: number;
  stdout: string;
  stderr: string;
}
function docker(args: string[], o: { input?: string } = {}): Promise<Res> {
  return new Promise((resolve) => {
    const child = execFile(
      'docker',
      args,
      { env: E.env, timeout: 60_000, maxBuffer: 1 << 28 },
      (err, stdout, stderr) => {
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
    if (o.input !== undefined) child.stdin!.end(o.input);
    else child.stdin!.end();
  });
}
async function ok(args: string[], o: { input?: string } = {}): Promise<string> {
  const r = await docker(args, o);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  const f = await startEngine({ seed: false });
  E = Object.assign(f, { env: { ...process.env, DOCKER_HOST: f.host, DOCKER_CONFIG: join(f.dir, 'docker-config') } });
  reg = await startDistribution();
  authReg = await startDistribution({ htpasswd: `alice:${bcrypt.hashSync('s3cret', 10)}\n` });
  tarFile = busyboxTar(join(E.dir, 'busybox.tar'));
});

after(async () => {
  await E?.stop();
  await reg?.stop();
  await authReg?.stop();
});

test('docker import with --change and --message, then images/inspect/history', async () => {
  const out = await ok([
    'import',
    '--change',
    'CMD ["sh", "-c", "echo imported"]',
    '--change',
    'ENV FOO=bar',
    '-m',
    'from a test',
    tarFile,
    'bb:v1',
  ]);
  const id = out.trim();
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  const list = await ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
  assert.match(list, new RegExp(`^bb:v1 ${id.slice(7, 19)}$`, 'm'));
  const ins = JSON.parse(await ok(['image', 'inspect', 'bb:v1']))[0];
  assert.equal(ins.Id, id);
  assert.deepEqual(ins.RepoTags, ['bb:v1']);
  assert.deepEqual(ins.Config.Cmd, ['sh', '-c', 'echo imported']);
  assert.ok(ins.Config.Env.includes('FOO=bar'));
  assert.equal(ins.Comment, 'from a test');
  assert.equal(ins.Os, 'linux');
  assert.equal(ins.RootFS.Layers.length, 1);
  // Lookup by id prefix and by full id.
  assert.equal(JSON.parse(await ok(['image', 'inspect', id.slice(7, 19)]))[0].Id, id);
  const hist = await ok(['history', '--no-trunc', '--format', '{{.ID}} {{.Comment}}', 'bb:v1']);
  assert.match(hist, new RegExp(`^${id} from a test$`, 'm'));
});

test('tag, rmi rules: untag keeps the image, conflicts with containers, delete by id', async () => {
  const id = (await ok(['import', tarFile, 'rmtest:one'])).trim();
  await ok(['tag', 'rmtest:one', 'rmtest:two']);
  await ok(['tag', 'rmtest:one', 'other/repo:x']);
  let out = await ok(['rmi', 'rmtest:two']);
  assert.match(out, /Untagged: rmtest:two/);
  assert.doesNotMatch(out, /Deleted/);
  // By id while tagged in two repositories: must be forced.
  let r = await docker(['rmi', id.slice(7, 19)]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /conflict: unable to delete [a-f0-9]{12} \(must be forced\) - image is referenced in multiple repositories/,
  );
  await ok(['rmi', 'other/repo:x']);
  // A stopped container uses it.
  const cid = (await ok(['create', 'rmtest:one', 'true'])).trim();
  r = await docker(['rmi', id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\(must be forced\) - image is being used by stopped container/);
  await ok(['rm', cid]);
  out = await ok(['rmi', 'rmtest:one']);
  assert.match(out, /Untagged: rmtest:one/);
  assert.match(out, new RegExp(`Deleted: ${id}`));
  r = await docker(['image', 'inspect', id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /No such image/);
  r = await docker(['rmi', 'nope:nope']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /No such image: nope:nope/);
});

test('push to and pull from a private registry with progress; run the pulled image', async () => {
  const ref = `${reg.host}/skiff/bb:p1`;
  await ok(['import', '--change', 'CMD ["echo", "pulled"]', uniqueTar('p1'), ref]);
  const pushed = await ok(['push', ref]);
  assert.match(pushed, new RegExp(`The push refers to repository \\[${reg.host}/skiff/bb\\]`));
  assert.match(pushed, /p1: digest: sha256:[a-f0-9]{64} size: \d+/);
  const pushedDigest = /digest: (sha256:[a-f0-9]{64})/.exec(pushed)![1];
  // docker-py's inspect_distribution: the registry's descriptor and platform (the engine once had no
  // /distribution route: 404 "page not found")
  const dist = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const rq = request({ socketPath: E.socket, path: `/v1.45/distribution/${ref}/json` }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    rq.on('error', reject);
    rq.end();
  });
  assert.equal(dist.status, 200, dist.body);
  const dj = JSON.parse(dist.body) as { Descriptor: { digest: string }; Platforms: { os: string }[] };
  assert.equal(dj.Descriptor.digest, pushedDigest);
  assert.deepEqual(
    dj.Platforms.map((p) => p.os),
    ['linux'],
  );
  await ok(['rmi', ref]);
  const pulled = await ok(['pull', ref]);
  assert.match(pulled, /p1: Pulling from skiff\/bb/);
  assert.match(pulled, /Pull complete/);
  assert.match(pulled, new RegExp(`Digest: ${pushedDigest}`));
  assert.match(pulled, new RegExp(`Status: Downloaded newer image for ${ref}`));
  const again = await ok(['pull', ref]);
  assert.match(again, new RegExp(`Status: Image is up to date for ${ref}`));
  const ins = JSON.parse(await ok(['image', 'inspect', ref]))[0];
  assert.deepEqual(ins.RepoDigests, [`${reg.host}/skiff/bb@${pushedDigest}`]);
  // Pull by digest.
  await ok(['pull', `${reg.host}/skiff/bb@${pushedDigest}`]);
  // Unknown repository / tag: 404 printed by the CLI, exit code 1.
  const r = await docker(['pull', `${reg.host}/skiff/nope:latest`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not found|unknown/i);
  // docker create pulls a missing image (404 "No such image" on create, then /images/create).
  await ok(['rmi', '-f', ref]);
  const c = await docker(['create', ref]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /Unable to find image/);
  assert.match(c.stderr, /Downloaded newer image/);
  await ok(['rm', c.stdout.trim()]);
});

baseTest('containers run from imported and pulled images', { timeout: 60_000 }, async () => {
  const ref = `${reg.host}/skiff/run:1`;
  await ok(['import', '--change', 'CMD ["sh", "-c", "echo from-image"]', uniqueTar('run'), ref]);
  await ok(['push', ref]);
  await ok(['rmi', ref]);
  const cid = (await ok(['create', ref])).trim();
  const out = await ok(['start', '-a', cid]);
  assert.equal(out.trim(), 'from-image');
  await ok(['rm', cid]);
});

test('save and load round trip', async () => {
  const id = (await ok(['import', tarFile, 'saved:one'])).trim();
  const file = join(E.dir, 'saved.tar');
  await ok(['save', '-o', file, 'saved:one']);
  assert.ok(statSync(file).size > 100_000);
  await ok(['rmi', 'saved:one']);
  const out = await ok(['load', '-i', file]);
  assert.match(out, /Loaded image: saved:one/);
  assert.equal(JSON.parse(await ok(['image', 'inspect', 'saved:one']))[0].Id, id);
});

test('image prune removes dangling images only; -a removes unused ones', async () => {
  const a = (await ok(['import', tarFile, 'prune:a'])).trim();
  await ok(['import', '--change', 'ENV X=1', tarFile, 'prune:a']); // moves the tag: a is dangling now
  const dangling = await ok(['images', '-q', '--no-trunc', '--filter', 'dangling=true']);
  assert.ok(dangling.includes(a), dangling);
  const out = await ok(['image', 'prune', '-f']);
  assert.match(out, new RegExp(`deleted: ${a}`));
  assert.ok((await ok(['image', 'inspect', 'prune:a'])).includes('X=1'));
  const keep = (await ok(['create', 'prune:a', 'true'])).trim();
  const out2 = await ok(['image', 'prune', '-a', '-f']);
  assert.doesNotMatch(out2, /prune:a/);
  await ok(['image', 'inspect', 'prune:a']);
  await ok(['rm', keep]);
});

test('volumes: create, ls with filters, inspect, in-use rm conflict, prune', async () => {
  const name = `vol-${randomBytes(3).toString('hex')}`;
  await ok(['volume', 'create', '--label', 'team=blue', name]);
  const ls = await ok(['volume', 'ls', '--format', '{{.Name}}', '--filter', 'label=team=blue']);
  assert.deepEqual(ls.trim().split('\n'), [name]);
  const v = JSON.parse(await ok(['volume', 'inspect', name]))[0];
  assert.equal(v.Driver, 'local');
  assert.equal(v.Scope, 'local');
  assert.deepEqual(v.Labels, { team: 'blue' });
  assert.ok(existsSync(v.Mountpoint));
  const bad = await docker(['volume', 'create', 'bad/name']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid characters/);
  // rm while a container uses it is refused.
  await ok(['import', tarFile, 'volbb:latest']);
  const cid = (await ok(['create', '-v', `${name}:/data`, 'volbb', 'sh', '-c', 'echo hi > /data/f'])).trim();
  const inUse = await docker(['volume', 'rm', name]);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, /volume is in use/);
  await ok(['rm', cid]);
  // prune: anonymous volumes only by default, all unused with --all.
  await ok(['volume', 'prune', '-f']);
  assert.ok((await ok(['volume', 'ls', '-q'])).includes(name));
  const pr = await ok(['volume', 'prune', '-a', '-f']);
  assert.match(pr, new RegExp(name));
  const gone = await docker(['volume', 'inspect', name]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no such volume/);
});

test('docker login against a registry with htpasswd; push with the stored credentials', async () => {
  const bad = await docker(['login', '-u', 'alice', '--password-stdin', authReg.host], { input: 'wrong\n' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr + bad.stdout, /unauthorized|401|failed/i);
  const good = await ok(['login', '-u', 'alice', '--password-stdin', authReg.host], { input: 's3cret\n' });
  assert.match(good, /Login Succeeded/);
  const ref = `${authReg.host}/private/bb:1`;
  await ok(['import', tarFile, ref]);
  const pushed = await ok(['push', ref]);
  assert.match(pushed, /1: digest: sha256:/);
  await ok(['logout', authReg.host]);
  await ok(['rmi', ref]);
  // The engine remembers the login made through POST /auth, so a pull without credentials works too.
  const pulled = await ok(['pull', ref]);
  assert.match(pulled, /Downloaded newer image/);
});

test('dockerode and the Python docker SDK: pull, list, inspect, volumes', async () => {
  const ref = `${reg.host}/sdk/bb:1`;
  await ok(['import', uniqueTar('sdk'), ref]);
  await ok(['push', ref]);
  await ok(['rmi', ref]);
  const { default: Docker } = await import('dockerode');
  const d = new Docker({ socketPath: E.host.slice('unix://'.length) });
  const stream = await d.pull(ref);
  const events: { status?: string }[] = await new Promise((res, rej) =>
    d.modem.followProgress(stream, (err: Error | null, out: { status?: string }[]) => (err ? rej(err) : res(out))),
  );
  assert.ok(
    events.some((e) => e.status?.startsWith('Status: Downloaded newer image')),
    JSON.stringify(events),
  );
  const list = await d.listImages({ filters: { reference: [`${reg.host}/sdk/*`] } });
  assert.deepEqual(
    list.map((i) => i.RepoTags),
    [[ref]],
  );
  const info = await d.getImage(ref).inspect();
  assert.equal(info.Id, list[0].Id);
  const vname = `sdkvol-${randomBytes(3).toString('hex')}`;
  await d.createVolume({ Name: vname, Labels: { via: 'dockerode' } });
  assert.equal((await d.getVolume(vname).inspect()).Labels.via, 'dockerode');
  await d.getVolume(vname).remove();

  const py = `
import docker, json, sys
c = docker.DockerClient(base_url=${JSON.stringify(E.host)})
img = c.images.get(${JSON.stringify(ref)})
v = c.volumes.create(name="py-${randomBytes(3).toString('hex')}", labels={"via": "python"})
names = [x.name for x in c.volumes.list(filters={"label": "via=python"})]
v.remove()
print(json.dumps({"id": img.id, "tags": img.tags, "vol": v.name in names, "n": len(c.images.list())}))
`;
  const out = await new Promise<string>((res, rej) =>
    execFile('python3', ['-c', py], { env: E.env, timeout: 60_000 }, (e, so, se) =>
      e ? rej(new Error(String(se))) : res(String(so)),
    ),
  );
  const r = JSON.parse(out) as { id: string; tags: string[]; vol: boolean; n: number };
  assert.equal(r.id, info.Id);
  assert.deepEqual(r.tags, [ref]);
  assert.equal(r.vol, true);
  assert.ok(r.n >= 1);
});

test('malformed image and volume requests get 4xx naming the field; the engine stays up', async () => {
  const { request } = await import('node:http');
  const call = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          socketPath: E.host.slice('unix://'.length),
          method,
          path,
          headers: { 'Content-Type': 'application/json', ...headers },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const cases: [string, string, string | undefined, Record<string, string>, number, RegExp][] = [
    ['POST', '/v1.45/images/create', undefined, {}, 400, /fromImage/],
    ['POST', '/images/create?fromImage=UPPER/Case', undefined, {}, 400, /invalid reference format/],
    ['POST', '/images/create?fromImage=busybox&tag=bad%20tag', undefined, {}, 400, /invalid tag/],
    ['POST', '/images/create?fromImage=busybox&platform=a%2Fb%2Fc%2Fd', undefined, {}, 400, /platform/],
    ['POST', '/images/create?fromSrc=ftp://x/y', undefined, {}, 400, /fromSrc/],
    [
      'POST',
      `/images/create?fromImage=${reg.host}/x/y`,
      undefined,
      { 'X-Registry-Auth': '%%%' },
      400,
      /X-Registry-Auth/,
    ],
    ['GET', '/images/json?filters=%7Bnot-json', undefined, {}, 400, /filters/],
    ['GET', '/images/json?filters=%7B%22bogus%22%3A%5B%221%22%5D%7D', undefined, {}, 400, /Invalid filter 'bogus'/],
    ['POST', '/images/busybox/tag', undefined, {}, 400, /repo/],
    ['POST', '/images/nothere/tag?repo=x', undefined, {}, 404, /No such image/],
    ['POST', '/volumes/create', '[1,2]', {}, 400, /body/],
    ['POST', '/volumes/create', '{"Name":"x","Labels":{"a":1}}', {}, 400, /Labels\.a/],
    ['POST', '/volumes/create', '{"Name":"x","DriverOpts":{"zz":"1"}}', {}, 400, /create x: invalid option: "zz"/],
    ['POST', '/volumes/create', '{not json', {}, 400, /invalid JSON/],
    ['POST', '/images/load', 'this is not a tar', { 'Content-Type': 'application/x-tar' }, 400, /./],
    ['POST', '/auth', '{"username":5}', {}, 400, /username/],
    ['GET', '/images/search?term=x', undefined, {}, 501, /search/],
  ];
  for (const [m, p, body, h, status, re] of cases) {
    const r = await call(m, p, body, h);
    assert.equal(r.status, status, `${m} ${p}: ${r.status} ${r.text}`);
    assert.match(JSON.parse(r.text).message, re, `${m} ${p}`);
  }
  assert.equal((await call('GET', '/_ping')).text, 'OK');
});
