#!/usr/bin/env node
// Generates src/kube/apiserver/proto/kube.json: the protobuf descriptors of the built-in API groups
// (k8s.io/api and k8s.io/apimachinery, the release Skiff serves), as protobufjs JSON without the
// comments. The API server decodes `application/vnd.kubernetes.protobuf` request bodies with it
// (src/kube/apiserver/protobuf.ts). The .proto files come from the Go module proxy:
// `node scripts/gen-kube-proto.mjs` (needs Go; run it only when moving to another release).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const RELEASE = 'v0.32.4';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dirOf = (mod) => {
  const out = execFileSync('go', ['mod', 'download', '-json', `${mod}@${RELEASE}`], { encoding: 'utf8', cwd: '/tmp' });
  return JSON.parse(out).Dir;
};
const api = dirOf('k8s.io/api');
const machinery = dirOf('k8s.io/apimachinery');
const GROUPS = [
  'core/v1',
  'apps/v1',
  'batch/v1',
  'policy/v1',
  'networking/v1',
  'scheduling/v1',
  'rbac/v1',
  'authorization/v1',
  'authentication/v1',
  'autoscaling/v1',
  'autoscaling/v2',
  'coordination/v1',
  'discovery/v1',
  'storage/v1',
  'events/v1',
  'node/v1',
  'certificates/v1',
  'admissionregistration/v1',
  'flowcontrol/v1',
];
const r = new protobuf.Root();
r.resolvePath = (_origin, target) => {
  if (target.startsWith('k8s.io/api/')) return join(api, target.slice('k8s.io/api/'.length));
  if (target.startsWith('k8s.io/apimachinery/')) return join(machinery, target.slice('k8s.io/apimachinery/'.length));
  return target;
};
r.loadSync(
  GROUPS.map((g) => `k8s.io/api/${g}/generated.proto`),
  { keepCase: true },
);
r.loadSync('k8s.io/apimachinery/pkg/runtime/generated.proto', { keepCase: true });
r.resolveAll();
// Options and comments are not needed to decode.
const json = JSON.stringify(r.toJSON({ keepComments: false }), (k, v) => (k === 'options' ? undefined : v));
const out = join(root, 'src/kube/apiserver/proto/kube.json');
writeFileSync(out, `${json}\n`);
console.log(`${out}: ${json.length} bytes from k8s.io/api@${RELEASE}`);
