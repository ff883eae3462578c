// The engine differential, `docker run` and friends as users meet them (npm run test:slow): users
// and groups by name, --read-only with --tmpfs, capabilities, no-new-privileges, pids and memory
// limits in the cgroup, start failures' exit codes (126 for what cannot be executed — a directory
// too — and 127 for what is missing), --env-file and `-e NAME` without a value (the variable is
// removed), `--entrypoint ''`, --domainname in /etc/hosts, invalid flags' messages; port, wait,
// exec, rename, cp, prune, update and kill on existing containers; a legacy build with ARG before
// FROM, COPY --from=0, .dockerignore exceptions, WORKDIR with a relative COPY, --chown and USER.
// Same harness as engine-differential.slow.test.ts (engine-differential-harness.ts). Left out:
// what this host refuses both daemons (--privileged and --cap-add ALL fail with capset EPERM in this
// container) and `docker cp` into a missing directory, whose CLI-side log lines race its exit.
import { before, after } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Differential, runtimeMessage, startSides } from './engine-differential-harness.js';

const tmp = mkdtempSync('/tmp/skiff-ediff-');
const d = new Differential(tmp);
const SETUP = [
  "run --name c-exit busybox sh -c 'echo a; exit 3'",
  'run -d --name x-run -p 127.0.0.1::80 -p 127.0.0.1::81/udp --stop-timeout 3 busybox sleep 1000',
  'create --name x-cr --restart on-failure:2 --pids-limit 20 -m 32m --security-opt no-new-privileges --read-only busybox true',
];
let sides: Awaited<ReturnType<typeof startSides>> | undefined;
before(async () => {
  sides = await startSides(d, SETUP);
});
after(async () => {
  await sides?.stop(['x-run', 'c-exit', 'x-cr', 'x-ep', ...d.made]);
  rmSync(tmp, { recursive: true, force: true });
});
const bind = join(tmp, 'bind');
mkdirSync(bind);
const envFile = join(tmp, 'env.list');
writeFileSync(envFile, '# c\nA=1\nB\n  C = x y \nD="q"\n');
const ctx = join(tmp, 'ctx');
mkdirSync(join(ctx, 'sub'), { recursive: true });
writeFileSync(join(ctx, 'a.txt'), 'a\n');
writeFileSync(join(ctx, 'b.log'), 'b\n');
writeFileSync(join(ctx, 'keep.log'), 'k\n');
writeFileSync(join(ctx, 'sub', 'c'), 'c\n');
writeFileSync(join(ctx, '.dockerignore'), '*.log\n!keep.log\n');
writeFileSync(
  join(ctx, 'Dockerfile'),
  'ARG BASE=busybox\nFROM $BASE AS one\nRUN echo one > /one\nFROM busybox\nARG BASE\nCOPY --from=0 /one /x/\nWORKDIR /w\nCOPY . rel/\nCOPY --chown=1000:1000 a.txt /own\nRUN echo "base=$BASE"; ls -a rel | sort | tr "\\n" " "; stat -c "%u:%g %a" /own rel rel/sub\nUSER nobody\nRUN whoami; pwd\n',
);

/** A start failure as the CLI prints it, without the words of dockerd's runtime stack. */
const started = (s: string) =>
  s.replace(
    /(Error response from daemon: )(.*)/,
    (_m, p: string, msg: string) => p + runtimeMessage(msg).replace(/^unable to start container process: /, ''),
  );
const failing = (cmd: string) => ({ cmd, more: started });

d.cases('run', [
  "run --rm --user nobody busybox sh -c 'id; echo $HOME'",
  'run --rm -u daemon:daemon busybox id',
  'run --rm -u nosuchuser busybox id',
  'run --rm -u 1000:nosuchgroup busybox id',
  'run --rm --read-only --tmpfs /run busybox sh -c \'touch /run/x && echo ok; touch /x; echo $?; grep " /run " /proc/mounts\'',
  'run --rm --cap-drop ALL --cap-add NET_BIND_SERVICE busybox grep Cap /proc/self/status',
  'run --rm --cap-add NOPE busybox true',
  'run --rm --security-opt no-new-privileges busybox grep NoNewPrivs /proc/self/status',
  'run --rm --security-opt no-new-privileges=true busybox grep NoNewPrivs /proc/self/status',
  'run --rm --security-opt bogus busybox true',
  'run --rm --pids-limit 10 busybox cat /sys/fs/cgroup/pids.max',
  "run --rm -m 32m busybox sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.swap.max'",
  'run --rm --memory-reservation 16m -m 32m busybox cat /sys/fs/cgroup/memory.low',
  'run --rm --cpus 0.5 busybox cat /sys/fs/cgroup/cpu.max',
  failing('run --rm busybox nosuchcmd'),
  failing('run --rm busybox /etc/passwd'),
  failing('run --rm busybox /etc'),
  failing('run --rm busybox /nonexist'),
  failing('run --rm busybox ./rel'),
  "run --rm --entrypoint '' busybox",
  "create --name x-ep --entrypoint '' busybox echo y",
  'run --rm -e HOSTNAME -e PATH busybox env',
  "run --rm busybox sh -c 'exit 130'",
  {
    cmd: ['run', '--rm', '--env-file', envFile, 'busybox', 'env'],
    sort: true,
    more: (s) => s.replace(/HOSTNAME=\S+/, 'H'),
  },
  { cmd: 'run --rm -e A -e B=2 -e C= busybox env', sort: true, more: (s) => s.replace(/HOSTNAME=\S+/, 'H') },
  'run --rm --entrypoint echo busybox hi there',
  "run --rm --entrypoint '' busybox echo x",
  'run --rm -t busybox echo tty',
  { cmd: 'run --rm -i busybox cat', input: 'in\n' },
  'run --rm --network none busybox ip -o link',
  'run --rm --tmpfs /t:rw,size=1m,mode=1777 busybox stat -c %a /t',
  'run --rm --mount type=tmpfs,dst=/t,tmpfs-size=1048576 busybox sh -c \'grep " /t " /proc/mounts | cut -d" " -f1-3\'',
  'run --rm --mount type=bind,src=/nonexist-skiff-x,dst=/x busybox true',
  'run --rm --mount type=bogus,dst=/x busybox true',
  'run --rm --restart always busybox true',
  'run --rm -d --restart on-failure busybox true',
  "run --rm --hostname h1 --domainname ex.com busybox sh -c 'hostname; cat /etc/hostname; grep h1 /etc/hosts | cut -f2'",
  'run --rm --log-driver none busybox echo logged',
  'run --rm --sysctl net.ipv4.ip_forward=1 busybox cat /proc/sys/net/ipv4/ip_forward',
  'run --rm --sysctl kernel.bogus=1 busybox true',
  'run --rm --shm-size 2m busybox sh -c \'df -k /dev/shm | tail -1 | tr -s " " | cut -d" " -f2\'',
  'run --rm --stop-signal BOGUS busybox true',
  'run --rm -w rel busybox pwd',
  'run --rm --name x-run busybox true',
  'run --rm -p 127.0.0.1:99999:80 busybox true',
  'run --rm -p bogus busybox true',
  'run --rm -e =x busybox true',
  'run --rm --init busybox sh -c \'cat /proc/1/cmdline | tr "\\0" " "\'',
  'run --rm --ulimit nofile=2048:1024 busybox true',
  'run --rm --ulimit bogus=1 busybox true',
  "run --rm --pid host busybox sh -c 'test -d /proc/1 && echo ok'",
  'run --rm --ipc private busybox true',
  'run --rm --uts host busybox true',
]);
d.cases('existing containers', [
  "inspect -f '{{.HostConfig.PidsLimit}} {{.HostConfig.Memory}} {{json .HostConfig.SecurityOpt}} {{.HostConfig.ReadonlyRootfs}} {{json .HostConfig.RestartPolicy}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}}' x-cr",
  "inspect -f '{{.Config.StopTimeout}} {{json .HostConfig.PortBindings}} {{json .Config.ExposedPorts}}' x-run",
  'port x-run',
  "inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Path}} {{json .Args}}' x-ep",
  'port x-run 81/udp',
  'port x-run 82',
  'port c-exit',
  'port nosuch',
  'wait c-exit',
  'wait nosuch',
  'exec c-exit true',
  "exec x-run sh -c 'exit 7'",
  'exec -u nobody x-run id',
  'exec -u 1:2 x-run id',
  'exec -t x-run echo t',
  'exec x-run /nonexist',
  'exec x-run /etc',
  { cmd: 'exec -i x-run cat', input: 'z\n' },
  "exec -e A=1 -e B x-run sh -c 'echo $A/${B-unset}'",
  'rename nosuch y',
  'rename c-exit x-run',
  'rename c-exit c-exit',
  'cp /etc/hostname x-run:/nosuchdir/x',
  'cp nosuch-host-file x-run:/tmp/',
  'cp x-run:/nosuch -',
  'top c-exit',
  'container prune --filter until=2000-01-01T00:00:00 -f',
  'container prune --filter label=nolabel -f',
  'container prune --filter bogus=1 -f',
  'stop -t 1 nosuch',
  'kill c-exit',
  'pause c-exit',
  'start x-run',
  'restart -t 0 nosuch',
  'logs nosuch',
]);
d.cases('run, more', [
  'run --rm -e A=1 busybox sh -c \'tr "\\0" "\\n" < /proc/1/environ\'',
  { cmd: 'run --rm -t -e Z=1 busybox env', more: (s) => s.replace(/HOSTNAME=\S+/, 'H') },
  'run --rm --user 1000 -w /root busybox pwd',
  "run --rm --user 1000:1000 -w /tmp/new/dir busybox sh -c 'pwd; stat -c %u:%a /tmp/new/dir'",
  { cmd: ['run', '--rm', '-v', `${bind}:/h:ro`, 'busybox', 'touch', '/h/x'] },
  'run --rm -v rel/path:/x busybox true',
  "run --rm --ulimit core=-1 busybox sh -c 'ulimit -c'",
  'run --rm --memory-swap -1 -m 32m busybox cat /sys/fs/cgroup/memory.swap.max',
  'run --rm --cpuset-cpus 0 busybox cat /sys/fs/cgroup/cpuset.cpus',
  'run --rm --cpuset-cpus 9 busybox true',
  'run --rm --blkio-weight 300 busybox true',
  "run --rm -a stdout busybox sh -c 'echo o; echo e >&2'",
  "run --rm --name 'bad name!' busybox true",
  'run --rm --network host busybox true',
  'run --rm --hostname bad_host! busybox true',
  'run --rm --expose 80 --expose 90-91/udp busybox true',
  'run --rm --stop-timeout 5 busybox true',
  'run --rm --oom-kill-disable busybox true',
  'create --name c-exit busybox',
  'rm -f nosuch',
  'run --rm --init --init-path /x busybox true',
  "run --rm -w /tmp busybox sh -c 'echo $PWD'",
  'run --rm --group-add 0 -u 1000 busybox id',
]);

// After the reads above (they inspect x-cr).
d.cases('changes', ['update --pids-limit 30 x-cr', 'update --cpus 0.5 x-cr']);
// An update without --restart keeps the policy (x-cr's on-failure:2, as set at create).
d.cases('after the changes', [
  "inspect -f '{{.HostConfig.PidsLimit}} {{json .HostConfig.RestartPolicy}} {{.HostConfig.NanoCpus}}' x-cr",
]);
d.cases('build', [
  {
    cmd: ['build', '--no-cache', '-t', 'xb1', ctx],
    more: (s) => s.replace(/^( ---> .*|Removing intermediate.*|Successfully built .*)\n/gm, ''),
  },
]);
