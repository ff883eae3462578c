// A StatefulSet revision's name is upstream's: FNV-1 over the revision data as Go's json.Marshal
// writes it, plus the collision count. The data and name below are what kube-controller-manager
// 1.32.4 wrote for a StatefulSet in the controllers differential (web-c7f88b95f).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { revisionData, revisionJSONHash } from './history.js';

const template = {
  metadata: { labels: { app: 'web' } },
  spec: {
    containers: [
      {
        name: 'c',
        image: 'registry.k8s.io/pause:3.10',
        volumeMounts: [{ mountPath: '/w', name: 'www' }],
        imagePullPolicy: 'IfNotPresent',
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        resources: {},
      },
    ],
    terminationGracePeriodSeconds: 0,
    dnsPolicy: 'ClusterFirst',
    restartPolicy: 'Always',
    securityContext: {},
    schedulerName: 'default-scheduler',
  },
};

describe('controller history', () => {
  it('names a StatefulSet revision as kube-controller-manager 1.32.4 does', () => {
    const data = revisionData(template);
    assert.equal(revisionJSONHash(data, 0), 'c7f88b95f');
    // Another collision count is another name (the retry after a collision).
    assert.notEqual(revisionJSONHash(data, 1), 'c7f88b95f');
  });
});
