import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from './changes.js';

test('import --change instructions', () => {
  const c = applyChanges({ Env: ['PATH=/bin'] }, [
    'CMD echo hi',
    'ENTRYPOINT ["/init"]',
    'ENV PATH=/usr/bin:/bin X="a b"',
    'ENV LEGACY some value',
    'EXPOSE 8000-8002/udp 80',
    'LABEL a=1 "b c"=2',
    'USER 1000:1000',
    'WORKDIR /app',
    'WORKDIR sub',
    'VOLUME ["/data"]',
    'VOLUME /logs /tmp',
    'STOPSIGNAL SIGINT',
    'onbuild RUN make',
  ]);
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo hi']);
  assert.deepEqual(c.Entrypoint, ['/init']);
  assert.deepEqual(c.Env, ['PATH=/usr/bin:/bin', 'X=a b', 'LEGACY=some value']);
  assert.deepEqual(Object.keys(c.ExposedPorts!).sort(), ['80/tcp', '8000/udp', '8001/udp', '8002/udp']);
  assert.deepEqual(c.Labels, { a: '1', 'b c': '2' });
  assert.equal(c.User, '1000:1000');
  assert.equal(c.WorkingDir, '/app/sub');
  assert.deepEqual(Object.keys(c.Volumes!).sort(), ['/data', '/logs', '/tmp']);
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.OnBuild, ['RUN make']);
  assert.throws(() => applyChanges({}, ['COPY a b']), /changes\[0\]: COPY is not a valid change/);
  assert.throws(() => applyChanges({}, ['CMD ["a"]', 'EXPOSE 99999']), /changes\[1\]: invalid port "99999"/);
  assert.throws(() => applyChanges({}, ['LABEL a="unterminated']), /unterminated quote/);
});
