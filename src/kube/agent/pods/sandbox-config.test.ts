// The sandbox's config: /etc/hosts as kubelet writes it, DNS policies, cgroup parents by QoS,
// CPU shares and quotas, and pull-secret credentials matched by registry.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../types.js';
import { credentialsFor, registryHost } from './images.js';
import { milliCpuToQuota, milliCpuToShares, oomScoreAdj, podCgroupParent } from './resources.js';
import { dnsConfig, hostsFile, sandboxConfig, type SandboxSettings } from './sandbox-config.js';

const pod = (spec: Partial<Pod['spec']> = {}): Pod => ({
  metadata: { name: 'web-0', namespace: 'shop', uid: 'aa-bb' },
  spec: { containers: [{ name: 'main', image: 'busybox' }], ...spec },
});

describe('sandbox config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-sbcfg-'));
  const resolv = join(dir, 'resolv.conf');
  writeFileSync(resolv, 'nameserver 192.168.1.1\nsearch corp.example\noptions edns0\n');
  const s: SandboxSettings = {
    podLogsDir: '/var/log/pods',
    cgroupDriver: 'cgroupfs',
    cgroupRoot: '/kubepods',
    seccompRoot: '/var/lib/skiff/agent/seccomp',
    clusterDomain: 'cluster.local',
    clusterDNS: ['10.96.0.10'],
    resolvConf: resolv,
  };

  it('/etc/hosts with hostname, subdomain and host aliases', () => {
    assert.equal(
      hostsFile(
        pod({ hostname: 'web', subdomain: 'db', hostAliases: [{ ip: '1.2.3.4', hostnames: ['a', 'b'] }] }),
        ['10.42.0.5'],
        'cluster.local',
      ),
      '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n' +
        '10.42.0.5\tweb.db.shop.svc.cluster.local\tweb\n\n# Entries added by HostAliases.\n1.2.3.4\ta\tb\n',
    );
    assert.match(hostsFile(pod(), ['10.42.0.6'], 'cluster.local'), /\n10\.42\.0\.6\tweb-0\n$/);
    assert.match(
      hostsFile(pod({ hostNetwork: true }), [], 'cluster.local', resolv),
      /^# Kubernetes-managed hosts file \(host network\)\.\nnameserver/,
    );
  });

  it('DNS: ClusterFirst, Default, None with dnsConfig, the fallback without cluster DNS', () => {
    assert.deepEqual(dnsConfig(pod(), s), {
      config: {
        servers: ['10.96.0.10'],
        searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example'],
        options: ['ndots:5'],
      },
      fallback: false,
    });
    assert.deepEqual(dnsConfig(pod({ dnsPolicy: 'Default' }), s).config.servers, ['192.168.1.1']);
    assert.deepEqual(dnsConfig(pod({ hostNetwork: true }), s).config.servers, ['192.168.1.1']);
    assert.deepEqual(
      dnsConfig(
        pod({
          dnsPolicy: 'None',
          dnsConfig: { nameservers: ['1.1.1.1'], searches: ['x'], options: [{ name: 'ndots', value: '2' }] },
        }),
        s,
      ).config,
      { servers: ['1.1.1.1'], searches: ['x'], options: ['ndots:2'] },
    );
    const fb = dnsConfig(pod(), { ...s, clusterDNS: [] });
    assert.equal(fb.fallback, true);
    assert.deepEqual(fb.config.servers, ['192.168.1.1']);
  });

  it('cgroup parents by QoS and driver; shares, quotas and OOM scores', () => {
    const g = pod({ containers: [{ name: 'm', resources: { limits: { cpu: '500m', memory: '64Mi' } } }] });
    assert.equal(podCgroupParent(pod(), 'cgroupfs'), '/kubepods/besteffort/podaa-bb');
    assert.equal(podCgroupParent(g, 'cgroupfs'), '/kubepods/podaa-bb');
    assert.equal(
      podCgroupParent(pod({ containers: [{ name: 'm', resources: { requests: { cpu: '1' } } }] }), 'systemd'),
      'kubepods-burstable-podaa_bb.slice',
    );
    assert.equal(milliCpuToShares(0), 2);
    assert.equal(milliCpuToShares(500), 512);
    assert.equal(milliCpuToQuota(500), 50000);
    assert.equal(milliCpuToQuota(0), 0);
    assert.equal(oomScoreAdj(g, g.spec.containers[0], 1 << 30), -997);
    assert.equal(oomScoreAdj(pod(), pod().spec.containers[0], 1 << 30), 1000);
    const cfg = sandboxConfig(g, 1, s);
    assert.equal(cfg.linux?.cgroupParent, '/kubepods/podaa-bb');
    assert.equal(cfg.linux?.resources?.cpuQuota, 50000);
    assert.equal(cfg.linux?.resources?.memoryLimitInBytes, 64 << 20);
    assert.equal(cfg.metadata?.attempt, 1);
    assert.equal(cfg.logDirectory, '/var/log/pods/shop_web-0_aa-bb');
  });

  it('pull secrets: credentials chosen by registry host', () => {
    const secret = (auths: object) => ({
      metadata: {},
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64') },
    });
    const s1 = secret({
      'registry.example:5000': { auth: Buffer.from('u1:p1').toString('base64') },
      'https://index.docker.io/v1/': { username: 'hub', password: 'hp' },
    });
    assert.equal(registryHost('busybox'), 'docker.io');
    assert.equal(registryHost('registry.example:5000/app:1'), 'registry.example:5000');
    assert.deepEqual(
      credentialsFor('registry.example:5000/app:1', [s1]).map((c) => [c.username, c.password]),
      [['u1', 'p1']],
    );
    assert.deepEqual(
      credentialsFor('library/busybox', [s1]).map((c) => c.username),
      ['hub'],
    );
    assert.deepEqual(credentialsFor('other.example/x', [s1]), []);
    rmSync(dir, { recursive: true, force: true });
  });
});
