import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router, Query, parseFilters, matchLabels, splitVersion, compareVersions, stdcopyFrame } from './router.js';
import { EventBus, eventMatches, parseEventTime, parseGoDuration } from '../events.js';
import { parseDetachKeys } from '../services/containers/streams.js';
import { parseCreateBody, mergeConfig, parseMounts, validateName } from '../services/containers/create.js';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, invalidArgument } from '../../common/index.js';
import { createApiServer } from './server.js';

test('router: params, versions, method mismatch', () => {
  const r = new Router();
  r.get('/containers/:id/json', () => 'inspect');
  r.post('/containers/:id/start', () => 'start');
  const m = r.match('GET', '/containers/abc/json');
  assert.ok(m && 'handler' in m);
  assert.deepEqual(m.params, { id: 'abc' });
  assert.deepEqual(r.match('DELETE', '/containers/abc/json'), { methodNotAllowed: true });
  assert.equal(r.match('GET', '/nope'), undefined);
  assert.deepEqual(splitVersion('/v1.45/containers/json'), { version: '1.45', path: '/containers/json' });
  assert.deepEqual(splitVersion('/_ping'), { path: '/_ping' });
  assert.equal(compareVersions('1.24', '1.45'), -1);
  assert.equal(compareVersions('1.45', '1.45.0'), 0);
});

test('filters: both encodings, labels, bad JSON names the field', () => {
  assert.deepEqual(parseFilters('{"label":{"a=b":true}}'), { label: ['a=b'] });
  assert.deepEqual(parseFilters('{"status":["running"]}'), { status: ['running'] });
  assert.throws(
    () => parseFilters('{bad'),
    (e: Error & { field?: string }) => e.field === 'filters',
  );
  assert.ok(matchLabels({ a: 'b', c: '' }, ['a=b', 'c']));
  assert.ok(!matchLabels({ a: 'x' }, ['a=b']));
  const q = new Query(new URLSearchParams('all=1&stream=0&t=5&x=False'));
  assert.equal(q.bool('all'), true);
  assert.equal(q.bool('stream', true), false);
  assert.equal(q.bool('x'), false);
  assert.equal(q.int('t'), 5);
  assert.throws(() => new Query(new URLSearchParams('t=abc')).int('t'), /invalid syntax/);
});

test('events: filters, since/until, durations', () => {
  const bus = new EventBus(3);
  for (const a of ['create', 'start', 'die', 'destroy'])
    bus.emit({ Type: 'container', Action: a, id: 'abc123', attributes: { name: 'web', image: 'busybox', tier: 'x' } });
  assert.equal(bus.past({}).length, 3, 'ring is bounded');
  assert.equal(bus.past({ event: ['die'] }).length, 1);
  assert.equal(bus.past({ container: ['web'] }).length, 3);
  assert.equal(bus.past({ label: ['tier=x'] }).length, 3);
  assert.equal(bus.past({ type: ['image'] }).length, 0);
  const e = bus.emit({ Type: 'container', Action: 'health_status: healthy', id: 'abc', attributes: {} });
  assert.ok(eventMatches(e, { event: ['health_status'] }));
  assert.equal(e.status, 'health_status: healthy');
  assert.equal(parseGoDuration('1h30m'), 5_400_000);
  assert.equal(parseEventTime('10m', 1_000_000), (1_000_000 - 600_000) / 1000);
  assert.equal(parseEventTime('1700000000.5'), 1700000000.5);
  assert.equal(parseEventTime('nonsense'), undefined);
});

test('stdcopy frames and detach keys', () => {
  assert.deepEqual([...stdcopyFrame(2, Buffer.from('hi'))], [2, 0, 0, 0, 0, 0, 0, 2, 104, 105]);
  assert.deepEqual(parseDetachKeys(undefined), [16, 17]);
  assert.deepEqual(parseDetachKeys('ctrl-a,x'), [1, 120]);
  assert.throws(() => parseDetachKeys('ctrl-~~'), /Invalid detach keys/);
});

test('create: validation names the field, image config merge', () => {
  assert.throws(
    () => parseCreateBody({ Image: 'busybox', Tty: 'yes' }),
    (e: Error & { field?: string }) => e.field === 'Tty',
  );
  assert.throws(() => parseCreateBody(undefined), /config cannot be empty/);
  assert.throws(() => validateName('bad name'), /Invalid container name/);
  assert.equal(validateName('good_name-1'), '/good_name-1');
  const image = {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers' as const, diff_ids: [] },
    config: {
      Entrypoint: ['/entry'],
      Cmd: ['default'],
      Env: ['PATH=/bin', 'A=1'],
      WorkingDir: '/w',
      Labels: { l: '1' },
    },
  };
  const m = mergeConfig(parseCreateBody({ Image: 'x', Env: ['A=2', 'B=3'] }), image, 'f'.repeat(64));
  assert.equal(m.path, '/entry');
  assert.deepEqual(m.args, ['default']);
  assert.deepEqual(m.config.Env, ['PATH=/bin', 'A=2', 'B=3']);
  assert.equal(m.config.WorkingDir, '/w');
  assert.equal(m.config.Hostname, 'ffffffffffff');
  const o = mergeConfig(parseCreateBody({ Image: 'x', Entrypoint: ['sh'] }), image, 'f'.repeat(64));
  assert.deepEqual([o.path, ...o.args], ['sh'], 'an overridden entrypoint drops the image Cmd');
  assert.throws(
    () =>
      mergeConfig(
        parseCreateBody({ Image: 'x', HostConfig: { PortBindings: { '70000/tcp': [{}] } } }),
        image,
        'f'.repeat(64),
      ),
    (e: Error & { field?: string }) => e.field === 'HostConfig.PortBindings' && e.message.endsWith('"70000"'),
  );
  // dockerd takes any ExposedPorts key (and runs the container)
  mergeConfig(parseCreateBody({ Image: 'x', ExposedPorts: { '70000/tcp': {} } }), image, 'f'.repeat(64));
  const mounts = parseMounts(
    parseCreateBody({ Image: 'x', HostConfig: { Binds: ['vol:/data:ro', '/host:/h'], Tmpfs: { '/t': 'size=1m' } } }),
    ['/data', '/img'],
  );
  assert.deepEqual(
    mounts.map((x) => [x.Type, x.Destination, x.RW]),
    [
      ['volume', '/data', false],
      ['bind', '/h', true],
      ['tmpfs', '/t', true],
      ['volume', '/img', true],
    ],
  );
  assert.throws(
    () => parseMounts(parseCreateBody({ Image: 'x', HostConfig: { Binds: ['a:b:c:d'] } }), []),
    (e: Error & { field?: string }) => e.field === 'HostConfig.Binds',
  );
});

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
