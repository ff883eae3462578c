// The engine differential, exploratory sweep (npm run test:slow): command lines a Docker user types
// that the other two files do not cover — run flags, cp edge cases, logs, exec, inspect templates,
// ps and image filters, networks, volumes, build targets and args, docker-compose, host-port
// ranges and start failures — each against skiff engine and the real dockerd, compared after masking
// (engine-differential-harness.ts). Its own pair of daemons, set up alike.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Differential, docker, sh, startSides, words, type Side } from './engine-differential-harness.js';

const tmp = mkdtempSync('/tmp/skiff-esweep-');
const d = new Differential(tmp);

const SETUP = [
  // a container with a user of its own in /etc/passwd (cp names owners from the container's files)
  "run -d --name s-own busybox sh -c 'echo zed:x:4321:4321::/:/bin/sh >> /etc/passwd; echo zgrp:x:4321: >> /etc/group; " +
    "touch /f4321 /f1000; chown 4321:4321 /f4321; chown 1000:1000 /f1000; mkdir -p /tmp/d; ln -s /tmp/d /tmp/dl; sleep 1000'",
  "run -d --name s-user --user 1000:1000 busybox sh -c 'sleep 1000'",
  'create --name s-up -m 64m busybox sleep 100',
  'tag busybox:latest img:a',
];

let sides: Awaited<ReturnType<typeof startSides>> | undefined;
before(async () => {
  sides = await startSides(d, SETUP);
});

after(async () => {
  // dockerd leaves a user network's bridge on the host when it stops: the networks go first
  if (sides) await d.both(['network', 'rm', 's-nx1', 's-nx2']);
  await sides?.stop(['s-own', 's-user', 's-up', ...d.made]);
  rmSync(tmp, { recursive: true, force: true });
});

const file = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};
/** Lines of a pipe and another pipe interleave in any order, on both sides. */
const lines = { sort: true };

describe('sweep', { concurrency: true }, () => {
  const envFile = file('envf', 'A=1\n# comment\nB=two words\nC\n');
  const labelFile = file('labf', 'l1=v1\n');
  d.cases('run flags', [
    // pids differ (runc's init processes come and go before the command's pid is taken)
    'run --rm --init busybox ps -o comm',
    'run --rm -w /nonexist/sub busybox pwd',
    'run --rm --user 1000:1000 busybox sh -c \'id; touch /tmp/x && stat -c "%u:%g %A" /tmp/x\'',
    { cmd: "run --rm --read-only --tmpfs /run busybox sh -c 'touch /run/x && echo ok; touch /y'", ...lines },
    { cmd: ['run', '--rm', '--env-file', envFile, 'busybox', 'sh', '-c', 'echo $A/$B/$C'], env: { C: 'fromhost' } },
    "run --rm --add-host hg:host-gateway busybox sh -c 'grep -c hg /etc/hosts'",
    'run --rm --dns 1.1.1.1 --dns-search example.com --dns-option ndots:3 busybox cat /etc/resolv.conf',
    "run --rm --ulimit nofile=512:1024 --ulimit nproc=100 busybox sh -c 'ulimit -n; ulimit -Hn; ulimit -u'",
    "run --rm --device /dev/null:/dev/mynull busybox sh -c 'stat -c %A /dev/mynull; echo x > /dev/mynull && echo ok'",
    'run --rm --pull never nosuchimage:v1',
    "run --rm --cap-drop ALL --cap-add CHOWN busybox sh -c 'grep CapEff /proc/self/status'",
    "run --rm --cap-add NET_ADMIN --cap-drop CHOWN busybox sh -c 'grep CapEff /proc/self/status'",
  ]);

  test('--label-file', async () => {
    await d.compare({ cmd: ['create', '--name', 's-lf', '--label-file', labelFile, 'busybox'], more: () => '' });
    d.made.push('s-lf');
    await d.compare({ cmd: "inspect -f '{{json .Config.Labels}}' s-lf" });
  });

  test('--restart on-failure:3 counts its restarts', async () => {
    d.made.push('s-rof');
    await d.compare({ cmd: 'run -d --name s-rof --restart on-failure:3 busybox false', more: () => '' });
    // both sides restart with back-off 100, 200, 400 ms: done well within 20 s, even under load
    await Promise.all(
      d.sides.map(async (x) => {
        for (let i = 0; i < 200; i++) {
          const r = await docker(x, words("inspect -f '{{.RestartCount}} {{.State.Status}}' s-rof"));
          if (r.stdout.trim() === '3 exited') return;
          await new Promise((res) => setTimeout(res, 100));
        }
      }),
    );
    await d.compare({
      cmd: "inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}} {{json .HostConfig.RestartPolicy}}' s-rof",
    });
  });

  test('--health-* until unhealthy', async () => {
    d.made.push('s-hc');
    await d.compare({
      cmd:
        "run -d --name s-hc --health-cmd 'exit 1' --health-interval 100ms --health-retries 2 --health-timeout 2s " +
        'busybox sleep 1000',
      more: () => '',
    });
    await Promise.all(
      d.sides.map(async (x) => {
        for (let i = 0; i < 300; i++) {
          const r = await docker(x, words("inspect -f '{{.State.Health.Status}}' s-hc"));
          if (r.stdout.trim() === 'unhealthy') return;
          await new Promise((res) => setTimeout(res, 100));
        }
      }),
    );
    await d.compare({ cmd: "inspect -f '{{.State.Health.Status}} {{json .Config.Healthcheck}}' s-hc" });
    await d.compare({ cmd: "ps --filter health=unhealthy --format '{{.Names}}'" });
  });

  test('docker cp: a missing dir, a dir, -a, symlinks, owner names', async () => {
    const src = join(tmp, 'cpd');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'f'), 'a\n');
    writeFileSync(join(src, 'sub', 'g'), 'b\n');
    symlinkSync('f', join(src, 'lnk'));
    chownSync(join(src, 'f'), 1234, 1234);
    for (const cmd of [
      ['cp', join(src, 'f'), 's-own:/nonexist/f'],
      ['cp', src, 's-own:/tmp/newdir'],
      ['exec', 's-own', 'sh', '-c', "stat -c '%n %u:%g %A' /tmp/newdir/f /tmp/newdir/lnk /tmp/newdir/sub"],
      ['cp', join(src, 'f'), 's-own:/tmp/dl/'],
      ['exec', 's-own', 'ls', '/tmp/d'],
      ['cp', join(src, 'sub'), 's-own:/tmp/newdir/f'],
    ])
      await d.compare({ cmd, more: (t) => t.replace(/^time=.*\n?/gm, '') });
    const both = (script: string) => Promise.all(d.sides.map((x: Side) => sh(x, script)));
    const [dd, s] = await both(
      "docker cp s-own:/f4321 - | tar tv | awk '{print $2}'; docker cp s-own:/f1000 - | tar tv | awk '{print $2}'; " +
        "docker cp s-own:/tmp/dl - | tar tv | awk '{print $1, $2}'",
    );
    assert.equal(s.stdout, dd.stdout);
    const [de, se] = await both("docker export s-own | tar tv | grep -E ' (f4321|f1000)$' | awk '{print $2, $6}'");
    assert.equal(se.stdout, de.stdout);
  });

  d.cases('logs, exec, inspect templates', [
    'logs --tail 0 s-own',
    'logs --since 1h --until 1s s-own',
    'logs --until 2000-01-01T00:00:00 s-own',
    "exec -u 1000:1000 -w /tmp -e FOO=bar s-own sh -c 'id; pwd; echo $FOO'",
    "exec -e X s-own sh -c 'echo [$X]'",
    'exec -w /etc/passwd s-own pwd',
    'exec s-own /nosuch',
    'exec -e PATH=/x s-own ls',
    "exec s-user sh -c 'id -u'",
    'inspect -f \'{{.Name}} {{.State.Running}} {{index .Config.Cmd 0}} {{printf "%q" .Path}} {{upper .Name}} {{len .Args}} {{json .HostConfig.RestartPolicy.Name}}\' s-own',
    'inspect -f \'{{join .Config.Cmd ","}} {{title "abc"}} {{split "a,b" ","}} {{lower "AB"}}\' s-own',
    "inspect --type image -f '{{.Config.Cmd}} {{.Os}}' busybox",
    'inspect --type container busybox',
    'inspect -s -f \'{{.SizeRootFs | printf "%T"}}\' s-own',
  ]);

  d.cases('ps and images: filters and formats', [
    "ps -a --filter status=running --filter name=s-own --format '{{.Names}}'",
    // (names: the other groups make containers of busybox meanwhile)
    "ps -a --filter name=s-own --filter ancestor=busybox --filter status=running --format '{{.Names}}'",
    'ps --filter volume=nosuchvol -q',
    { cmd: "ps -a --filter is-task=false --filter name=s-u --format '{{.Names}}'", ...lines },
    "ps --filter network=bridge --filter name=s-own --format '{{.Names}} {{.Networks}}'",
    "ps -a --filter publish=80 --format '{{.Names}}'",
    'ps --filter name=s-own --format \'{{.Names}} {{.Mounts}} {{.LocalVolumes}} {{.Label "x"}}\'',
    "ps -a --no-trunc --format '{{.Command}}' --filter name=s-own",
    "image ls --filter before=img:a --format '{{.Repository}}'",
    'image ls --filter label=x=1 -q',
    "image ls --filter reference='img*' --filter reference='*:a' --format '{{.Repository}}:{{.Tag}}'",
    "image ls --format '{{.Repository}} {{.Containers}} {{.SharedSize}} {{.UniqueSize}}' img",
  ]);

  test('a numeric --stop-signal', async () => {
    d.made.push('s-sig');
    for (const cmd of [
      'create --name s-sig --stop-signal 9 busybox sleep 100',
      'start s-sig',
      'stop s-sig',
      "inspect -f '{{.Config.StopSignal}} {{.State.ExitCode}}' s-sig",
    ])
      await d.compare({ cmd });
  });

  test('update, rename, pause, kill', async () => {
    for (const cmd of [
      'update --memory 32m --memory-swap 64m --cpu-shares 100 --restart always s-up',
      "inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.CpuShares}} {{.HostConfig.RestartPolicy.Name}}' s-up",
      'update --memory 1k s-up',
      'update --memory-swap 128m s-up',
      'rename s-up s-own',
      'pause s-user',
      'exec s-user true',
      'unpause s-user',
      'kill s-up',
      'exec s-up true',
    ])
      await d.compare({ cmd });
  });

  test('volumes: create -o, labels, bad options', async () => {
    d.made.push('s-vol');
    for (const cmd of [
      'volume create -o type=tmpfs -o device=tmpfs -o o=size=10m vt1',
      "volume inspect -f '{{json .Options}} {{.Driver}} {{.Scope}}' vt1",
      'run --name s-vol -v vt1:/v busybox sh -c \'grep " /v " /proc/mounts | cut -d" " -f1,3\'',
      'volume create -o bogus=1 vt2',
      'volume create -o type=tmpfs vt2',
      'volume create --label a=b vt3',
      "volume ls --filter label=a=b --format '{{.Name}} {{.Driver}}'",
      'rm s-vol',
      'volume rm vt1 vt3 vt2',
    ])
      await d.compare({ cmd });
  });

  test('build: --target, --build-arg, ARG before FROM, --no-cache', async () => {
    const ctx = join(tmp, 'bctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(
      join(ctx, 'Dockerfile'),
      'ARG BASE=busybox\nFROM $BASE AS one\nARG X=dflt\nRUN echo "x=$X" > /x\nSTOPSIGNAL 15\n' +
        'FROM busybox AS two\nCOPY --from=one /x /y\nFROM two\nCMD ["cat","/y"]\n',
    );
    const quiet = (t: string) => t.replace(/^DEPRECATED:[\s\S]*?environment-variable\.\n\n/m, '');
    for (const cmd of [
      ['build', '-q', '--target', 'one', '--build-arg', 'X=set', '-t', 'bt1', ctx],
      words('run --rm bt1 cat /x'),
      words("inspect -f '{{.Config.StopSignal}}' bt1"),
      ['build', '-q', '--no-cache', '--build-arg', 'X=v2', '-t', 'bt2', ctx],
      words('run --rm bt2'),
      ['build', '-q', '--target', 'nosuch', ctx],
    ])
      await d.compare({ cmd, more: quiet });
    // dockerd's legacy builder also keeps an image per step (deleted with the tag): the builder's
    // (wire's) difference, not compared here
    await d.compare({ cmd: 'rmi bt1 bt2', more: (t) => t.replace(/^Deleted: .*\n?/gm, '') });
  });

  test('docker-compose: up -d, ps, logs, down -v with a named volume and a network', async () => {
    const dir = join(tmp, 'compose');
    mkdirSync(dir, { recursive: true });
    const yml = file(
      'compose/docker-compose.yml',
      'version: "3.7"\nservices:\n  web:\n    image: busybox\n    command: sh -c \'echo web-up; sleep 1000\'\n' +
        '    stop_signal: SIGKILL\n    volumes: [data:/data]\n    networks: [back]\n  job:\n    image: busybox\n' +
        "    command: sh -c 'echo job-done'\n    networks: [back]\n    depends_on: [web]\n" +
        'volumes:\n  data: {}\nnetworks:\n  back: {}\n',
    );
    const compose = (args: string) => ['-f', yml, '-p', 'esweep', ...words(args)];
    const run = (args: string) => Promise.all(d.sides.map((x) => composeOn(x, compose(args))));
    const view = (o: { status: number; stdout: string; stderr: string }) =>
      [o.status, ...`${o.stdout}\n${o.stderr}`.split('\n').filter(Boolean).sort()].join('\n');
    for (const a of ['up -d', 'ps', 'ps -q web', 'down -v']) {
      const [dd, s] = await run(a);
      assert.equal(
        view(s).replace(/[0-9a-f]{64}/g, '<ID>'),
        view(dd).replace(/[0-9a-f]{64}/g, '<ID>'),
        `docker-compose ${a}`,
      );
      if (a === 'ps -q web') {
        // logs once the job has run (both sides alike)
        await d.compare({ cmd: 'wait esweep_job_1' });
        const [dl, sl] = await run('logs --no-color');
        assert.equal(view(sl), view(dl));
      }
    }
    await d.compare({ cmd: 'volume ls -q --filter name=esweep' });
    await d.compare({ cmd: 'network ls -q --filter name=esweep' });
  });
});

/** docker-compose (1.29, the Debian package) against one side. */
function composeOn(x: Side, args: string[]) {
  return sh(x, `docker-compose ${args.map((a) => `'${a}'`).join(' ')}`);
}

// Published host-port ranges: dockerd (with its userland proxy off) still holds each published port
// with a listener, so the two sides cannot publish the same ports at once: each side in turn.
describe('host-port ranges, one side after the other', () => {
  test('-p A-B:C-D, -p IP:A-B:C (first free of the range), exhaustion', async () => {
    const outs: string[] = [];
    for (const x of d.sides) {
      const run = async (line: string) => {
        const r = await docker(x, words(line));
        return `${r.status} ${r.stdout.replace(/^[0-9a-f]{64}\n/, '<ID>\n')}${r.stderr}`.replace(
          /[0-9a-f]{64}/g,
          '<ID>',
        );
      };
      const got: string[] = [];
      got.push(await run('run -d --name s-pr1 -p 18082-18083:80-81 busybox sleep 100'));
      got.push(await run('port s-pr1'));
      got.push(await run("inspect -f '{{json .HostConfig.PortBindings}} {{json .NetworkSettings.Ports}}' s-pr1"));
      got.push(await run('run -d --name s-pr2 -p 127.0.0.1:18090-18091:80 busybox sleep 100'));
      got.push(await run('run -d --name s-pr3 -p 127.0.0.1:18090-18091:80 busybox sleep 100'));
      got.push(await run('run -d --name s-pr4 -p 127.0.0.1:18090-18091:80 busybox sleep 100'));
      got.push(await run('port s-pr2'));
      got.push(await run('port s-pr3'));
      got.push(await run("inspect -f '{{json .HostConfig.PortBindings}} {{json .NetworkSettings.Ports}}' s-pr3"));
      got.push(await run("ps -a --filter name=s-pr4 --format '{{.State}}'"));
      got.push(await run('rm -f s-pr1 s-pr2 s-pr3 s-pr4'));
      outs.push(got.join('\n'));
    }
    assert.equal(outs[1], outs[0]);
  });
  // the same subnet on both sides at once would be two host routes to it
  test('networks: --subnet --gateway --ip-range, --internal', async () => {
    const outs: string[] = [];
    for (const x of d.sides) {
      const got: string[] = [];
      for (const line of [
        'network create --subnet 10.123.0.0/24 --gateway 10.123.0.254 --ip-range 10.123.0.128/25 s-nx1',
        "network inspect -f '{{json .IPAM.Config}} {{.Driver}} {{.Internal}}' s-nx1",
        'run --rm --network s-nx1 busybox sh -c \'ip -4 addr show eth0 | grep inet | cut -d" " -f6\'',
        'network create --internal s-nx2',
        "network inspect -f '{{.Internal}} {{len .IPAM.Config}}' s-nx2",
        'network rm s-nx1 s-nx2',
      ]) {
        const r = await docker(x, words(line));
        got.push(`${r.status} ${r.stdout}${r.stderr}`.replace(/[0-9a-f]{64}/g, '<ID>'));
      }
      outs.push(got.join('\n'));
    }
    assert.equal(outs[1], outs[0]);
  });
});
