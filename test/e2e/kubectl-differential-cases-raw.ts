// The kubectl differential's raw HTTPS requests (status and body compared) and its cases of more
// kinds and commands (kubectl-differential-cases.ts has the rest and the conventions).
import type { Case } from './kubectl-differential-harness.js';

/** The namespace flag of a namespaced step. */
export const N = '-n {ns}';

/** Objects many cases start from (set-up steps: run on both sides, not compared). */
export const SETUP = [
  `-create deployment web --image=nginx --replicas=2 ${N}`,
  `-label deployment web tier=front ${N}`,
  `-create deployment db --image=postgres ${N}`,
  `-label deployment db tier=back ${N}`,
  `-create configmap c1 --from-literal=a=1 ${N}`,
  `-create configmap c2 --from-literal=a=1 --from-literal=b=2 ${N}`,
  `-label configmap c2 tier=back ${N}`,
  `-create service clusterip web --tcp=80 ${N}`,
];
export const withSetup = (...steps: string[]): Case => ({ steps: [...SETUP, ...steps] });

const jsonBody = (o: unknown) => JSON.stringify(o);
const CM = (name: string, extra: Record<string, unknown> = {}) =>
  jsonBody({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' }, ...extra });
const P = '/api/v1/namespaces/{ns}/configmaps';

export const RAW: Case[] = [
  { title: 'raw: malformed JSON', steps: [`!raw POST ${P} {"apiVersion":`] },
  { title: 'raw: not an object', steps: [`!raw POST ${P} [1,2]`] },
  { title: 'raw: empty body', steps: [`!raw POST ${P} `] },
  {
    title: 'raw: wrong kind',
    steps: [`!raw POST ${P} ${jsonBody({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } })}`],
  },
  {
    title: 'raw: wrong apiVersion',
    steps: [`!raw POST ${P} ${jsonBody({ apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'x' } })}`],
  },
  { title: 'raw: no kind', steps: [`!raw POST ${P} ${jsonBody({ metadata: { name: 'x' } })}`] },
  {
    title: 'raw: namespace mismatch',
    steps: [
      `!raw POST ${P} ${jsonBody({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'other' } })}`,
    ],
  },
  {
    title: 'raw: no name',
    steps: [`!raw POST ${P} ${jsonBody({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })}`],
  },
  { title: 'raw: bad name', steps: [`!raw POST ${P} ${CM('A_B')}`] },
  { title: 'raw: create then duplicate', steps: [`!raw POST ${P} ${CM('dup')}`, `!raw POST ${P} ${CM('dup')}`] },
  { title: 'raw: data of the wrong type', steps: [`!raw POST ${P} ${CM('t', { data: { k: 1 } })}`] },
  {
    title: 'raw: metadata of the wrong type',
    steps: [
      `!raw POST ${P} ${jsonBody({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: 'a' } })}`,
    ],
  },
  {
    title: 'raw: bad label selector',
    steps: [`!raw GET ${P}?labelSelector=a%20in%20b`, `!raw GET ${P}?labelSelector=a==b==c`],
  },
  {
    title: 'raw: bad field selector',
    steps: [`!raw GET ${P}?fieldSelector=spec.x=1`, `!raw GET ${P}?fieldSelector=metadata.name`],
  },
  { title: 'raw: bad limit', steps: [`!raw GET ${P}?limit=abc`, `!raw GET ${P}?limit=-1`] },
  { title: 'raw: bad continue', steps: [`!raw GET ${P}?continue=garbage`] },
  {
    title: 'raw: bad resourceVersion',
    steps: [`!raw GET ${P}?resourceVersion=abc`, `!raw GET ${P}?watch=1&resourceVersion=abc`],
  },
  {
    title: 'raw: bad resourceVersionMatch',
    steps: [`!raw GET ${P}?resourceVersionMatch=Exact`, `!raw GET ${P}?resourceVersionMatch=Bogus&resourceVersion=1`],
  },
  { title: 'raw: bad timeoutSeconds', steps: [`!raw GET ${P}?watch=1&timeoutSeconds=x`] },
  { title: 'raw: bad fieldValidation', steps: [`!raw POST ${P}?fieldValidation=Bogus ${CM('fv')}`] },
  {
    title: 'raw: strict unknown fields',
    steps: [`!raw POST ${P}?fieldValidation=Strict ${CM('st', { bogus: 1, data: { k: 'v' } })}`],
  },
  { title: 'raw: bad dryRun', steps: [`!raw POST ${P}?dryRun=Bogus ${CM('dr')}`] },
  { title: 'raw: PUT name mismatch', steps: [`!raw POST ${P} ${CM('pm')}`, `!raw PUT ${P}/pm ${CM('other')}`] },
  { title: 'raw: PUT missing', steps: [`!raw PUT ${P}/absent ${CM('absent')}`] },
  {
    title: 'raw: PUT stale resourceVersion',
    steps: [
      `!raw POST ${P} ${CM('rv')}`,
      `!raw PUT ${P}/rv ${CM('rv', { metadata: { name: 'rv', resourceVersion: '1' } })}`,
    ],
  },
  { title: 'raw: DELETE missing', steps: [`!raw DELETE ${P}/absent`] },
  {
    title: 'raw: DELETE with a bad precondition',
    steps: [`!raw POST ${P} ${CM('pc')}`, `!raw DELETE ${P}/pc ${jsonBody({ preconditions: { uid: 'nope' } })}`],
  },
  {
    title: 'raw: unknown resource',
    steps: ['!raw GET /api/v1/namespaces/{ns}/nosuch', '!raw GET /apis/apps/v1/nosuch'],
  },
  {
    title: 'raw: unknown subresource',
    steps: [`!raw POST ${P} ${CM('sub')}`, `!raw GET ${P}/sub/nosuch`, `!raw GET ${P}/sub/status`],
  },
  {
    title: 'raw: method not allowed',
    steps: ['!raw POST /api/v1/namespaces/{ns}/configmaps/x {}', '!raw PUT /api/v1/namespaces/{ns}/configmaps {}'],
  },
  {
    title: 'raw: patch without a content type',
    steps: [`!raw POST ${P} ${CM('pt')}`, `!raw PATCH ${P}/pt {"data":{"a":"b"}}`],
  },
  {
    title: 'raw: namespace missing',
    steps: [
      `!raw POST /api/v1/namespaces/nosuch-{s}/configmaps ${CM('x')}`,
      '!raw GET /api/v1/namespaces/nosuch-{s}/configmaps',
    ],
  },
  {
    title: 'raw: cluster-scoped kind under a namespace',
    steps: [
      '!raw GET /api/v1/namespaces/{ns}/nodes',
      '!raw GET /apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/clusterroles',
    ],
  },
  { title: 'raw: delete a protected namespace', steps: ['!raw DELETE /api/v1/namespaces/kube-system'] },
  {
    title: 'raw: deployment with an empty body spec',
    steps: [
      `!raw POST /apis/apps/v1/namespaces/{ns}/deployments ${jsonBody({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'e' }, spec: {} })}`,
    ],
  },
  {
    title: 'raw: service with a bad port',
    steps: [
      `!raw POST /api/v1/namespaces/{ns}/services ${jsonBody({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 70000 }] } })}`,
    ],
  },
  {
    title: 'raw: pod without containers',
    steps: [
      `!raw POST /api/v1/namespaces/{ns}/pods ${jsonBody({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [] } })}`,
    ],
  },
];

const WORKLOADS = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: postgres:16}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: busybox, resources: {limits: {memory: 64Mi}}}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]
---
apiVersion: v1
kind: LimitRange
metadata: {name: lr}
spec: {limits: [{type: Container, default: {cpu: 200m}, defaultRequest: {cpu: 100m}}]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;

export const MORE: Case[] = [
  {
    title: 'apply of more kinds, then get and describe them',
    input: WORKLOADS,
    steps: [
      `apply -f - ${N}`,
      `get sts,ds,netpol,hpa,limits,pvc ${N}`,
      `get sts db ${N} -o yaml`,
      `get ds agent ${N} -o yaml`,
      `get hpa web ${N} -o yaml`,
      `get pvc claim ${N} -o yaml`,
      `describe netpol deny ${N}`,
      `describe limits lr ${N}`,
      `describe hpa web ${N}`,
      `describe pvc claim ${N}`,
    ],
  },
  withSetup(
    `expose deployment web --port=80 --target-port=8080 --name=exposed ${N}`,
    `get svc exposed ${N} -o yaml`,
    `autoscale deployment web --min=1 --max=4 --cpu-percent=60 ${N}`,
    `get hpa web ${N} -o yaml`,
    `get svc ${N} -o wide`,
  ),
  withSetup(
    `get cm ${N} -o jsonpath='{.items[*].data}'`,
    `get deploy ${N} -o json --sort-by=.metadata.name`,
    `get deploy web ${N} -o 'jsonpath={.spec.template.spec.containers[*].name}'`,
    `get deploy web ${N} -o template --template='{{.metadata.name}}'`,
    `get deploy,cm -l tier ${N} -o name`,
  ),
  withSetup(
    `create deployment d2 --image=nginx --dry-run=client -o json ${N}`,
    `create cm c3 --from-literal=x=1 --dry-run=server -o yaml ${N}`,
    `label deploy web tier- ${N}`,
    `annotate deploy web a=b c=d ${N}`,
    `get deploy web ${N} -o jsonpath={.metadata.annotations}`,
    `rollout history deploy/web ${N}`,
    `rollout pause deploy/web ${N}`,
    `rollout resume deploy/web ${N}`,
    `rollout restart deploy/web ${N}`,
    `get deploy web ${N} -o jsonpath={.spec.paused}`,
  ),
  { cluster: true, steps: ['api-resources --verbs=list -o name', 'api-resources --sort-by=name --api-group=apps'] },
  // (the system namespaces by name: the cases running beside it make namespaces of their own)
  {
    cluster: true,
    steps: [
      'get ns default kube-system kube-public kube-node-lease',
      'get ns default kube-system kube-public kube-node-lease -o name',
      'get clusterrolebindings system:basic-user -o yaml',
    ],
  },
  {
    steps: [
      `create secret generic s1 --from-literal=a=b ${N}`,
      `get secret s1 ${N} -o jsonpath={.data.a}`,
      `patch secret s1 ${N} -p '{"stringData":{"c":"d"}}'`,
      `get secret s1 ${N} -o jsonpath={.data}`,
      `patch secret s1 ${N} -p '{"type":"kubernetes.io/tls"}'`,
    ],
  },
  {
    steps: [
      `run p --image=busybox --restart=Never ${N} -- sleep 1`,
      `run p2 --image=busybox ${N} --dry-run=client -o yaml`,
      `create serviceaccount default ${N}`,
      `get sa ${N} -o name`,
    ],
  },
];
