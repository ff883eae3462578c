// The classic builder streams a RUN step's output as it is produced (dockerd does): the real docker
// CLI (DOCKER_BUILDKIT=0) gets a line printed before a 2 s sleep about 2 s before the line after
// it, not both when the step ends; with -q nothing but the image id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let E: EngineFixture;
before(async () => {
  E = await startEngine();
});
after(async () => {
  await E?.stop();
});

/** Runs `docker build` and returns each stdout line with its arrival time (ms since the start). */
function build(args: string[]): Promise<{ code: number; lines: { t: number; line: string }[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const c = spawn('docker', ['build', ...args], {
      env: { ...process.env, DOCKER_HOST: E.host, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(E.dir, 'docker-config') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: { t: number; line: string }[] = [];
    let partial = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => {
      const parts = (partial + b.toString()).split('\n');
      partial = parts.pop()!;
      for (const line of parts) lines.push({ t: Date.now() - t0, line });
    });
    c.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    c.on('error', reject);
    c.on('close', (code) => resolve({ code: code ?? -1, lines, stderr }));
  });
}

test('a RUN step’s output reaches the docker CLI as it is produced; -q prints only the id', {
  timeout: 180_000,
}, async () => {
  const d = mkdtempSync(join(E.dir, 'ctx-'));
  writeFileSync(join(d, 'Dockerfile'), 'FROM busybox\nRUN echo first-line && sleep 2 && echo second-line\n');
  const r = await build(['--no-cache', d]);
  assert.equal(r.code, 0, r.stderr);
  const at = (s: string) => r.lines.find((l) => l.line === s)?.t;
  const first = at('first-line');
  const second = at('second-line');
  assert.ok(first !== undefined && second !== undefined, JSON.stringify(r.lines));
  // Both lines are printed 2 s apart in the container; delivered at the step's end they would
  // arrive together.
  assert.ok(second - first >= 1500, `first-line at ${first} ms, second-line at ${second} ms`);
  const q = await build(['-q', '--no-cache', d]);
  assert.equal(q.code, 0, q.stderr);
  assert.deepEqual(
    q.lines.map((l) => l.line.replace(/[0-9a-f]{64}/, 'ID')),
    ['sha256:ID'],
  );
});
