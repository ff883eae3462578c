// The history wording of dockerd 20.10's classic builder: Go's %q of strings, lists, durations and
// the HealthConfig struct, as `docker history` shows them for images dockerd built (the values
// below are from such images: test/fixtures/dockerfiles 05, 15, 17, 18 and 34).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  goDuration,
  goHealthcheck,
  goQuote,
  goQuoteList,
  nop,
  nopString,
  runCreatedBy,
  sourcesName,
} from './history.js';

test('Go quoting of strings and string lists', () => {
  assert.equal(goQuoteList(['echo', 'hi']), '["echo" "hi"]');
  assert.equal(goQuoteList(['/bin/sh', '-c', 'echo $HOME']), '["/bin/sh" "-c" "echo $HOME"]');
  assert.equal(goQuote('a"b\\c\nd\te\x01é'), '"a\\"b\\\\c\\nd\\te\\x01é"');
  assert.equal(goQuoteList(null), '[]');
});

test('Go durations', () => {
  const s = 1e9;
  assert.deepEqual([0, 5 * s, 1.5 * s, 90 * s, 3600 * s, 3661 * s, 500e6, 1.5e6, 2e3, 7].map(goDuration), [
    '0s',
    '5s',
    '1.5s',
    '1m30s',
    '1h0m0s',
    '1h1m1s',
    '500ms',
    '1.5ms',
    '2µs',
    '7ns',
  ]);
});

test('HEALTHCHECK as %q of the struct (retries as a quoted rune)', () => {
  assert.equal(
    goHealthcheck({ Test: ['CMD-SHELL', 'echo ok'], Interval: 5e9, Timeout: 3e9, StartPeriod: 1e9, Retries: 4 }),
    `&{["CMD-SHELL" "echo ok"] "5s" "3s" "1s" '\\x04'}`,
  );
  assert.equal(goHealthcheck({ Test: ['NONE'] }), `&{["NONE"] "0s" "0s" "0s" '\\x00'}`);
  assert.equal(goHealthcheck({ Test: ['CMD', 'true'], Retries: 65 }), `&{["CMD" "true"] "0s" "0s" "0s" 'A'}`);
});

test('comments, RUN with build args, COPY source names', () => {
  assert.equal(nop(['/bin/sh', '-xc'], 'SHELL [/bin/sh -xc]'), '/bin/sh -xc #(nop)  SHELL [/bin/sh -xc]');
  assert.equal(nopString(['/bin/sh', '-c'], 'WORKDIR /a'), '/bin/sh -c #(nop) WORKDIR /a');
  assert.equal(runCreatedBy(['/bin/sh', '-c', 'echo $X'], []), '/bin/sh -c echo $X');
  assert.equal(runCreatedBy(['/bin/sh', '-c', 'true'], ['Z=1', 'A=x y']), '|2 A=x y Z=1 /bin/sh -c true');
  assert.equal(sourcesName([{ kind: 'dir', hash: 'ab' }]), 'dir:ab');
  assert.match(
    sourcesName([
      { kind: 'file', hash: 'a' },
      { kind: 'dir', hash: 'b' },
    ]),
    /^multi:[0-9a-f]{64}$/,
  );
});
