import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseKubeletArgs } from './flags.js';

describe('--kubelet-arg (kubelet flags the agent honours)', () => {
  it('sets max-pods, log rotation and the node status period', () => {
    assert.deepEqual(
      parseKubeletArgs([
        'max-pods=250',
        '--container-log-max-size=5Mi',
        'container-log-max-files=3',
        'node-status-update-frequency=20s',
      ]),
      { maxPods: 250, rotation: { maxBytes: 5 * 1024 * 1024, maxFiles: 3 }, nodeStatusMs: 20_000 },
    );
    assert.deepEqual(parseKubeletArgs([]), {});
  });

  it('refuses unknown flags by name, and bad values with the flag', () => {
    assert.throws(() => parseKubeletArgs(['max-pod=10']), /unknown kubelet flag "max-pod" \(known: max-pods, /);
    assert.throws(() => parseKubeletArgs(['max-pods']), /flag --max-pods needs a value/);
    assert.throws(() => parseKubeletArgs(['max-pods=ten']), /invalid value "ten" for flag --max-pods/);
    assert.throws(() => parseKubeletArgs(['max-pods=0']), /--max-pods must be at least 1/);
    assert.throws(() => parseKubeletArgs(['container-log-max-files=1']), /at least 2/);
    assert.throws(() => parseKubeletArgs(['container-log-max-size=lots']), /container-log-max-size/);
    assert.throws(() => parseKubeletArgs(['node-status-update-frequency=0s']), /greater than 0/);
  });
});
