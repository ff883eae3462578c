// The controllers' shared informers cache objects without managedFields (as
// kube-controller-manager's trim transform), and an update written back from such an object keeps
// the stored managedFields: the API server treats the omitted field as "unchanged".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../common/index.js';
import { SharedInformers } from './informers.js';
import { R } from './resources.js';
import { startTestApi, until } from '../../../../test/fixtures/kube-api.js';

test('shared informers drop managedFields; a write-back keeps the stored ones', async () => {
  const api = await startTestApi();
  const infs = new SharedInformers(api.newClient('skiff-controllers'), createLogger({}, { level: 'warn' }));
  const cms = infs.for(R.configmaps);
  try {
    await infs.start();
    const c = api.client;
    const made = await c.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: { metadata: { name: 'trim' }, data: { a: '1' } },
    });
    assert.equal(made.metadata.managedFields?.length, 1, 'the server records the creator');
    await until('the informer has it', () => cms.get('default', 'trim') !== undefined);
    const cached = cms.get('default', 'trim');
    assert.ok(cached);
    assert.equal(cached.metadata.managedFields, undefined, 'cached without managedFields');
    const back = structuredClone(cached);
    back.metadata.labels = { x: 'y' };
    const written = await api
      .newClient('writer')
      .request('PUT', '/api/v1/namespaces/default/configmaps/trim', { body: back });
    const managers = (written.metadata.managedFields ?? []).map((m: { manager: string }) => m.manager);
    const creator = made.metadata.managedFields[0].manager;
    assert.ok(managers.includes(creator), `the creator's entry survives the write-back: ${managers.join(',')}`);
    assert.equal(written.metadata.labels?.x, 'y');
  } finally {
    infs.stop();
    await api.close();
  }
});
