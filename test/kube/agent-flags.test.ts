// `skiff start --kubelet-arg` and `skiff agent --kubelet-arg`: an unknown kubelet flag is refused by
// name before anything starts (the flags themselves: src/kube/agent/flags.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { main as start } from '../../src/cli/commands/start.js';
import { main as agent } from '../../src/cli/commands/agent.js';

const stderrOf = async (f: () => Promise<number>): Promise<{ code: number; err: string }> => {
  const err: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => {
    err.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await f(), err: err.join('') };
  } finally {
    process.stderr.write = write;
  }
};

describe('--kubelet-arg on the command line', () => {
  it('skiff start and skiff agent refuse an unknown kubelet flag before starting anything', async () => {
    const s = await stderrOf(() =>
      start(['--kubelet-arg', 'max-pods=5', '--kubelet-arg', 'eviction-hard=x', '--engine-root', '/nonexistent/x']),
    );
    assert.equal(s.code, 2);
    assert.match(s.err, /skiff start: --kubelet-arg: unknown kubelet flag "eviction-hard" \(known: max-pods, /);
    const a = await stderrOf(() =>
      agent([
        '--server',
        'https://127.0.0.1:1',
        '--token',
        'x',
        '--kubelet-arg',
        'max-pods=none',
        '--data-dir',
        '/nonexistent/x',
      ]),
    );
    assert.equal(a.code, 2);
    assert.match(a.err, /skiff agent: --kubelet-arg: invalid value "none" for flag --max-pods/);
  });
});
