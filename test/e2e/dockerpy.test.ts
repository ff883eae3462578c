// The Python docker SDK (docker-py 7, `from_env`, version=auto → unversioned /version) against a
// private `skiff engine`: containers.run with output, detach + logs + exec_run + stop, errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let e: EngineFixture;
before(async () => {
  if (process.getuid?.() !== 0) throw new Error('docker-py e2e needs root');
  execFileSync('python3', ['-c', 'import docker']);
  e = await startEngine();
});
after(async () => {
  await e?.stop();
});

const py = (code: string) =>
  execFileSync('python3', ['-c', code], {
    env: { ...process.env, DOCKER_HOST: e.host },
    encoding: 'utf8',
    timeout: 60_000,
  });

test('docker-py: run, detach, logs, exec_run, wait, errors', () => {
  const out = py(`
import docker
c = docker.from_env()
print(c.version()['ApiVersion'])
print(c.containers.run('busybox', ['echo', 'hello-py'], remove=True).decode().strip())
ct = c.containers.run('busybox', ['sh', '-c', 'echo started; sleep 30'], detach=True)
import time; time.sleep(0.5)
print(ct.logs().decode().strip())
r = ct.exec_run(['sh', '-c', 'echo exec-py; exit 2'])
print(r.exit_code, r.output.decode().strip())
ct.reload(); print(ct.status)
ct.stop(timeout=1)
print(ct.wait()['StatusCode'])
ct.remove()
try:
    c.containers.get(ct.id)
except docker.errors.NotFound:
    print('gone')
try:
    c.containers.run('busybox', ['sh', '-c', 'exit 4'], remove=True)
except docker.errors.ContainerError as err:
    print('exit', err.exit_status)
`);
  assert.deepEqual(out.trim().split('\n'), [
    '1.45',
    'hello-py',
    'started',
    '2 exec-py',
    'running',
    '137',
    'gone',
    'exit 4',
  ]);
});
