import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, parseDuration } from './parser.js';
import { expandWord, expandWords } from './shell-words.js';
import { parseDockerignore, globToRegExp } from './dockerignore.js';

const one = (src: string) => parseDockerfile(`FROM scratch\n${src}`).stages[0].instructions;

test('every instruction parses into its AST node', () => {
  const df = parseDockerfile(`# syntax=docker/dockerfile:1
# check=skip=all
ARG BASE=busybox
FROM --platform=linux/amd64 \${BASE} AS build
RUN --mount=type=cache,target=/c --network=none echo hi
RUN ["sh", "-c", "true"]
CMD ["sh"]
ENTRYPOINT /bin/sh -c
ENV A=1 B="two words" C=three\\ four
ENV LEGACY value with spaces
LABEL a=b "c d"=e
ARG X Y=2
EXPOSE 80 53/udp
COPY --from=build --chown=user:grp --chmod=755 --link a b* /dst/
ADD x.tar.gz /y/
WORKDIR /w
USER 1000:1000
VOLUME ["/v1", "/v2"]
VOLUME /v3 /v4
HEALTHCHECK --interval=5s --retries=3 CMD ["true"]
SHELL ["/bin/sh", "-ec"]
STOPSIGNAL SIGTERM
ONBUILD RUN echo on
MAINTAINER me
FROM build
HEALTHCHECK NONE
`);
  assert.deepEqual(df.directives, { syntax: 'docker/dockerfile:1', check: 'skip=all' });
  assert.equal(df.globalArgs[0].args[0].default, 'busybox');
  assert.equal(df.stages.length, 2);
  const s = df.stages[0];
  assert.equal(s.name, 'build');
  assert.equal(s.from.flags.platform, 'linux/amd64');
  const k = s.instructions.map((i) => i.kind);
  assert.deepEqual(k, [
    'RUN',
    'RUN',
    'CMD',
    'ENTRYPOINT',
    'ENV',
    'ENV',
    'LABEL',
    'ARG',
    'EXPOSE',
    'COPY',
    'ADD',
    'WORKDIR',
    'USER',
    'VOLUME',
    'VOLUME',
    'HEALTHCHECK',
    'SHELL',
    'STOPSIGNAL',
    'ONBUILD',
    'MAINTAINER',
  ]);
  const [run1, run2, cmd, ep, env, legacy, label, arg, expose, copy, , , , vol1, vol2, hc, , , onb] = s.instructions;
  assert.ok(
    run1.kind === 'RUN' &&
      run1.flags.mount === 'type=cache,target=/c' &&
      run1.flags.network === 'none' &&
      run1.cmd.form === 'shell',
  );
  assert.ok(run2.kind === 'RUN' && run2.cmd.form === 'exec' && run2.cmd.args.join() === 'sh,-c,true');
  assert.ok(cmd.kind === 'CMD' && cmd.cmd.form === 'exec');
  assert.ok(ep.kind === 'ENTRYPOINT' && ep.cmd.form === 'shell' && ep.cmd.command === '/bin/sh -c');
  assert.ok(env.kind === 'ENV');
  assert.deepEqual(env.pairs, [
    ['A', '1'],
    ['B', '"two words"'],
    ['C', 'three\\ four'],
  ]);
  assert.deepEqual(
    env.pairs.map(([, v]) => expandWord(v, {})),
    ['1', 'two words', 'three four'],
  );
  assert.ok(legacy.kind === 'ENV' && legacy.pairs[0][0] === 'LEGACY' && legacy.pairs[0][1] === 'value with spaces');
  assert.ok(label.kind === 'LABEL' && label.pairs[1][0] === '"c d"');
  assert.ok(arg.kind === 'ARG' && arg.args[0].default === undefined && arg.args[1].default === '2');
  assert.ok(expose.kind === 'EXPOSE' && expose.ports.join() === '80,53/udp');
  assert.ok(
    copy.kind === 'COPY' &&
      copy.flags.from === 'build' &&
      copy.flags.link === 'true' &&
      copy.sources.join() === 'a,b*' &&
      copy.dest === '/dst/',
  );
  assert.ok(vol1.kind === 'VOLUME' && vol1.json && vol1.paths.length === 2);
  assert.ok(vol2.kind === 'VOLUME' && !vol2.json && vol2.paths.join() === '/v3,/v4');
  assert.ok(hc.kind === 'HEALTHCHECK' && hc.test.type === 'CMD' && hc.flags.interval === '5s');
  assert.ok(onb.kind === 'ONBUILD' && onb.inner.kind === 'RUN' && onb.trigger === 'RUN echo on');
  assert.ok(df.stages[1].instructions[0].kind === 'HEALTHCHECK');
});

test('continuations skip comments and blank lines; escape directive', () => {
  const [r] = one('RUN echo a \\\n# comment\n\n   && echo b \\  \n  c');
  assert.ok(r.kind === 'RUN' && r.cmd.form === 'shell');
  assert.equal(r.cmd.command, 'echo a    && echo b   c');
  const df = parseDockerfile('# escape=`\nFROM scratch\nCOPY a `\n  c:\\\\dir\\\\\n');
  const c = df.stages[0].instructions[0];
  assert.ok(c.kind === 'COPY' && c.dest === 'c:\\\\dir\\\\');
  assert.equal(df.escape, '`');
});

test('heredocs: several, quoted (no expansion), <<- strips tabs, COPY <<EOF', () => {
  const [r, c] = one(
    'RUN <<EOF1 cat - <<-"EOF2"\necho $HOME\nEOF1\n\tliteral $X\n\tEOF2\nCOPY <<EOF /etc/conf\nk=v\nEOF\n',
  );
  assert.ok(r.kind === 'RUN');
  assert.deepEqual(r.heredocs, [
    { name: 'EOF1', content: 'echo $HOME\n', expand: true, chomp: false },
    { name: 'EOF2', content: 'literal $X\n', expand: false, chomp: true },
  ]);
  assert.ok(
    c.kind === 'COPY' && c.sources.join() === '<<EOF' && c.dest === '/etc/conf' && c.heredocs[0].content === 'k=v\n',
  );
  assert.throws(() => one('RUN <<EOF\nno end\n'), /Dockerfile:2: unterminated heredoc <<EOF/);
});

test('errors name the line and the instruction', () => {
  assert.throws(
    () => parseDockerfile('FROM busybox\n\n# c\nCOPPY a b\n'),
    /^Error: Dockerfile:4: unknown instruction: COPPY$|Dockerfile:4: unknown instruction: COPPY/,
  );
  assert.throws(() => parseDockerfile('RUN x\n'), /Dockerfile:1: RUN: no build stage/);
  assert.throws(() => parseDockerfile('FROM a\nCOPY onlyone\n'), /Dockerfile:2: COPY requires at least two arguments/);
  assert.throws(() => parseDockerfile('FROM a\nCOPY --bogus=1 a b\n'), /Dockerfile:2: COPY: unknown flag: --bogus/);
  assert.throws(
    () => parseDockerfile('FROM a\nSHELL sh -c\n'),
    /Dockerfile:2: SHELL requires the arguments to be in JSON form/,
  );
  assert.throws(
    () => parseDockerfile('FROM a\nHEALTHCHECK --interval=abc CMD true\n'),
    /Dockerfile:2: HEALTHCHECK: --interval: invalid duration/,
  );
  assert.throws(() => parseDockerfile('FROM a AS x\nFROM b AS x\n'), /Dockerfile:2: duplicate stage name "x"/);
  assert.throws(
    () => parseDockerfile('FROM a\nONBUILD FROM b\n'),
    /Dockerfile:2: FROM isn't allowed as an ONBUILD trigger/,
  );
  assert.throws(() => parseDockerfile('FROM a\nENV A="x\n'), /Dockerfile:2: ENV: unterminated double quote/);
  assert.throws(() => parseDockerfile('# just a comment\n'), /no FROM instruction/);
  assert.throws(() => parseDockerfile('FROM a b\n'), /Dockerfile:1: FROM requires either one or three/);
});

test('variable substitution', () => {
  const env = { A: 'a', E: '', S: 'x y' };
  assert.equal(expandWord('$A-${A}', env), 'a-a');
  assert.equal(expandWord('${U:-def}|${E:-def}|${E-def}|${U-def}', env), 'def|def||def');
  assert.equal(expandWord('${A:+alt}|${E:+alt}|${E+alt}|${U+alt}', env), 'alt||alt|');
  assert.equal(expandWord('\'$A\'"$A"\\$A', env), '$A' + 'a' + '$A');
  assert.equal(expandWord('"\\"q\\""', env), '"q"');
  assert.deepEqual(expandWords('$S "$S" z', env), ['x', 'y', 'x y', 'z']);
  assert.equal(expandWord('${U:-${A}b}', env), 'ab');
  assert.throws(() => expandWord('${U:?must be set}', env), /U: must be set/);
  assert.throws(() => expandWord('${A', env), /missing '}'/);
  assert.equal(expandWord('cost $5', env), 'cost $5');
});

test('.dockerignore: Go match semantics, **, ! exceptions, parent dirs', () => {
  const m = parseDockerignore('# comment\n*.log\n!keep.log\n**/tmp\nbuild/\n/abs\nsecret?.txt\n[a-c].md\n');
  assert.ok(m.ignores('x.log'));
  assert.ok(!m.ignores('keep.log'));
  assert.ok(!m.ignores('sub/x.log'), '* does not cross /');
  assert.ok(m.ignores('tmp') && m.ignores('a/b/tmp') && m.ignores('a/tmp/f'));
  assert.ok(m.ignores('build/out/bin'));
  assert.ok(m.ignores('abs'));
  assert.ok(m.ignores('secret1.txt') && !m.ignores('secret12.txt'));
  assert.ok(m.ignores('b.md') && !m.ignores('d.md'));
  assert.ok(!m.ignores('src/main.c'));
  assert.ok(globToRegExp('[^a]x').test('bx') && !globToRegExp('[^a]x').test('ax'));
  assert.ok(globToRegExp('a\\*').test('a*') && !globToRegExp('a\\*').test('ab'));
});

test('.dockerignore: an excluded directory is walked only when an exception starts with its path', () => {
  // the docker CLI's context walker: `!dir/keep` reaches into `dir`; `!**/keep` does not
  const m = parseDockerignore('dir\n!dir/keep\nother\n!**/keep\nsub/*\n!sub/k\n');
  assert.ok(m.ignores('dir') && !m.ignores('dir/keep') && m.ignores('dir/x'));
  assert.ok(m.walksInto('dir') && m.walksInto('/dir/'));
  assert.ok(!m.walksInto('other'), 'a wildcard exception does not reach into an excluded directory');
  assert.ok(m.walksInto('sub/k') && !m.walksInto('sub/j'));
  assert.ok(!parseDockerignore('dir\n').walksInto('dir'));
});

test('durations', () => {
  assert.equal(parseDuration('30s'), 30e9);
  assert.equal(parseDuration('1m30s'), 90e9);
  assert.equal(parseDuration('500ms'), 5e8);
  assert.equal(parseDuration('5'), undefined);
});
