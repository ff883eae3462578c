// The network probers against real servers on loopback: HTTP (2xx/3xx pass, 4xx/5xx fail, headers
// sent, refused connection), TCP, and gRPC health checking (a @grpc/grpc-js server implementing
// grpc.health.v1.Health/Check: SERVING passes; NOT_SERVING, an unimplemented service and no server
// fail with kubelet's messages).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { grpcProbe, httpProbe, tcpProbe } from './probers.js';

let web: http.Server;
let webPort = 0;
let seen: http.IncomingHttpHeaders = {};
let health: grpc.Server;
let healthPort = 0;
let closedPort = 0;

before(async () => {
  web = http.createServer((req, res) => {
    seen = req.headers;
    const code = Number(req.url?.slice(1)) || 200;
    res.writeHead(code, code === 302 ? { location: '/200' } : {});
    res.end(`status ${code}`);
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webPort = (web.address() as net.AddressInfo).port;
  // HealthCheckRequest{service}: field 1 (string); HealthCheckResponse{status}: field 1 (enum).
  health = new grpc.Server();
  health.addService(
    {
      Check: {
        path: '/grpc.health.v1.Health/Check',
        requestStream: false,
        responseStream: false,
        requestSerialize: (r: { service: string }) => Buffer.from(r.service),
        // An object, not the bare string: grpc-js refuses a falsy request ('' for the empty service).
        requestDeserialize: (b: Buffer) => ({ service: b.length > 2 ? b.subarray(2).toString() : '' }),
        responseSerialize: (n: number) => Buffer.from([0x08, n]),
        responseDeserialize: (b: Buffer) => b[1],
      },
    },
    {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, number>, cb: grpc.sendUnaryData<number>) => {
        if (call.request.service === 'missing') return cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
        cb(null, call.request.service === 'down' ? 2 : 1);
      },
    },
  );
  healthPort = await new Promise<number>((resolve, reject) =>
    health.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const tmp = net.createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
  closedPort = (tmp.address() as net.AddressInfo).port;
  await new Promise((r) => tmp.close(r));
});

after(() => {
  web.close();
  health.forceShutdown();
});

test('httpGet: 2xx and 3xx pass, 4xx and 5xx fail; path, headers and the kube-probe user agent are sent', async () => {
  const ok = await httpProbe(
    { path: '/200', port: webPort, httpHeaders: [{ name: 'X-Probe', value: 'yes' }] },
    '127.0.0.1',
    webPort,
    1000,
  );
  assert.deepEqual(ok, { ok: true, output: 'status 200' });
  assert.equal(seen['x-probe'], 'yes');
  assert.match(String(seen['user-agent']), /^kube-probe\/1\.\d+$/);
  assert.equal((await httpProbe({ path: '/302', port: webPort }, '127.0.0.1', webPort, 1000)).ok, true);
  assert.deepEqual(await httpProbe({ path: '/503', port: webPort }, '127.0.0.1', webPort, 1000), {
    ok: false,
    output: 'HTTP probe failed with statuscode: 503',
  });
  assert.equal((await httpProbe({ path: '404', port: webPort }, '127.0.0.1', webPort, 1000)).ok, false);
  const refused = await httpProbe({ path: '/', port: closedPort }, '127.0.0.1', closedPort, 1000);
  assert.deepEqual(refused, {
    ok: false,
    output: `Get "http://127.0.0.1:${closedPort}/": dial tcp 127.0.0.1:${closedPort}: connect: connection refused`,
  });
});

test('tcpSocket: a listening port passes, a closed one fails as kubelet says', async () => {
  assert.deepEqual(await tcpProbe('127.0.0.1', webPort, 1000), { ok: true, output: '' });
  assert.deepEqual(await tcpProbe('127.0.0.1', closedPort, 1000), {
    ok: false,
    output: `dial tcp 127.0.0.1:${closedPort}: connect: connection refused`,
  });
});

test('grpc: SERVING passes; NOT_SERVING, an unknown service and no server fail', async () => {
  assert.deepEqual(await grpcProbe('127.0.0.1', healthPort, '', 2000), { ok: true, output: '' });
  assert.deepEqual(await grpcProbe('127.0.0.1', healthPort, 'down', 2000), {
    ok: false,
    output: 'service unhealthy (responded with "NOT_SERVING")',
  });
  assert.deepEqual(await grpcProbe('127.0.0.1', healthPort, 'missing', 2000), {
    ok: false,
    output: 'error: health rpc probe failed: unknown service',
  });
  assert.deepEqual(await grpcProbe('127.0.0.1', closedPort, '', 1000), {
    ok: false,
    output: `timeout: failed to connect service "127.0.0.1:${closedPort}" within 1s: context deadline exceeded`,
  });
});
