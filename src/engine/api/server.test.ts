import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, invalidArgument } from '../../common/index.js';
import { Router } from './router.js';
import { createApiServer } from './server.js';

// An internal error (500) reaches the log at error level whatever SKIFF_DEBUG says; a client's
// error (4xx) is only its answer.
test('API edge: a 500 is logged at error level, a 400 is not; both answer {"message"}', async (t) => {
  const lines: string[] = [];
  const log = createLogger({}, { level: 'error', json: true, write: (l) => lines.push(l) });
  const r = new Router();
  r.get('/boom', () => {
    throw new TypeError('cannot read properties of undefined');
  });
  r.get('/bad', () => {
    throw invalidArgument('invalid filter');
  });
  const server = createApiServer(r, { apiVersion: '1.51', minApiVersion: '1.24', version: '28.0.0' }, log);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((res, rej) => {
      request({ host: '127.0.0.1', port, path }, (m) => {
        let body = '';
        m.on('data', (c) => (body += c));
        m.on('end', () => res({ status: m.statusCode ?? 0, body }));
      })
        .on('error', rej)
        .end();
    });
  const boom = await get('/v1.51/boom');
  assert.equal(boom.status, 500);
  assert.deepEqual(JSON.parse(boom.body), { message: 'cannot read properties of undefined' });
  const bad = await get('/v1.51/bad');
  assert.equal(bad.status, 400);
  assert.equal(lines.length, 1, lines.join('\n'));
  const rec = JSON.parse(lines[0]);
  assert.equal(rec.level, 'error');
  assert.equal(rec.path, '/v1.51/boom');
  assert.equal(rec.error, 'cannot read properties of undefined');
});
