import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSkiffError } from '../../common/index.js';
import { checkContainerUserns, podUserns } from './userns.js';

const one = [{ containerId: 0, hostId: 65536, length: 65536 }];
const refused = (o: Parameters<typeof podUserns>[0], re: RegExp) =>
  assert.throws(
    () => podUserns(o),
    (e) => isSkiffError(e, 'InvalidArgument') && re.test((e as Error).message),
  );

test('userns_options: POD takes one mapping of container id 0; NODE is the host; others are refused', () => {
  assert.equal(podUserns(undefined), undefined);
  assert.equal(podUserns({ mode: 'NODE', uids: [], gids: [] }), undefined);
  assert.deepEqual(podUserns({ mode: 'POD', uids: one, gids: one }), {
    uids: [{ containerID: 0, hostID: 65536, size: 65536 }],
    gids: [{ containerID: 0, hostID: 65536, size: 65536 }],
  });
  refused({ mode: 'POD', uids: [], gids: [] }, /needs one uid and one gid mapping/);
  refused({ mode: 'POD', uids: one, gids: [] }, /needs one uid and one gid mapping/);
  refused({ mode: 'POD', uids: [...one, { containerId: 0, hostId: 2000, length: 1 }], gids: one }, /only one uid/);
  refused({ mode: 'POD', uids: [{ containerId: 1, hostId: 1000, length: 10 }], gids: one }, /container uid 0/);
  refused({ mode: 'POD', uids: [{ containerId: 0, hostId: 1000, length: 0 }], gids: one }, /invalid uid mapping/);
  refused({ mode: 'POD', uids: one, gids: [{ containerId: 0, hostId: 2 ** 32 - 10, length: 65536 }] }, /invalid gid/);
  refused({ mode: 'NODE', uids: one, gids: one }, /mode NODE takes no id mappings/);
  refused({ mode: 'CONTAINER' }, /unsupported mode CONTAINER/);
  refused({ mode: 3 }, /unsupported mode TARGET/);
});

test("a container's userns_options must be its pod's", () => {
  const pod = podUserns({ mode: 'POD', uids: one, gids: one });
  const ctr = (o: unknown) => ({ linux: { securityContext: { namespaceOptions: { usernsOptions: o } } } }) as never;
  checkContainerUserns(ctr(undefined), pod);
  checkContainerUserns(ctr({ mode: 'POD', uids: one, gids: one }), pod);
  assert.throws(() => checkContainerUserns(ctr({ mode: 'NODE' }), pod), /differ from its pod sandbox/);
  assert.throws(
    () => checkContainerUserns(ctr({ mode: 'POD', uids: one, gids: one }), undefined),
    /differ from its pod sandbox/,
  );
});
