// Root CA publisher against the in-process API server: kube-root-ca.crt with the cluster CA in
// every namespace, edits undone, deletes re-created.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../common/index.js';
import { startControllers, type RunningControllers } from '../index.js';
import { startTestApi, until, type TestApi } from '../../../../test/fixtures/kube-api.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBroot\n-----END CERTIFICATE-----\n';
let api: TestApi, ctl: RunningControllers;
const cm = (ns: string) => `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`;
const get = async (path: string) => api.client.request('GET', path).catch(() => undefined);

before(async () => {
  api = await startTestApi();
  ctl = await startControllers(api.newClient(), {
    log: createLogger({}, { level: 'warn' }),
    controllers: ['root-ca-cert-publisher'],
    rootCA: CA,
  });
});
after(async () => {
  ctl?.stop();
  await api?.close();
});

describe('root CA publisher', () => {
  it('publishes kube-root-ca.crt in every namespace and keeps it', async () => {
    await until('in default', async () => (await get(cm('default')))?.data?.['ca.crt'] === CA);
    const ns = `rc-${Math.random().toString(36).slice(2, 8)}`;
    await api.client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
    await until('in a new namespace', async () => (await get(cm(ns)))?.data?.['ca.crt'] === CA);
    assert.match((await get(cm(ns))).metadata.annotations['kubernetes.io/description'], /verify the kube-apiserver/);
    await api.client.request('PATCH', cm(ns), {
      body: { data: { 'ca.crt': 'tampered' } },
      contentType: 'application/merge-patch+json',
    });
    await until('restored', async () => (await get(cm(ns)))?.data?.['ca.crt'] === CA);
    await api.client.request('DELETE', cm(ns));
    await until('re-created', async () => (await get(cm(ns)))?.data?.['ca.crt'] === CA);
  });
});
