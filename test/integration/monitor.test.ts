// skiff-monitor on the real kernel with plain commands standing in for skiff-init: CMD is a tiny
// script that starts the "container" (`/bin/sh -c …`) in the background, writes its pid to the
// container pid file and exits 0 — so the monitor adopts it through PR_SET_CHILD_SUBREAPER exactly
// as it adopts skiff-init's container process. The tty case uses a test-only C helper (built here
// with gcc) that opens a pty, runs the container on the slave and sends the master over
// console.sock the way skiff-init and runc do.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  writeFileSync,
  readFileSync,
  readlinkSync,
  existsSync,
  readdirSync,
  rmSync,
  statSync,
  chmodSync,
  mkdirSync,
  rmdirSync,
  openSync,
  closeSync,
  constants,
} from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  spawnMonitor,
  waitExit,
  readExitFile,
  attach,
  frame,
  readCriLog,
  isMonitorAlive,
  monitorBinary,
  monitorArgs,
  type CriLogRecord,
} from '../../src/runtime/monitor/index.js';

const BIN = monitorBinary();
if (!existsSync(BIN)) throw new Error(`${BIN} missing: run npm run build (make -C native)`);

const dirs: string[] = [];
const pids: number[] = [];
after(() => {
  // Containers first (their pid files), then monitors: a failed test leaves nothing running.
  for (const d of dirs) {
    try {
      pids.unshift(Number(readFileSync(join(d, 'ctr.pid'), 'utf8')));
    } catch {
      /* none */
    }
  }
  // Only processes that still run inside one of this file's temp dirs (monitors and containers
  // have their state dir as cwd): a pid that exited and was reused by someone else is left alone.
  const ours = (p: number) => {
    try {
      const cwd = readlinkSync(`/proc/${p}/cwd`);
      return dirs.some((d) => cwd.startsWith(d));
    } catch {
      return false;
    }
  };
  for (const p of pids) {
    try {
      if (p > 1 && ours(p)) process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'skiff-mon-'));
  dirs.push(d);
  return d;
}

// The container waits until this launcher is gone (its parent is then the monitor): a shell may
// reap its own background job at exit, and then nobody could learn the container's status.
const LAUNCH = `#!/bin/sh
pidfile=$1; shift
exec 3<&0
/bin/sh -c 'while read -r _ _ _ p _ < /proc/$$/stat; [ "$p" = "$0" ]; do sleep 0.01; done; eval "$1"' "$$" "$1" 0<&3 3<&- &
echo $! > "$pidfile"
exit 0
`;

interface Started {
  dir: string;
  log: string;
  pidFile: string;
  monitorPid: number;
  ctrPid: () => number;
}
async function start(script: string, extra: Partial<Parameters<typeof spawnMonitor>[0]> = {}): Promise<Started> {
  const dir = tmp();
  const launch = join(dir, 'launch.sh');
  writeFileSync(launch, LAUNCH);
  chmodSync(launch, 0o755);
  const log = join(dir, 'ctr.log');
  const pidFile = join(dir, 'ctr.pid');
  const { monitorPid } = await spawnMonitor({
    stateDir: dir,
    containerPidFile: pidFile,
    logFile: log,
    cmd: [launch, pidFile, script],
    ...extra,
  });
  pids.push(monitorPid);
  return { dir, log, pidFile, monitorPid, ctrPid: () => Number(readFileSync(pidFile, 'utf8').trim()) };
}

async function records(file: string): Promise<CriLogRecord[]> {
  const out: CriLogRecord[] = [];
  for await (const r of readCriLog(file)) out.push(r);
  return out;
}

function assertCleanedUp(s: Started) {
  const left = readdirSync(s.dir).filter(
    (n) => !['launch.sh', 'ctr.pid', 'exit.json'].includes(n) && !n.startsWith('ctr.log') && !n.startsWith('helper'),
  );
  assert.deepEqual(left, [], 'no sockets, monitor.pid or temp files left in the state dir');
  assert.ok(gone(s.monitorPid), 'the monitor process is gone');
}

/** Exited: no /proc entry, or a zombie waiting for PID 1 (it inherited the daemonized monitor) to reap it. */
function gone(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, ms = 5000, what = 'condition') {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('logs stdout/stderr as CRI records with F/P flags; exit code; exit file; nothing left behind', async () => {
  const long = 'x'.repeat(20000);
  const s = await start(`echo out1; echo err1 >&2; echo ${long}; printf tail; exit 7`);
  assert.ok((await isMonitorAlive(s.dir)) || existsSync(join(s.dir, 'exit.json')));
  const st = await waitExit(s.dir);
  assert.equal(st.exitCode, 7);
  assert.equal(st.signal, null);
  assert.equal(st.oomKilled, false);
  assert.equal(st.pid, s.ctrPid());
  assert.equal(st.error, undefined);
  assert.ok(Date.parse(st.finishedAt) >= Date.parse(st.startedAt));
  const recs = await records(s.log);
  const out = recs.filter((r) => r.stream === 'stdout');
  assert.deepEqual(
    recs.filter((r) => r.stream === 'stderr').map((r) => [r.line, r.partial]),
    [['err1', false]],
  );
  assert.deepEqual(
    out.map((r) => [r.line.length, r.partial]),
    [
      [4, false],
      [16384, true],
      [20000 - 16384, false],
      [4, true],
    ],
  );
  assert.equal(out[0].line, 'out1');
  assert.equal(out[1].line + out[2].line, long);
  assert.equal(out[3].line, 'tail');
  assert.match(readFileSync(s.log, 'utf8').split('\n')[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F out1$/);
  await until(() => gone(s.monitorPid), 3000, 'monitor exit');
  assertCleanedUp(s);
  // Atomic write: the complete JSON, no temp file beside it.
  assert.deepEqual(JSON.parse(readFileSync(join(s.dir, 'exit.json'), 'utf8')), st);
});

test('readCriLog follow with stateDir streams a running container and ends after its exit', async () => {
  const s = await start('i=0; while [ $i -lt 5 ]; do echo n$i; i=$((i+1)); sleep 0.05; done');
  const lines: string[] = [];
  for await (const r of readCriLog(s.log, { follow: true, stateDir: s.dir, pollMs: 20 })) lines.push(r.line);
  assert.deepEqual(lines, ['n0', 'n1', 'n2', 'n3', 'n4']);
  assert.ok(existsSync(join(s.dir, 'exit.json')));
});

test('readCriLog follow stops when the monitor dies without an exit file', async () => {
  const s = await start('while :; do echo x; sleep 0.05; done');
  await until(() => existsSync(s.log), 3000, 'log');
  const t0 = Date.now();
  setTimeout(() => process.kill(s.monitorPid, 'SIGKILL'), 200);
  let n = 0;
  for await (const _r of readCriLog(s.log, { follow: true, stateDir: s.dir, pollMs: 20 })) n++;
  assert.ok(n > 0 && Date.now() - t0 < 3000, `ended ${Date.now() - t0} ms after start with ${n} records`);
  // waitExit says what it checked: the pid monitor.pid names, what /proc showed, the dir's files.
  await assert.rejects(
    waitExit(s.dir),
    new RegExp(`gone and left no exit file: monitor\\.pid names ${s.monitorPid}[,:] .*; state dir: \\[.*monitor\\.pid`),
  );
  process.kill(s.ctrPid(), 'SIGKILL');
});

test('a signal death is reported as 128+n with the signal name', async () => {
  const s = await start('echo ready; exec sleep 30');
  await until(() => existsSync(s.log) && readFileSync(s.log, 'utf8').includes('ready'), 5000, 'ready');
  process.kill(s.ctrPid(), 'SIGTERM');
  const st = await waitExit(s.dir);
  assert.equal(st.exitCode, 143);
  assert.equal(st.signal, 'SIGTERM');
});

test('create failures: CMD exits non-zero, CMD missing, bad flags', async () => {
  const dir = tmp();
  const pidFile = join(dir, 'ctr.pid');
  await spawnMonitor({
    stateDir: dir,
    containerPidFile: pidFile,
    logFile: join(dir, 'log'),
    cmd: ['/bin/sh', '-c', 'echo boom >&2; exit 3'],
  });
  const st = await waitExit(dir);
  assert.equal(st.exitCode, 3);
  assert.match(st.error!, /create command exited with status 3/);
  assert.match(readFileSync(join(dir, 'log'), 'utf8'), / stderr F boom\n/);

  const dir2 = tmp();
  await spawnMonitor({ stateDir: dir2, containerPidFile: join(dir2, 'p'), cmd: ['/nonexistent/skiff-init'] });
  const st2 = await waitExit(dir2);
  assert.equal(st2.exitCode, 127);
  assert.ok(st2.error);

  const dir3 = tmp();
  await spawnMonitor({ stateDir: dir3, containerPidFile: join(dir3, 'missing.pid'), cmd: ['/bin/true'] });
  assert.match((await waitExit(dir3)).error!, /pid file .* missing/);

  await assert.rejects(
    spawnMonitor({ stateDir: join(dir3, 'nope'), containerPidFile: join(dir3, 'p'), cmd: ['/bin/true'] }),
    /state-dir must be an existing directory/,
  );
  await assert.rejects(
    spawnMonitor({ stateDir: dir3, containerPidFile: join(dir3, 'p'), cmd: [] }),
    (e: { field?: string }) => e.field === 'cmd',
  );
  const r = spawn(BIN, ['--state-dir', dir3, '--container-pid-file', 'x', '--log-max-size', 'big', '--', 'true']);
  let err = '';
  r.stderr.on('data', (d) => (err += d));
  assert.equal(await new Promise((res) => r.on('close', res)), 2);
  assert.match(err, /--log-max-size needs a non-negative integer, got "big"/);
});

test('rotation at the size limit keeps --log-max-files old files, readCriLog reads them in order', async () => {
  const s = await start('i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done', {
    logMaxSize: 4000,
    logMaxFiles: 2,
  });
  await waitExit(s.dir);
  assert.ok(existsSync(`${s.log}.1`) && existsSync(`${s.log}.2`), 'rotated files exist');
  assert.ok(!existsSync(`${s.log}.3`), 'no more than --log-max-files kept');
  for (const f of [s.log, `${s.log}.1`, `${s.log}.2`]) assert.ok(statSync(f).size <= 4000, `${f} within the limit`);
  const nums = (await records(s.log)).map((r) => Number(r.line.slice(5)));
  assert.equal(nums.at(-1), 299);
  assert.ok(nums.length > 100 && nums.length < 300, `${nums.length} records kept`);
  nums.forEach((n, i) => assert.equal(n, nums[0] + i, 'contiguous, oldest first'));
  const tail = [];
  for await (const r of readCriLog(s.log, { tail: 3 })) tail.push(r.line);
  assert.deepEqual(tail, ['line-297', 'line-298', 'line-299']);
});

test('attach: output frames, stdin, close-stdin; clients get EOF after the exit file', async () => {
  const s = await start('echo started; while read l; do echo "got:$l"; echo "e:$l" >&2; done; echo bye; exit 4', {
    stdin: true,
  });
  const a = await attach(s.dir);
  let out = '';
  let err = '';
  a.stdout.on('data', (d) => (out += d));
  a.stderr.on('data', (d) => (err += d));
  a.stdin.write('one\n');
  a.stdin.write('two\n');
  await until(() => out.includes('got:two'), 5000, 'echo of stdin');
  const b = await attach(s.dir); // a second client sees later output
  let out2 = '';
  b.stdout.on('data', (d) => (out2 += d));
  a.closeStdin();
  await a.done;
  await b.done;
  assert.ok(existsSync(join(s.dir, 'exit.json')), 'exit file written before clients see EOF');
  assert.match(out, /got:one\ngot:two\nbye\n$/);
  assert.equal(err, 'e:one\ne:two\n');
  assert.match(out2, /bye\n$/);
  assert.equal((await readExitFile(s.dir))!.exitCode, 4);
  const recs = await records(s.log);
  assert.deepEqual(
    recs.map((r) => `${r.stream}:${r.line}`).filter((l) => l.startsWith('stdout')),
    ['stdout:started', 'stdout:got:one', 'stdout:got:two', 'stdout:bye'],
  );
});

test('close-stdin right after a write over 64 KiB comes after all of its frames', async () => {
  const s = await start('wc -c', { stdin: true });
  const a = await attach(s.dir);
  let out = '';
  a.stdout.on('data', (d) => (out += d));
  a.stdin.write(Buffer.alloc(200_000, 'x'));
  a.closeStdin();
  await a.done;
  assert.equal(out.trim(), '200000');
});

test('a client that half-closes after sending stdin keeps receiving output until EOF', async () => {
  const s = await start('read l; sleep 0.2; echo "got:$l"; exit 0', { stdin: true });
  const { connect } = await import('node:net');
  const sock = connect({ path: join(s.dir, 'attach.sock') });
  await new Promise((r) => sock.once('connect', r));
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  sock.end(frame(0, Buffer.from('hi\n'))); // stdin data, then shutdown(SHUT_WR)
  await new Promise((r) => sock.on('close', r));
  const all = Buffer.concat(chunks);
  assert.equal(all[0], 1, 'a stdout frame');
  assert.equal(all.subarray(8, 8 + all.readUInt32BE(4)).toString(), 'got:hi\n');
  assert.equal((await readExitFile(s.dir))!.exitCode, 0);
});

test('a client that writes after the container exited still reads all its output (no EPIPE)', async () => {
  // The engine relays stdin bytes and resizes to the monitor whenever the client sends them; one
  // that arrives after the container exited must not fail, or Node destroys the socket with the
  // container's last output still unread in it (short `docker run -it` lost its whole output).
  const s = await start('while [ ! -e go ]; do sleep 0.01; done; echo last-words; exit 0', { stdin: true });
  const { connect } = await import('node:net');
  const sock = connect({ path: join(s.dir, 'attach.sock') });
  await new Promise((r) => sock.once('connect', r));
  sock.pause(); // a busy event loop: nothing is read yet
  let error: Error | undefined;
  sock.on('error', (e) => {
    error = e;
  });
  writeFileSync(join(s.dir, 'go'), '');
  await until(() => existsSync(join(s.dir, 'exit.json')), 5000, 'the exit file');
  await sleep(300); // the monitor has handed over the output and ended the session by now
  const resize = Buffer.alloc(4);
  resize.writeUInt16BE(24, 0);
  resize.writeUInt16BE(80, 2);
  sock.write(frame(0, Buffer.from('late\n')));
  sock.write(frame(4, resize));
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  sock.resume();
  await new Promise((r) => sock.once('close', r));
  assert.equal(error, undefined, 'no write error');
  const all = Buffer.concat(chunks);
  assert.equal(all[0], 1, 'a stdout frame');
  assert.equal(all.subarray(8, 8 + all.readUInt32BE(4)).toString(), 'last-words\n');
  await until(() => gone(s.monitorPid), 5000, 'the monitor to exit once the client closed');
});

test('a state dir longer than sun_path allows still serves attach', async () => {
  const base = tmp();
  const dir = join(base, 'd'.repeat(60), 'e'.repeat(60));
  mkdirSync(dir, { recursive: true });
  assert.ok(Buffer.byteLength(join(dir, 'attach.sock')) > 108);
  const launch = join(base, 'launch.sh');
  writeFileSync(launch, LAUNCH);
  chmodSync(launch, 0o755);
  await spawnMonitor({
    stateDir: dir,
    containerPidFile: join(dir, 'ctr.pid'),
    stdin: true,
    cmd: [launch, join(dir, 'ctr.pid'), 'read l; echo "long:$l"'],
  });
  const a = await attach(dir);
  let out = '';
  a.stdout.on('data', (d) => (out += d));
  a.stdin.write('ok\n');
  await a.done;
  assert.equal(out, 'long:ok\n');
});

test('SIGKILL of the process that started the monitor leaves it running and logging', async () => {
  const dir = tmp();
  const launch = join(dir, 'launch.sh');
  writeFileSync(launch, LAUNCH);
  chmodSync(launch, 0o755);
  const log = join(dir, 'ctr.log');
  const pidFile = join(dir, 'ctr.pid');
  // The starter is a separate Node process that runs the monitor and then stays around.
  const starter = spawn(
    process.execPath,
    [
      '-e',
      `
    const { spawnSync } = require('node:child_process');
    const r = spawnSync(${JSON.stringify(BIN)}, ${JSON.stringify(['--state-dir', dir, '--container-pid-file', pidFile, '--log-file', log, '--', launch, pidFile, 'i=0; while :; do echo tick-$i; i=$((i+1)); sleep 0.05; done'])}, { stdio: 'inherit' });
    process.stdout.write('started ' + r.status + '\\n');
    setInterval(() => {}, 1000);
  `,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((res) =>
    starter.stdout!.on('data', (d) => {
      if (String(d).includes('started 0')) res();
    }),
  );
  const monitorPid = Number(readFileSync(join(dir, 'monitor.pid'), 'utf8'));
  pids.push(monitorPid);
  starter.kill('SIGKILL');
  await new Promise((r) => starter.on('exit', r));
  const before = statSync(log).size;
  await sleep(400);
  assert.ok(await isMonitorAlive(dir), 'monitor survives its starter');
  assert.ok(statSync(log).size > before, 'and keeps logging');
  const ppid = Number(readFileSync(`/proc/${monitorPid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  assert.notEqual(ppid, starter.pid);
  const ctr = Number(readFileSync(pidFile, 'utf8'));
  process.kill(ctr, 'SIGKILL');
  const st = await waitExit(dir);
  assert.equal(st.signal, 'SIGKILL');
  assert.equal(st.exitCode, 137);
});

test('OOM kill in a real memory cgroup is reported as oomKilled', async (t) => {
  const cg = `/sys/fs/cgroup/memory/skiff-test-${randomBytes(4).toString('hex')}`;
  mkdirSync(cg);
  t.after(() => {
    try {
      rmdirSync(cg);
    } catch {
      /* busy or gone */
    }
  });
  writeFileSync(join(cg, 'memory.limit_in_bytes'), String(16 << 20));
  // The container moves itself into the cgroup, then allocates 64 MiB.
  const s = await start(`echo $$ > ${cg}/cgroup.procs; exec /bin/busybox dd if=/dev/zero of=/dev/null bs=64M count=1`, {
    oomFile: join(cg, 'memory.oom_control'),
  });
  const st = await waitExit(s.dir);
  assert.equal(st.signal, 'SIGKILL');
  assert.equal(st.oomKilled, true);
  await until(
    () => {
      try {
        rmdirSync(cg);
        return true;
      } catch {
        return false;
      }
    },
    3000,
    'cgroup removal',
  );
});

const PTY_HELPER = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
/* helper SOCKET PIDFILE CMD...: run CMD on a new pty's slave, send the master over SOCKET (runc protocol). */
int main(int argc, char **argv) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) || unlockpt(m)) return 10;
  char *name = ptsname(m);
  pid_t p = fork();
  if (p == 0) {
    setsid();
    int s = open(name, O_RDWR);
    ioctl(s, TIOCSCTTY, 0);
    dup2(s, 0); dup2(s, 1); dup2(s, 2);
    close(m);
    execv(argv[3], argv + 3);
    _exit(127);
  }
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
  if (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0) return 11;
  char cb[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = {name, strlen(name)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof cb};
  struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
  h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS; h->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(h), &m, sizeof m);
  if (sendmsg(c, &msg, 0) < 0) return 12;
  FILE *f = fopen(argv[2], "w");
  fprintf(f, "%d", p);
  fclose(f);
  return 0;
}
`;

test('tty: pty master received over console.sock; output logged as stdout; stdin and resize through attach', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'helper.c'), PTY_HELPER);
  execFileSync('gcc', ['-O1', '-o', join(dir, 'helper'), join(dir, 'helper.c')]);
  const pidFile = join(dir, 'ctr.pid');
  const log = join(dir, 'ctr.log');
  const { monitorPid } = await spawnMonitor({
    stateDir: dir,
    containerPidFile: pidFile,
    logFile: log,
    tty: true,
    stdin: true,
    cmd: [
      join(dir, 'helper'),
      join(dir, 'console.sock'),
      pidFile,
      '/bin/busybox',
      'sh',
      '-c',
      'echo hello-tty; read x; stty size; echo "got:$x"; exit 5',
    ],
  });
  pids.push(monitorPid);
  const a = await attach(dir);
  let out = '';
  a.stdout.on('data', (d) => (out += d));
  // Output before the client connected is in the log only (attach does not replay).
  await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('hello-tty'), 5000, 'tty output in the log');
  pids.push(Number(readFileSync(pidFile, 'utf8')));
  a.resize(33, 101);
  a.stdin.write('abc\n');
  await a.done;
  const st = await readExitFile(dir);
  assert.equal(st!.exitCode, 5);
  assert.match(out, /33 101\r\n/);
  assert.match(out, /got:abc\r\n/);
  const recs = await records(log);
  assert.ok(
    recs.every((r) => r.stream === 'stdout'),
    'pty output is logged as stdout',
  );
  assert.ok(recs.some((r) => r.line === 'hello-tty\r'));
  assert.ok(!existsSync(join(dir, 'console.sock')) && !existsSync(join(dir, 'attach.sock')));
});

test('idle monitor RSS is at most 1.5 MB', async () => {
  const s = await start('exec sleep 30');
  await sleep(200);
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${s.monitorPid}/status`, 'utf8'))![1]);
  process.stdout.write(`# idle skiff-monitor VmRSS: ${rss} kB\n`);
  assert.ok(rss <= 1536, `VmRSS ${rss} kB`);
  process.kill(s.ctrPid(), 'SIGKILL');
  await waitExit(s.dir);
});

test('a client that stops reading is dropped; the container is never blocked', async () => {
  // the output starts once the client is connected (the command runs in the state dir)
  const s = await start(
    "while [ ! -e go ]; do sleep 0.01; done; head -c 6000000 /dev/zero | tr '\\\\0' x; echo; echo end",
  );
  const { connect } = await import('node:net');
  const sock = connect({ path: join(s.dir, 'attach.sock') });
  await new Promise((r) => sock.once('connect', r));
  sock.pause(); // never reads while the container writes 6 MB
  writeFileSync(join(s.dir, 'go'), '');
  const t0 = Date.now();
  const st = await waitExit(s.dir);
  assert.equal(st.exitCode, 0);
  assert.ok(Date.now() - t0 < 10000, 'container finished while the client was stuck');
  let got = 0;
  sock.on('data', (d: Buffer) => (got += d.length));
  sock.resume();
  await new Promise((r) => sock.on('close', r));
  assert.ok(got < 6000000, `the slow client was cut off (${got} bytes)`);
  const last = (await records(s.log)).at(-1)!;
  assert.equal(last.line, 'end', 'the log has everything');
});

test('a leftover process holding the output pipe does not keep the exit file back', async () => {
  const s = await start('sleep 5 & echo $! > leftover.pid; echo main; exit 2');
  const t0 = Date.now();
  const st = await waitExit(s.dir);
  assert.equal(st.exitCode, 2);
  assert.ok(Date.now() - t0 < 3000, `exit file after ${Date.now() - t0} ms`);
  const leftover = Number(readFileSync(join(s.dir, 'leftover.pid'), 'utf8'));
  try {
    process.kill(leftover, 'SIGKILL');
  } catch {
    /* gone */
  }
});

test('monitor.pid is published before CMD runs: a monitor held before publishing is never judged gone by what CMD wrote', async () => {
  // The runtime returns as soon as CMD's pid file is filled, without waiting for the invoker: were
  // monitor.pid written after CMD was forked, a monitor held there (the scheduler, a stalled
  // journal: 40+ ms under load) let a waitExit see no monitor.pid and report "gone and left no exit
  // file" (CRI exec, kubectl cp). The hold is made certain here: monitor.pid.tmp is a FIFO, so the
  // monitor's open of it blocks until this test opens the other end.
  const dir = tmp();
  const launch = join(dir, 'launch.sh');
  writeFileSync(launch, LAUNCH);
  chmodSync(launch, 0o755);
  const pidFile = join(dir, 'ctr.pid');
  const fifo = join(dir, 'monitor.pid.tmp');
  execFileSync('mkfifo', [fifo]);
  // CMD first records whether the monitor was known when it started (its cwd is the state dir).
  const cmd = ['/bin/sh', '-c', '[ -e monitor.pid ] && echo known > seen || echo unknown > seen; exec "$0" "$@"'];
  const inv = spawn(
    BIN,
    monitorArgs({ stateDir: dir, containerPidFile: pidFile, cmd: [...cmd, launch, pidFile, 'exit 0'] }),
    {
      stdio: 'ignore',
    },
  );
  const invExit = new Promise((r) => inv.once('exit', r));
  const children = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  let daemon = 0;
  // Held: the daemon blocks opening the FIFO (wchan wait_for_partner). Before the fix it had forked
  // CMD by then (a child, live or a zombie it cannot reap while blocked) and CMD wrote `seen`.
  await until(
    () => {
      daemon ||= children(inv.pid!)[0] ?? 0;
      if (!daemon) return false;
      if (existsSync(join(dir, 'seen'))) return true;
      const wchan = readFileSync(`/proc/${daemon}/wchan`, 'utf8');
      return wchan === 'wait_for_partner' && children(daemon).length === 0;
    },
    20_000,
    'the monitor to block on monitor.pid.tmp',
  );
  pids.push(daemon);
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // releases the monitor
  try {
    await invExit;
  } finally {
    closeSync(fd);
  }
  await until(() => existsSync(join(dir, 'exit.json')), 20_000, 'exit.json');
  assert.equal(readFileSync(join(dir, 'seen'), 'utf8'), 'known\n', 'CMD started only after monitor.pid existed');
  const st = await readExitFile(dir);
  assert.equal(st?.exitCode, 0);
});
