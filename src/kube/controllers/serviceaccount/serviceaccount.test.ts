// ServiceAccount controller against the in-process API server: `default` appears in existing and
// new namespaces, comes back after a delete, and is not made in a terminating namespace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
before(async () => {
  env = await startControllerEnv({ controllers: ['serviceaccount', 'namespace'] });
});
after(() => env?.close());

describe('serviceaccount controller', () => {
  it('keeps a default ServiceAccount in every active namespace', async () => {
    for (const ns of ['default', 'kube-system', env.ns])
      await until(`default SA in ${ns}`, async () =>
        Boolean(await env.maybe(`/api/v1/namespaces/${ns}/serviceaccounts/default`)),
      );
    const ns2 = `${env.ns}-b`;
    await env.post('/api/v1/namespaces', { metadata: { name: ns2 } });
    await until('default SA in a new namespace', async () =>
      Boolean(await env.maybe(`/api/v1/namespaces/${ns2}/serviceaccounts/default`)),
    );
    const old = await env.get(`/api/v1/namespaces/${ns2}/serviceaccounts/default`);
    await env.del(`/api/v1/namespaces/${ns2}/serviceaccounts/default`);
    await until('recreated', async () => {
      const sa = await env.maybe(`/api/v1/namespaces/${ns2}/serviceaccounts/default`);
      return Boolean(sa) && sa.metadata.uid !== old.metadata.uid;
    });
    await env.del(`/api/v1/namespaces/${ns2}`);
    await until('namespace gone', async () => !(await env.maybe(`/api/v1/namespaces/${ns2}`)));
    assert.equal(await env.maybe(`/api/v1/namespaces/${ns2}/serviceaccounts/default`), undefined);
  });
});
