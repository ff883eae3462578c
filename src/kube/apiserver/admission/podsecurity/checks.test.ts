// Table-driven cases of the Pod Security checks, with upstream's wording for each (the same cases
// upstream's policy tests use where they exist).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksFor, describe, evaluatePod } from './checks.js';

const run = (level: 'baseline' | 'restricted', spec: Record<string, unknown>, meta = {}, minor = 32) =>
  describe(evaluatePod(level, minor, meta, spec));

test('order: baseline checks by ID, then restricted; restricted replaces the overlapping baseline checks', () => {
  const ids = checksFor('restricted').map((c) => c.id);
  assert.ok(!ids.includes('capabilities_baseline') && !ids.includes('seccompProfile_baseline'));
  assert.ok(!ids.includes('hostPathVolumes'));
  assert.ok(ids.indexOf('privileged') < ids.indexOf('allowPrivilegeEscalation'));
  assert.deepEqual(checksFor('privileged'), []);
});

test('runAsNonRoot: explicit false wins over missing; pod-level true covers containers', () => {
  const c = (name: string, v?: boolean) => ({
    name,
    ...(v === undefined ? {} : { securityContext: { runAsNonRoot: v } }),
  });
  const only = (s: string) => s.split('), ').find((x) => x.startsWith('runAsNonRoot'));
  assert.equal(
    only(
      run('restricted', {
        securityContext: { runAsNonRoot: true },
        containers: [c('a'), c('c', false), c('d', false), c('e', true)],
      }),
    ),
    'runAsNonRoot != true (containers "c", "d" must not set securityContext.runAsNonRoot=false',
  );
  assert.equal(
    only(run('restricted', { containers: [c('a'), c('b'), c('d', true)] })),
    'runAsNonRoot != true (pod or containers "a", "b" must set securityContext.runAsNonRoot=true',
  );
  assert.equal(
    only(run('restricted', { securityContext: { runAsNonRoot: false }, containers: [c('a')] })),
    'runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false',
  );
});

test('baseline wording: host ports, SELinux, procMount, seccomp, AppArmor, sysctls by version', () => {
  assert.equal(
    run('baseline', {
      containers: [
        { name: 'a', ports: [{ containerPort: 80, hostPort: 80 }] },
        { name: 'b', ports: [{ containerPort: 443, hostPort: 443 }] },
      ],
    }),
    'hostPort (containers "a", "b" use hostPorts 443, 80)',
  );
  assert.equal(
    run('baseline', { securityContext: { seLinuxOptions: { type: 'spc_t', user: 'u' } }, containers: [{ name: 'a' }] }),
    'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)',
  );
  assert.equal(
    run('baseline', { containers: [{ name: 'd', securityContext: { procMount: 'Unmasked' } }] }),
    'procMount (container "d" must not set securityContext.procMount to "Unmasked")',
  );
  assert.equal(
    run('baseline', {
      securityContext: { seccompProfile: { type: 'Unconfined' } },
      containers: [{ name: 'a', securityContext: { seccompProfile: { type: 'Unconfined' } } }],
    }),
    'seccompProfile (pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined")',
  );
  assert.equal(
    run(
      'baseline',
      { containers: [{ name: 'a' }] },
      { annotations: { 'container.apparmor.security.beta.kubernetes.io/a': 'unconfined' } },
    ),
    'forbidden AppArmor profile (container.apparmor.security.beta.kubernetes.io/a="unconfined")',
  );
  const sysctl = {
    securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem' }, { name: 'kernel.msgmax' }] },
    containers: [],
  };
  assert.equal(run('baseline', sysctl), 'forbidden sysctls (kernel.msgmax)');
  assert.equal(run('baseline', sysctl, {}, 31), 'forbidden sysctls (net.ipv4.tcp_rmem, kernel.msgmax)');
});

test('restricted wording: capabilities, volumes, runAsUser', () => {
  assert.equal(
    run('restricted', {
      securityContext: { runAsNonRoot: true, runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } },
      volumes: [
        { name: 'n', nfs: { server: 'x', path: '/' } },
        { name: 'h', hostPath: { path: '/' } },
      ],
      containers: [
        {
          name: 'a',
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'], add: ['SYS_ADMIN', 'NET_BIND_SERVICE'] },
          },
        },
      ],
    }),
    'unrestricted capabilities (container "a" must not include "SYS_ADMIN" in securityContext.capabilities.add), restricted volume types (volumes "n", "h" use restricted volume types "hostPath", "nfs"), runAsUser=0 (pod must not set runAsUser=0)',
  );
});
