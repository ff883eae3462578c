// The kubectl differential's cases (kubectl-differential.slow.test.ts): command lines as users type
// them, with kubectl's defaults. `{ns}` is the case's own namespace, `{s}` the run's suffix (names
// of cluster-scoped objects), `{tmp}` a directory of input files. Steps starting with `-` are
// set-up (run on both sides, not compared).
import type { Case } from './kubectl-differential-harness.js';
import { MORE, N, RAW, withSetup } from './kubectl-differential-cases-raw.js';

/** A create, then what users look at: the table, yaml and describe. */
const created = (create: string, kind: string, name: string, cluster = false): Case => {
  const n = cluster ? '' : ` ${N}`;
  return {
    cluster,
    // The namespace flag first: a generator's command after `--` takes the rest of the line.
    steps: [
      `${cluster ? '' : `${N} `}${create}`,
      `get ${kind} ${name}${n}`,
      `get ${kind} ${name}${n} -o yaml`,
      `describe ${kind} ${name}${n}`,
    ],
  };
};

const CREATE: Case[] = [
  created('create deployment web --image=nginx', 'deployment', 'web'),
  created('create deployment web3 --image=nginx:1.27 --replicas=3 --port=80', 'deploy', 'web3'),
  created('create deployment multi --image=nginx --image=busybox', 'deploy', 'multi'),
  created('create job j --image=busybox -- echo hi', 'job', 'j'),
  created("create cronjob cj --image=busybox --schedule='*/5 * * * *' -- echo hi", 'cronjob', 'cj'),
  created('create service clusterip svc --tcp=80:8080', 'service', 'svc'),
  created('create service clusterip headless --clusterip=None --tcp=80', 'svc', 'headless'),
  created('create service nodeport np --tcp=80:8080', 'svc', 'np'),
  created('create service loadbalancer lb --tcp=80:8080,443:8443', 'svc', 'lb'),
  created('create service externalname ext --external-name=example.com', 'svc', 'ext'),
  created('create configmap cm --from-literal=a=1 --from-literal=b=two', 'configmap', 'cm'),
  created('create configmap cmf --from-file={tmp}/app.properties --from-file=r={tmp}/readme', 'cm', 'cmf'),
  created('create configmap cme --from-env-file={tmp}/env.txt', 'cm', 'cme'),
  created('create secret generic s --from-literal=user=admin --from-literal=pw=secret', 'secret', 's'),
  created('create secret generic sf --from-file={tmp}/readme --type=Opaque', 'secret', 'sf'),
  created('create secret tls tls --cert={tmp}/tls.crt --key={tmp}/tls.key', 'secret', 'tls'),
  created(
    'create secret docker-registry reg --docker-server=r.example --docker-username=u --docker-password=p --docker-email=u@example.com',
    'secret',
    'reg',
  ),
  created('create role r --verb=get,list --resource=pods,configmaps', 'role', 'r'),
  created('create role rn --verb=get --resource=pods --resource-name=a --resource-name=b', 'role', 'rn'),
  created('create clusterrole cr-{s} --verb=get,watch --resource=nodes', 'clusterrole', 'cr-{s}', true),
  created(
    'create clusterrole agg-{s} --aggregation-rule=rbac.example.com/aggregate-to-x=true',
    'clusterrole',
    'agg-{s}',
    true,
  ),
  created('create rolebinding rb --role=r --user=alice --group=devs', 'rolebinding', 'rb'),
  created('create rolebinding rbsa --clusterrole=view --serviceaccount={ns}:default', 'rolebinding', 'rbsa'),
  created('create clusterrolebinding crb-{s} --clusterrole=view --user=alice', 'clusterrolebinding', 'crb-{s}', true),
  created('create quota q --hard=pods=10,cpu=1,memory=1Gi', 'quota', 'q'),
  created('create quota qs --hard=pods=2 --scopes=BestEffort', 'resourcequota', 'qs'),
  created('create poddisruptionbudget pdb --selector=app=web --min-available=1', 'pdb', 'pdb'),
  created('create pdb pdb2 --selector=app=web --max-unavailable=50%', 'pdb', 'pdb2'),
  created('create priorityclass pc-{s} --value=1000 --description=important', 'priorityclass', 'pc-{s}', true),
  created('create priorityclass pcd-{s} --value=5 --preemption-policy=Never', 'priorityclass', 'pcd-{s}', true),
  created('create ingress ing --rule=foo.com/bar=svc1:8080', 'ingress', 'ing'),
  created(
    'create ingress ingtls --class=nginx --rule=foo.com/*=svc1:8080,tls=my-cert --default-backend=def:80',
    'ingress',
    'ingtls',
  ),
  created('create serviceaccount sa', 'serviceaccount', 'sa'),
  created('create namespace x-{s}', 'namespace', 'x-{s}', true),
  { steps: [`create serviceaccount tok ${N}`, `create token tok ${N}`, `create token nosuch ${N}`] },
  {
    steps: [
      `create job j2 --image=busybox ${N} --dry-run=client -o yaml`,
      `create deployment d --image=nginx ${N} --dry-run=server -o yaml`,
      `get deploy ${N}`,
    ],
  },
];

const GET: Case[] = [
  withSetup(`get deploy ${N}`, `get deploy ${N} -o wide`, `get deploy,svc ${N}`, `get deploy ${N} --show-kind`),
  withSetup(`get deploy ${N} -o yaml`, `get deploy web ${N} -o json`, `get cm ${N} -o name`),
  withSetup(
    `get deploy ${N} -o custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas,IMAGE:.spec.template.spec.containers[0].image`,
    `get deploy ${N} -o jsonpath={.items[*].metadata.name}`,
    `get deploy ${N} -o 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.spec.replicas}{"\\n"}{end}'`,
    `get deploy ${N} -o 'go-template={{range .items}}{{.metadata.name}} {{end}}'`,
  ),
  withSetup(
    `get deploy ${N} --show-labels`,
    `get deploy ${N} -l tier=front`,
    `get deploy ${N} -l 'tier in (front,back)'`,
    `get deploy ${N} -l tier!=front`,
    `get cm ${N} -l '!tier'`,
    `get deploy ${N} -L tier`,
  ),
  withSetup(
    `get deploy ${N} --sort-by=.metadata.name`,
    `get cm ${N} --sort-by=.metadata.name --no-headers`,
    `get deploy ${N} --sort-by=.spec.replicas`,
  ),
  withSetup(
    `get cm ${N} --field-selector=metadata.name=c1`,
    `get cm ${N} --field-selector=metadata.name!=c1`,
    `get cm ${N} --field-selector=data.a=1`,
    `get deploy ${N} --field-selector=status.replicas=0`,
  ),
  withSetup(`get cm c1 c2 ${N}`, `get cm nosuch ${N}`, `get cm c1 nosuch ${N}`, `get nosuchkind ${N}`),
  withSetup(`get all ${N}`, `get deploy,cm ${N} -o name`, `get deployments.apps ${N}`, `get deploy.v1.apps ${N}`),
  withSetup(`get cm ${N} --no-headers -o wide`, `get cm ${N} -o yaml --show-managed-fields`),
  withSetup(`get events ${N}`, `get ev ${N} -o name`),
  { cluster: true, steps: ['get ns default', 'get ns default -o yaml', 'get ns kube-system --show-labels'] },
  {
    cluster: true,
    steps: [
      'get clusterrole cluster-admin -o yaml',
      'get clusterrole admin edit view',
      'get clusterrolebinding cluster-admin -o yaml',
    ],
  },
  { cluster: true, steps: ['get svc kubernetes -n default -o yaml', 'describe svc kubernetes -n default'] },
  { cluster: true, steps: ['get priorityclass', 'get priorityclass system-node-critical -o yaml'] },
  { cluster: true, steps: ['get nodes', 'get pods -A', 'get sa -n default'] },
];

const DESCRIBE: Case[] = [
  withSetup(`describe deploy web ${N}`, `describe cm ${N}`, `describe svc web ${N}`, `describe deploy nosuch ${N}`),
];

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels: {app: app}
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: c
        image: nginx:1.27
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: app}
spec:
  selector: {app: app}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app}
data: {k: v}
`;
const MANIFEST2 = MANIFEST.replace('replicas: 1', 'replicas: 2').replace('{k: v}', '{k: v2, n: "1"}');

const APPLY: Case[] = [
  {
    input: MANIFEST,
    steps: [`apply -f - ${N}`, `apply -f - ${N}`, `get deploy,svc,cm ${N} -o name`, `get cm app ${N} -o yaml`],
  },
  {
    input: MANIFEST,
    steps: [
      `apply --server-side -f - ${N}`,
      `apply --server-side -f - ${N}`,
      `get cm app ${N} -o yaml --show-managed-fields`,
    ],
  },
  {
    input: MANIFEST,
    steps: [
      `-apply -f - ${N}`,
      `scale deploy app --replicas=5 ${N}`,
      `apply --server-side -f - ${N}`,
      `apply --server-side --force-conflicts -f - ${N}`,
      `get deploy app ${N} -o jsonpath={.spec.replicas}`,
    ],
  },
  {
    input: MANIFEST,
    steps: [`-apply --server-side --field-manager=one -f - ${N}`, `apply --server-side --field-manager=two -f - ${N}`],
  },
  {
    input: MANIFEST,
    steps: [`apply -f - ${N} --dry-run=server`, `apply -f - ${N} --dry-run=client`, `get deploy ${N}`],
  },
  { input: MANIFEST2, steps: [`diff -f - ${N}`] },
  {
    title: 'apply then diff a changed manifest',
    input: MANIFEST,
    steps: [`-apply -f - ${N}`, `diff -f - ${N}`, `apply view-last-applied cm app ${N}`],
  },
  {
    title: 'apply invalid',
    input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\ndata: {k: v}\n',
    steps: [`apply -f - ${N}`, `create -f - ${N}`],
  },
  {
    title: 'apply unknown field strict and warn',
    input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: u}\ndata: {k: v}\nbogus: 1\n',
    steps: [
      `apply -f - ${N} --validate=strict`,
      `apply -f - ${N} --validate=warn`,
      `create -f - ${N} --validate=false`,
      `get cm u ${N} -o jsonpath={.data}`,
    ],
  },
  {
    title: 'create unknown nested field',
    input:
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: u}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: nginx, imagePullPolice: Always}]\n',
    steps: [`create -f - ${N}`, `create -f - ${N} --validate=warn`, `create -f - ${N}`],
  },
  {
    title: 'invalid deployment',
    input:
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  replicas: -1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: c}}\n    spec:\n      containers: [{name: C, image: ""}]\n',
    steps: [`create -f - ${N}`, `apply --server-side -f - ${N}`],
  },
  {
    title: 'wrong type',
    input: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: wt}\nspec:\n  replicas: "two"\n',
    steps: [`create -f - ${N}`, `create -f - ${N} --validate=false`],
  },
];

const MUTATE: Case[] = [
  withSetup(
    `patch deploy web ${N} -p '{"spec":{"replicas":3}}'`,
    `patch deploy web ${N} --type=merge -p '{"metadata":{"labels":{"x":"y"}}}'`,
    `patch deploy web ${N} --type=json -p '[{"op":"replace","path":"/spec/replicas","value":4}]'`,
    `patch deploy web ${N} --type=json -p '[{"op":"remove","path":"/spec/nosuch"}]'`,
    `patch deploy web ${N} --type=json -p '[{"op":"test","path":"/spec/replicas","value":9}]'`,
    `patch deploy web ${N} -p '{"spec":{"replicas":"x"}}'`,
    `patch deploy web ${N} -p 'not json'`,
    `patch deploy web ${N} -p '{"spec":{"replicas":4}}'`,
    `patch deploy nosuch ${N} -p '{"spec":{}}'`,
    `patch deploy web ${N} -p '{"spec":{"selector":{"matchLabels":{"app":"other"}}}}'`,
    `patch cm c1 ${N} --type=merge -p '{"data":{"a":null,"z":"26"}}' -o yaml`,
  ),
  withSetup(
    `label cm c1 ${N} color=red`,
    `label cm c1 ${N} color=blue`,
    `label cm c1 ${N} color=blue --overwrite`,
    `label cm c1 ${N} color-`,
    `label cm c1 ${N} 'bad key=x'`,
    `annotate cm c1 ${N} note=hello`,
    `annotate cm c1 ${N} note=bye`,
    `annotate cm c1 ${N} note=bye --overwrite`,
    `label cm --all ${N} all=yes`,
    `get cm ${N} --show-labels`,
  ),
  withSetup(
    `scale deploy web --replicas=5 ${N}`,
    `scale deploy web --replicas=1 --current-replicas=3 ${N}`,
    `scale deploy nosuch --replicas=1 ${N}`,
    `scale cm c1 --replicas=1 ${N}`,
    `get deploy web ${N} -o jsonpath={.spec.replicas}`,
  ),
  withSetup(
    `set image deploy/web nginx=nginx:1.28 ${N}`,
    `set image deploy/web nosuch=nginx ${N}`,
    `set env deploy/web A=1 B=2 ${N}`,
    `set env deploy/web --list ${N}`,
    `set env deploy/web A- ${N}`,
    `set resources deploy/web --limits=cpu=200m,memory=512Mi --requests=cpu=100m ${N}`,
    `get deploy web ${N} -o jsonpath={.spec.template.spec.containers[0]}`,
    `get deploy web ${N} -o jsonpath={.metadata.generation}`,
  ),
  {
    input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rp}\ndata: {k: v}\n',
    steps: [`-create -f - ${N}`, `replace -f - ${N}`, `replace --force -f - ${N}`, `get cm rp ${N} -o yaml`],
  },
  {
    title: 'replace with a stale resourceVersion',
    input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stale, resourceVersion: "1"}\ndata: {k: v}\n',
    steps: [`-create configmap stale ${N}`, `replace -f - ${N}`],
  },
  {
    title: 'immutable fields',
    steps: [
      `-create configmap im --from-literal=a=1 ${N}`,
      `patch cm im ${N} -p '{"immutable":true}'`,
      `patch cm im ${N} -p '{"data":{"a":"2"}}'`,
      `-create job jj --image=busybox ${N}`,
      `patch job jj ${N} -p '{"spec":{"template":{"spec":{"containers":[{"name":"jj","image":"nginx"}]}}}}'`,
      `-create service clusterip imsvc --tcp=80 ${N}`,
      `patch svc imsvc ${N} -p '{"spec":{"clusterIP":"10.96.0.200"}}'`,
    ],
  },
  {
    title: 'already exists and not found',
    steps: [
      `create configmap dup ${N}`,
      `create configmap dup ${N}`,
      `get cm nosuch ${N}`,
      `delete cm nosuch ${N}`,
      `delete cm nosuch ${N} --ignore-not-found`,
      `create configmap Bad_Name ${N}`,
      `create deployment BAD --image=nginx ${N}`,
      `create namespace Bad_NS`,
      `create configmap x -n nosuchns-{s}`,
    ],
  },
];

const DELETE: Case[] = [
  withSetup(`delete cm c1 ${N}`, `delete cm -l tier=back ${N}`, `get cm ${N} -o name`),
  withSetup(`delete deploy --all ${N}`, `get deploy ${N}`),
  withSetup(
    `delete deploy web --cascade=orphan --wait=false ${N}`,
    `delete cm c1 --grace-period=0 --force ${N}`,
    `delete cm c2 --now ${N}`,
  ),
  withSetup(
    `delete deploy web --cascade=foreground ${N} --wait=false`,
    `get deploy web ${N} -o jsonpath={.metadata.finalizers}`,
  ),
  withSetup(`delete cm c1 ${N} --dry-run=server`, `delete cm c1 ${N} --dry-run=client`, `get cm c1 ${N} -o name`),
  {
    input: MANIFEST,
    steps: [`-apply -f - ${N}`, `delete -f - ${N}`, `delete -f - ${N}`, `delete -f - ${N} --ignore-not-found`],
  },
  withSetup(`wait --for=delete cm/c1 ${N} --timeout=1s`, `wait --for=jsonpath={.data.a}=1 cm/c1 ${N} --timeout=5s`),
  withSetup(
    `wait --for=condition=Available deploy/web ${N} --timeout=1s`,
    `wait --for=delete cm/nosuch ${N} --timeout=1s`,
  ),
  withSetup(`-delete cm c1 ${N}`, `wait --for=delete cm/c1 ${N} --timeout=5s`),
];

const DISCOVERY: Case[] = [
  { cluster: true, steps: ['api-versions'] },
  { cluster: true, steps: ['api-resources'] },
  { cluster: true, steps: ['api-resources -o wide'] },
  { cluster: true, steps: ['api-resources --namespaced=false', 'api-resources --namespaced=true -o name'] },
  {
    cluster: true,
    steps: [
      'api-resources --api-group=apps',
      'api-resources --api-group=rbac.authorization.k8s.io -o wide',
      "api-resources --api-group=''",
    ],
  },
  {
    cluster: true,
    steps: ['explain pods', 'explain pod.spec.containers.resources', 'explain deployment.spec.strategy'],
  },
  {
    cluster: true,
    steps: ['explain service.spec --recursive', 'explain cronjob.spec.jobTemplate.spec.template.spec.restartPolicy'],
  },
  { cluster: true, steps: ['explain configmap --recursive', 'explain nosuch', 'explain pod.spec.nosuch'] },
  {
    cluster: true,
    steps: [
      'auth can-i create pods',
      "auth can-i '*' '*'",
      'auth can-i get pods --as=nobody-{s}',
      'auth can-i list secrets --as=system:serviceaccount:default:default',
    ],
  },
  {
    cluster: true,
    steps: ['auth can-i --list --as=nobody-{s}', 'auth can-i --list -n default', 'auth whoami', 'auth whoami -o yaml'],
  },
  { cluster: true, steps: ['get --raw /version', 'get --raw /api', 'get --raw /apis/apps', 'get --raw /apis/apps/v1'] },
  {
    cluster: true,
    steps: ['get --raw /api/v1/namespaces/default', 'get --raw /healthz', 'get --raw /readyz', 'get --raw /livez'],
  },
  {
    cluster: true,
    steps: [
      'get --raw /api/v1/nosuch',
      'get --raw /apis/nosuch.io/v1',
      'get --raw /api/v1/namespaces/nosuch-{s}/configmaps/x',
    ],
  },
];

export const GROUPS: [string, Case[]][] = [
  ['create generators', CREATE],
  ['get', GET],
  ['describe', DESCRIBE],
  ['apply, diff, validation', APPLY],
  ['patch, label, scale, set, replace, errors', MUTATE],
  ['delete and wait', DELETE],
  ['discovery, explain, auth, raw paths', DISCOVERY],
  ['raw requests', RAW],
  ['more kinds and commands', MORE],
];
