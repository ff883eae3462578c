// docker-py and dockerode, differential (npm run test:slow): the calls their users make most, run
// against skiff engine and the real dockerd (test/fixtures/dockerd.ts) in the same run, compared case
// by case once ids, times, addresses and host ports are masked. docker-py: engine-clients-sweep.py
// (containers.run with detach/remove/ports/volumes/environment/working_dir/user/stdin_open+tty/
// healthcheck/restart_policy/mem_limit/nano_cpus/network, get/list(filters)/logs(stream, since, until,
// timestamps, tail)/wait(condition)/exec_run(demux, stream, workdir, environment)/put_archive/
// get_archive/stats/top/diff/commit/export, images.build(buildargs, target, labels, rm, forcerm,
// pull=False, platform)/get/tag/save/load/prune, networks.create(ipam, internal, labels)/connect(aliases)
// /disconnect, volumes.create(driver_opts)/prune, events(filters, decode), df), pinned to API 1.41
// (dockerd 20.10's) on both sides. dockerode: run with demuxed streams, exec with modem.demuxStream,
// attach, build from a tar stream, errors' statusCode and json.message. Where the two differ by
// design (dockerd 20.10 against moby 28's API 1.45 behaviour, or what only a registry decides), the
// case says why and what is still compared.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough, Readable } from 'node:stream';
import { pack } from 'tar-stream';
import Docker from 'dockerode';
import { Differential, startSides, type Side } from './engine-differential-harness.js';
import { startDistribution, type Distribution } from '../fixtures/distribution.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync('/tmp/skiff-eclients-');
const d = new Differential(tmp);
const PREFIX = `cs${Math.random().toString(16).slice(2, 6)}`;
// Each side's networks on ranges of its own (both daemons' bridges are on this host), in 10.228-229
// (no other test's range).
const third = 2 * Math.floor(Math.random() * 127);
const subnets = (i: number) => ({ SUBNET: `10.${228 + i}.${third}.0/24`, SUBNET2: `10.${228 + i}.${third + 1}.0/24` });

let sides: Awaited<ReturnType<typeof startSides>> | undefined;
let registry: Distribution | undefined;
before(async () => {
  [sides, registry] = await Promise.all([startSides(d, []), startDistribution()]);
});
after(async () => {
  if (sides) await Promise.all(d.sides.map((x, i) => sweep(x, i, ['cleanup'])));
  await sides?.stop([]);
  await registry?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function sweep(x: Side, i: number, args: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      [join(HERE, 'engine-clients-sweep.py'), ...args],
      {
        env: {
          ...process.env,
          DOCKER_HOST: x.host,
          PREFIX,
          ...subnets(i),
          REGISTRY: registry?.host ?? '',
          REPO: `${PREFIX}/${x.name}`,
        },
        timeout: 400_000,
        maxBuffer: 64 << 20,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => (err ? reject(new Error(`${x.name}: ${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

function maskView(v: unknown): string {
  return JSON.stringify(v)
    .replace(/[0-9a-f]{64}/g, '<ID>')
    .replace(/\b[0-9a-f]{12}\b/g, '<SID>')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<TIME>')
    .replace(/10\.22[89]\.\d+\./g, '10.<NET>.')
    .replace(/"HostPort":"\d+"/g, '"HostPort":"<PORT>"')
    .replace(new RegExp(PREFIX, 'g'), '<P>')
    .replace(/<P>\/(dockerd|skiff)/g, '<P>/<SIDE>')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<PORT>');
}

type Row = { case: string; ok?: unknown; err?: [string, number | null, string] };
/** Cases whose answers differ by design, and what of them is still compared. */
const KNOWN: Record<string, { why: string; view: (r: Row) => unknown }> = {
  run_missing_image: {
    why: 'the registry is unreachable offline: dockerd says 500 with Go’s dial error, skiff 503 naming the registry',
    view: (r) => r.err?.[0],
  },
  run_restart_and_remove_conflict: {
    why: 'docker-py removes while the container restarts: 409 on both, the state in the message is a race (running or restarting)',
    view: (r) => [r.err?.[0], r.err?.[1]],
  },
  wait_bad_condition: {
    why: 'dockerd 20.10 ignores an unknown wait condition; moby ≥ 23 (API 1.45) refuses it with 400 `invalid condition: "bogus"`, as skiff',
    view: () => null,
  },
  image_get_missing: {
    why: 'dockerd 20.10 repeats "no such image: X: " before moby’s message; skiff answers moby 28’s `No such image: X`',
    view: (r) => [r.err?.[0], r.err?.[1], r.err?.[2].replace(/^no such image: [^:]+:[^:]+: /, '')],
  },
  network_overlap: {
    why: 'moby’s words (`invalid pool request: Pool overlaps with other one on this address space`, 20.10 without the prefix), but 409 here (the engine’s closed error set has no 403)',
    view: (r) => [r.err?.[0], /Pool overlaps with other one on this address space/.test(r.err?.[2] ?? '')],
  },
  network_dup_and_missing: {
    why: 'dockerd 20.10 creates a second network of the same name unless CheckDuplicate; moby ≥ 25 refuses (409), as skiff',
    view: (r) => (r.ok as unknown[])[1],
  },
  df_keys: {
    why: 'BuildCache: dockerd 20.10 null, skiff [] (the build cache in system df is the wire helper’s)',
    view: (r) => ({ ...(r.ok as object), types: undefined }),
  },
  run_network_volumes: {
    why: 'DNSNames (API 1.44) is unknown to dockerd 20.10',
    view: (r) => ({ ...(r.ok as object), dns: undefined }),
  },
  network_ops: {
    why: 'the engine records the gateway it chose in IPAM.Config (its DNS server address); dockerd keeps only what was sent',
    view: (r) => ({ ...(r.ok as object), ipam_cfg: undefined }),
  },
  image_push_pull: {
    why: 'the engine pushes the OCI manifest it keeps (dockerd 20.10: Docker v2 schema 2), and names the registry’s answer after moby’s words for a missing tag',
    view: (r) => {
      const ok = r.ok as { dist_mt: string; missing: [string, number, string] } | undefined;
      if (!ok) return r;
      const [cls, status, msg] = ok.missing;
      return {
        ...ok,
        dist_mt: undefined,
        missing: [cls, status, msg.replace(/(not found: manifest unknown): .*$/, '$1')],
      };
    },
  },
  exec_variants: {
    why: 'docker-py reads the 101 headers through a buffered reader and the rest from the raw socket: a refusal written at once after the headers can be lost on either side (a client race)',
    view: (r) => ({ ...(r.ok as object), missing: (r.ok as { missing: unknown[] }).missing[0] }),
  },
};

test('docker-py sweep: the same answers from skiff and dockerd', { timeout: 600_000 }, async () => {
  const outs = await Promise.all(d.sides.map((x, i) => sweep(x, i)));
  const rows = outs.map(
    (o) =>
      new Map(
        o
          .trim()
          .split('\n')
          .map((l) => [(JSON.parse(l) as Row).case, JSON.parse(l) as Row]),
      ),
  );
  const [dd, ss] = rows;
  assert.ok(dd.size >= 40, `only ${dd.size} cases ran on dockerd`);
  assert.deepEqual([...ss.keys()], [...dd.keys()]);
  const diffs: string[] = [];
  for (const [name, dr] of dd) {
    const sr = ss.get(name)!;
    const k = KNOWN[name];
    const a = maskView(k ? k.view(dr) : dr);
    const b = maskView(k ? k.view(sr) : sr);
    if (a !== b) diffs.push(`${name}:\n  dockerd ${a}\n  skiff   ${b}`);
  }
  assert.deepEqual(diffs, []);
});

// ---- dockerode ----
const client = (x: Side) => new Docker({ socketPath: x.socket });
const collect = () => {
  const s = new PassThrough();
  let b = '';
  s.on('data', (c: Buffer) => {
    b += c.toString();
  });
  return { s, text: () => b };
};
const errView = (e: unknown) => {
  const x = e as { statusCode?: number; json?: { message?: string } | null; reason?: string };
  return { status: x.statusCode, message: x.json?.message ?? null };
};

async function dockerodeCases(x: Side): Promise<Record<string, unknown>> {
  const dk = client(x);
  const out: Record<string, unknown> = {};
  const n = (s: string) => `${PREFIX}-dode-${s}`;
  // run: demuxed stdout/stderr and the exit code
  const o = collect();
  const e = collect();
  const [res, c] = await dk.run('busybox', ['sh', '-c', 'echo to-out; echo to-err >&2; exit 7'], [o.s, e.s], {
    Tty: false,
    name: n('run'),
  });
  out.run = { code: res.StatusCode, out: o.text(), err: e.text(), state: (await c.inspect()).State.Status };
  // exec with demux through docker-modem
  const long = await dk.createContainer({ Image: 'busybox', Cmd: ['sleep', '60'], name: n('long') });
  await long.start();
  const ex = await long.exec({
    Cmd: ['sh', '-c', 'echo eo; echo ee >&2; cd; pwd; echo $V; exit 4'],
    AttachStdout: true,
    AttachStderr: true,
    Env: ['V=v1'],
    WorkingDir: '/etc',
  });
  const stream = await ex.start({ hijack: true, stdin: false });
  const xo = collect();
  const xe = collect();
  dk.modem.demuxStream(stream, xo.s, xe.s);
  await new Promise((r) => stream.on('end', r));
  let info = await ex.inspect();
  for (let i = 0; i < 50 && info.Running; i++) {
    await new Promise((r) => setTimeout(r, 100));
    info = await ex.inspect();
  }
  out.exec = { out: xo.text(), err: xe.text(), code: info.ExitCode, running: info.Running };
  // attach before start (docker-modem's hijack), demuxed
  const at = await dk.createContainer({
    Image: 'busybox',
    Cmd: ['sh', '-c', 'echo a-out; echo a-err >&2'],
    name: n('attach'),
    AttachStdout: true,
    AttachStderr: true,
  });
  const as = await at.attach({ stream: true, stdout: true, stderr: true, hijack: true });
  const ao = collect();
  const ae = collect();
  dk.modem.demuxStream(as, ao.s, ae.s);
  const ended = new Promise((r) => as.on('end', r));
  await at.start();
  const w = await at.wait();
  await ended;
  out.attach = { code: w.StatusCode, out: ao.text(), err: ae.text() };
  // build from a tar stream: buildargs, labels, the stream's JSON messages
  const p = pack();
  p.entry({ name: 'Dockerfile' }, 'FROM busybox\nARG X=d\nRUN echo "x=$X" > /x\nLABEL k=v\n');
  p.finalize();
  const bs = await dk.buildImage(Readable.from(p), {
    t: n('built:v1'),
    buildargs: { X: 'given' },
    labels: { bl: '1' },
    rm: true,
  });
  const msgs = await new Promise<Record<string, unknown>[]>((resolve, reject) =>
    dk.modem.followProgress(bs, (err: Error | null, r: Record<string, unknown>[]) => (err ? reject(err) : resolve(r))),
  );
  const img = await dk.getImage(n('built:v1')).inspect();
  out.build = {
    keys: [...new Set(msgs.flatMap((m) => Object.keys(m)))].sort(),
    tagged: msgs.some((m) => String(m.stream ?? '').startsWith('Successfully tagged')),
    labels: Object.entries(img.Config.Labels ?? {}).sort(),
  };
  const xo2 = collect();
  await dk.run(n('built:v1'), ['cat', '/x'], xo2.s, { HostConfig: { AutoRemove: true } });
  out.buildRun = xo2.text();
  // errors as dockerode surfaces them
  out.errors = {
    missingContainer: await dk
      .getContainer(n('nosuch'))
      .inspect()
      .then(() => 'ok', errView),
    startTwice: await long.start().then(() => 'ok', errView),
    badBody: await dk.createContainer({ Image: 'busybox', HostConfig: { Memory: 1024 } }).then(() => 'ok', errView),
    // dockerd 20.10 says "no such image: X: No such image: X", moby 28 and skiff the second half
    missingImage: await dk
      .getImage(n('noimg:v1'))
      .inspect()
      .then(
        () => 'ok',
        (e) => {
          const v = errView(e);
          return { ...v, message: v.message?.replace(/^no such image: [^:]+:[^:]+: /, '') };
        },
      ),
  };
  const list = await dk.listContainers({ all: true, filters: { name: [`${PREFIX}-dode-`] } });
  out.list = list.map((l) => [l.Names[0], l.State]).sort();
  for (const name of ['run', 'long', 'attach']) await dk.getContainer(n(name)).remove({ force: true });
  return out;
}

test('dockerode: run, exec and attach demuxed, build from a tar stream, errors — as dockerd', async () => {
  const [a, b] = await Promise.all(d.sides.map(dockerodeCases));
  assert.equal(maskView(b), maskView(a));
});
