// Acceptance: the real kubectl 1.32 against `skiff server`, on SQLite and on a real etcd (the two
// backends run side by side, one server each, reused across the cases).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import {
  ensureDefaultServiceAccount,
  startSkiffServer,
  sleep,
  suffix,
  KUBECTL,
  type Backend,
  type SkiffServer,
} from './kubectl-harness.js';

const ok = (r: { code: number; stdout: string; stderr: string }, what: string) => {
  assert.equal(r.code, 0, `${what} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
};

function suite(backend: Backend) {
  describe(`kubectl against skiff server on ${backend}`, { concurrency: 1 }, () => {
    let s: SkiffServer;
    let k: SkiffServer['kubectl'];
    const ns = `e2e-${suffix()}`;
    before(async () => {
      s = await startSkiffServer(backend);
      k = s.kubectl.bind(s);
      ok(await k(['create', 'namespace', ns]), 'create namespace');
      await ensureDefaultServiceAccount(s, ns);
    });
    after(async () => {
      await s?.stop();
    });

    it('discovery: api-resources, explain, version', async () => {
      const res = ok(await k(['api-resources']), 'api-resources');
      for (const r of ['configmaps', 'namespaces', 'pods', 'secrets', 'selfsubjectaccessreviews'])
        assert.match(res, new RegExp(`^${r}\\s`, 'm'));
      assert.match(
        ok(await k(['api-resources', '--namespaced=false', '-o', 'name']), 'api-resources cluster'),
        /^namespaces$/m,
      );
      const ex = ok(await k(['explain', 'configmap.data']), 'explain');
      assert.match(ex, /KIND:\s+ConfigMap/);
      assert.match(ex, /FIELD:\s+data\s+<map\[string\]string>/);
      assert.match(ok(await k(['version', '-o', 'json']), 'version'), /"gitVersion": "v1\.32\./);
    });

    it('create, get in every output, -A, --show-labels, -l, describe', async () => {
      const manifest = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n  namespace: ${ns}\n  labels: {tier: web}\ndata: {k: v}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\n  namespace: ${ns}\n  labels: {tier: db}\ndata: {a: "1", b: "2"}\n`;
      assert.match(
        ok(await k(['create', '-f', '-'], { input: manifest }), 'create -f'),
        /configmap\/one created[\s\S]*configmap\/two created/,
      );
      const table = ok(await k(['get', 'cm', '-n', ns]), 'get');
      assert.match(table, /^NAME\s+DATA\s+AGE/m);
      assert.match(table, /^two\s+2\s+/m);
      assert.match(ok(await k(['get', 'cm', '-n', ns, '-o', 'wide']), 'get wide'), /^one\s+1\s+/m);
      const y = ok(await k(['get', 'cm', 'one', '-n', ns, '-o', 'yaml']), 'get yaml');
      assert.match(y, /resourceVersion: "\d+"/);
      assert.match(y, /uid: [0-9a-f-]{36}/);
      const j = JSON.parse(ok(await k(['get', 'cm', '-n', ns, '-o', 'json']), 'get json')) as {
        kind: string;
        items: unknown[];
      };
      assert.equal(j.kind, 'List');
      // Ours, and kube-root-ca.crt, which the root-CA publisher puts in every namespace (as upstream).
      assert.deepEqual((j.items as { metadata: { name: string } }[]).map((i) => i.metadata.name).sort(), [
        'kube-root-ca.crt',
        'one',
        'two',
      ]);
      assert.equal(ok(await k(['get', 'cm', 'two', '-n', ns, '-o', 'jsonpath={.data.b}']), 'jsonpath'), '2');
      const all = ok(await k(['get', 'cm', '-A']), 'get -A');
      assert.match(all, /^NAMESPACE\s+NAME\s+DATA\s+AGE/m);
      assert.match(all, new RegExp(`^${ns}\\s+one\\s+1`, 'm'));
      assert.match(ok(await k(['get', 'cm', '-n', ns, '--show-labels']), 'show-labels'), /^one\s+1\s+\S+\s+tier=web$/m);
      const sel = ok(await k(['get', 'cm', '-n', ns, '-l', 'tier in (db,cache)', '-o', 'name']), 'get -l');
      assert.equal(sel.trim(), 'configmap/two');
      assert.equal(
        ok(await k(['get', 'cm', '-n', ns, '-l', 'tier,tier!=db', '-o', 'name']), 'get -l !=').trim(),
        'configmap/one',
      );
      assert.equal(
        ok(await k(['get', 'ns', '--field-selector', `metadata.name=${ns}`, '-o', 'name']), 'field selector').trim(),
        `namespace/${ns}`,
      );
      const d = ok(await k(['describe', 'cm', 'one', '-n', ns]), 'describe');
      assert.match(d, /Name:\s+one/);
      assert.match(d, /Labels:\s+tier=web/);
    });

    it('create configmap|secret|deployment|namespace (typed clients, protobuf bodies)', async () => {
      ok(
        await k(['create', 'configmap', 'lit', '-n', ns, '--from-literal=a=b', '--from-literal=c=d']),
        'create configmap',
      );
      assert.equal(ok(await k(['get', 'cm', 'lit', '-n', ns, '-o', 'jsonpath={.data.c}']), 'get'), 'd');
      ok(await k(['create', 'secret', 'generic', 'sec', '-n', ns, '--from-literal=password=hunter2']), 'create secret');
      assert.equal(
        Buffer.from(
          ok(await k(['get', 'secret', 'sec', '-n', ns, '-o', 'jsonpath={.data.password}']), 'get secret'),
          'base64',
        ).toString(),
        'hunter2',
      );
      ok(
        await k(['create', 'deployment', 'web', '-n', ns, '--image=busybox', '--replicas=2', '--port=80']),
        'create deployment',
      );
      const dep = JSON.parse(ok(await k(['get', 'deploy', 'web', '-n', ns, '-o', 'json']), 'get deploy')) as {
        spec: {
          replicas: number;
          template: { spec: { containers: { image: string; ports: { containerPort: number }[] }[] } };
        };
        metadata: { generation: number };
      };
      assert.equal(dep.spec.replicas, 2);
      assert.equal(dep.spec.template.spec.containers[0].image, 'busybox');
      assert.equal(dep.spec.template.spec.containers[0].ports[0].containerPort, 80);
      assert.equal(dep.metadata.generation, 1);
      const ns2 = `e2e-extra-${suffix()}`;
      ok(await k(['create', 'namespace', ns2]), 'create namespace');
      assert.match(ok(await k(['get', 'ns', ns2]), 'get ns'), new RegExp(`^${ns2}\\s+Active`, 'm'));
    });

    it('apply client-side and server-side, then changed manifests re-applied', async () => {
      const m = (data: string) =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: ${ns}}\ndata: {${data}}\n`;
      assert.match(
        ok(await k(['apply', '-f', '-'], { input: m('a: "1", b: "2"') }), 'apply'),
        /configmap\/app created/,
      );
      assert.match(
        ok(await k(['apply', '-f', '-'], { input: m('a: "1", c: "3"') }), 'apply changed'),
        /configmap\/app configured/,
      );
      assert.equal(ok(await k(['get', 'cm', 'app', '-n', ns, '-o', 'jsonpath={.data}']), 'get'), '{"a":"1","c":"3"}');
      assert.match(
        ok(await k(['apply', '-f', '-'], { input: m('a: "1", c: "3"') }), 'apply same'),
        /configmap\/app unchanged/,
      );
      const ssa = (data: string) =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: ${ns}}\ndata: {${data}}\n`;
      assert.match(
        ok(await k(['apply', '--server-side', '-f', '-'], { input: ssa('x: "1", y: "2"') }), 'ssa'),
        /serverside-applied/,
      );
      ok(await k(['apply', '--server-side', '-f', '-'], { input: ssa('x: "1", z: "3"') }), 'ssa changed');
      assert.equal(ok(await k(['get', 'cm', 'ssa', '-n', ns, '-o', 'jsonpath={.data}']), 'get'), '{"x":"1","z":"3"}');
      const mf = ok(
        await k([
          'get',
          'cm',
          'ssa',
          '-n',
          ns,
          '--show-managed-fields',
          '-o',
          'jsonpath={.metadata.managedFields[0].manager}/{.metadata.managedFields[0].operation}',
        ]),
        'managed',
      );
      assert.equal(mf, 'kubectl/Apply');
      // A field owned by another manager conflicts; --force-conflicts takes it over.
      ok(await k(['patch', 'cm', 'ssa', '-n', ns, '--type', 'merge', '-p', '{"data":{"x":"edited"}}']), 'patch');
      const conflict = await k(['apply', '--server-side', '-f', '-'], { input: ssa('x: "1", z: "3"') });
      assert.notEqual(conflict.code, 0);
      assert.match(conflict.stderr, /conflict/i);
      assert.match(conflict.stderr, /\.data\.x/);
      ok(
        await k(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: ssa('x: "1", z: "3"') }),
        'ssa force',
      );
      assert.equal(ok(await k(['get', 'cm', 'ssa', '-n', ns, '-o', 'jsonpath={.data.x}']), 'get'), '1');
    });

    it('patch (strategic, merge, json), label, annotate, edit', async () => {
      ok(await k(['create', 'configmap', 'p', '-n', ns, '--from-literal=a=1']), 'create');
      ok(await k(['patch', 'cm', 'p', '-n', ns, '-p', '{"data":{"b":"2"}}']), 'strategic');
      ok(await k(['patch', 'cm', 'p', '-n', ns, '--type', 'merge', '-p', '{"data":{"a":null}}']), 'merge');
      ok(
        await k(['patch', 'cm', 'p', '-n', ns, '--type', 'json', '-p', '[{"op":"add","path":"/data/c","value":"3"}]']),
        'json',
      );
      assert.equal(ok(await k(['get', 'cm', 'p', '-n', ns, '-o', 'jsonpath={.data}']), 'get'), '{"b":"2","c":"3"}');
      const bad = await k([
        'patch',
        'cm',
        'p',
        '-n',
        ns,
        '--type',
        'json',
        '-p',
        '[{"op":"remove","path":"/data/nope"}]',
      ]);
      assert.notEqual(bad.code, 0);
      ok(await k(['label', 'cm', 'p', '-n', ns, 'env=prod']), 'label');
      ok(await k(['annotate', 'cm', 'p', '-n', ns, 'note=hello']), 'annotate');
      const meta = JSON.parse(ok(await k(['get', 'cm', 'p', '-n', ns, '-o', 'json']), 'get')) as {
        metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      };
      assert.equal(meta.metadata.labels.env, 'prod');
      assert.equal(meta.metadata.annotations.note, 'hello');
      ok(await k(['label', 'cm', 'p', '-n', ns, 'env-']), 'unlabel');
      assert.equal(ok(await k(['get', 'cm', 'p', '-n', ns, '-o', 'jsonpath={.metadata.labels}']), 'get'), '');
      // Strategic merge on a list with a merge key: a container by name.
      ok(
        await k([
          'patch',
          'deploy',
          'web',
          '-n',
          ns,
          '-p',
          '{"spec":{"template":{"spec":{"containers":[{"name":"busybox","image":"busybox:1.36"}]}}}}',
        ]),
        'smp containers',
      );
      const c = JSON.parse(
        ok(await k(['get', 'deploy', 'web', '-n', ns, '-o', 'jsonpath={.spec.template.spec.containers}']), 'get'),
      ) as { name: string; image: string; ports?: unknown[] }[];
      assert.equal(c.length, 1);
      assert.equal(c[0].image, 'busybox:1.36');
      assert.ok(c[0].ports, 'merge kept the other fields of the container');
      const editor = join(s.dir, 'editor.sh');
      writeFileSync(editor, `#!/bin/sh\nsed -i 's/^  b: "2"/  b: "edited"/' "$1"\n`);
      chmodSync(editor, 0o755);
      assert.match(
        ok(await k(['edit', 'cm', 'p', '-n', ns], { env: { KUBE_EDITOR: editor } }), 'edit'),
        /configmap\/p edited/,
      );
      assert.equal(ok(await k(['get', 'cm', 'p', '-n', ns, '-o', 'jsonpath={.data.b}']), 'get'), 'edited');
    });

    it('scale a Deployment, wait --for=jsonpath, delete waits for deletion', async () => {
      assert.match(ok(await k(['scale', 'deploy', 'web', '-n', ns, '--replicas=5']), 'scale'), /scaled/);
      assert.equal(ok(await k(['get', 'deploy', 'web', '-n', ns, '-o', 'jsonpath={.spec.replicas}']), 'get'), '5');
      ok(await k(['wait', '--for=jsonpath={.spec.replicas}=5', 'deploy/web', '-n', ns, '--timeout=10s']), 'wait');
      const waiting = k(['wait', '--for=jsonpath={.data.state}=done', 'cm/p', '-n', ns, '--timeout=20s']);
      await sleep(700);
      ok(await k(['patch', 'cm', 'p', '-n', ns, '--type', 'merge', '-p', '{"data":{"state":"done"}}']), 'patch');
      assert.match(ok(await waiting, 'wait (change after start)'), /condition met/);
      const del = ok(await k(['delete', 'cm', 'p', '-n', ns, '--timeout=20s']), 'delete');
      assert.match(del, /configmap "p" deleted/);
      const gone = await k(['get', 'cm', 'p', '-n', ns]);
      assert.notEqual(gone.code, 0);
      assert.match(gone.stderr, /NotFound.*configmaps "p" not found/);
      // A finalizer keeps the object (deletionTimestamp set) until it is removed.
      ok(
        await k(['create', '-f', '-'], {
          input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fin, namespace: ${ns}, finalizers: [example.com/hold]}\n`,
        }),
        'create fin',
      );
      ok(await k(['delete', 'cm', 'fin', '-n', ns, '--wait=false']), 'delete fin');
      assert.match(
        ok(await k(['get', 'cm', 'fin', '-n', ns, '-o', 'jsonpath={.metadata.deletionTimestamp}']), 'get fin'),
        /^\d{4}-/,
      );
      // The finalizer is dropped once kubectl has sent its DELETE (it prints "deleted", then waits):
      // dropped earlier (kubectl starts slowly under load), the object is gone before kubectl reads
      // it and kubectl exits 1 with NotFound instead of showing that it waits.
      const deleting = spawn(
        KUBECTL,
        [
          '--kubeconfig',
          s.kubeconfig,
          '--cache-dir',
          join(s.dir, 'kube-cache'),
          'delete',
          'cm',
          'fin',
          '-n',
          ns,
          '--timeout=30s',
        ],
        { env: { ...process.env, HOME: s.dir } },
      );
      const deleted = new Promise<number>((res) => deleting.on('close', (c) => res(c ?? 1)));
      let dout = '';
      deleting.stdout.on('data', (d) => {
        dout += d;
      });
      deleting.stderr.on('data', (d) => {
        dout += d;
      });
      for (let i = 0; i < 400 && !dout.includes('deleted'); i++) await sleep(50);
      assert.match(dout, /configmap "fin" deleted/);
      ok(
        await k(['patch', 'cm', 'fin', '-n', ns, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']),
        'drop finalizer',
      );
      assert.equal(await deleted, 0, dout);
    });

    it('workloads: server-side re-apply of Pods/Services/Deployments, Service IPs, cascading deletes, namespace deletion', async () => {
      const manifest = (port: number) =>
        `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: wl, namespace: ${ns}}\nspec:\n  selector: {matchLabels: {app: wl}}\n  template:\n    metadata: {labels: {app: wl}}\n    spec:\n      containers: [{name: c, image: busybox, ports: [{containerPort: ${port}}]}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: wl, namespace: ${ns}}\nspec:\n  type: NodePort\n  selector: {app: wl}\n  ports: [{port: ${port}}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: wl, namespace: ${ns}}\nspec:\n  containers: [{name: c, image: busybox, ports: [{containerPort: 8080}]}]\n`;
      for (const m of [manifest(80), manifest(80), manifest(81)]) {
        const out = ok(await k(['apply', '--server-side', '-f', '-'], { input: m }), 'apply --server-side');
        assert.match(
          out,
          /deployment.apps\/wl serverside-applied[\s\S]*service\/wl serverside-applied[\s\S]*pod\/wl serverside-applied/,
        );
      }
      assert.equal(
        ok(
          await k([
            'get',
            'deploy',
            'wl',
            '-n',
            ns,
            '-o',
            'jsonpath={.spec.template.spec.containers[0].ports[*].containerPort} {.metadata.generation}',
          ]),
          'ports',
        ),
        '81 2',
      );
      const svc = ok(
        await k([
          'get',
          'svc',
          'wl',
          '-n',
          ns,
          '-o',
          'jsonpath={.spec.clusterIP} {.spec.ports[*].port} {.spec.ports[0].nodePort}',
        ]),
        'svc',
      );
      assert.match(svc, /^10\.(9[6-9]|1[01][0-9])\.\d+\.\d+ 81 3\d{4}$/);
      const ip = svc.split(' ')[0];
      const dup = await k(['create', 'service', 'clusterip', 'dup', '-n', ns, '--tcp=80:80', `--clusterip=${ip}`]);
      assert.notEqual(dup.code, 0);
      assert.match(dup.stderr, /provided IP is already allocated/);
      // A ReplicaSet owned by the Deployment (blockOwnerDeletion): --cascade=foreground deletes both, kubectl waits.
      // Its labels match the Deployment's selector, else the Deployment controller releases it (as upstream's).
      const uid = ok(await k(['get', 'deploy', 'wl', '-n', ns, '-o', 'jsonpath={.metadata.uid}']), 'uid');
      ok(
        await k(['create', '-f', '-'], {
          input: `apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: wl-1\n  namespace: ${ns}\n  labels: {app: wl}\n  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: wl, uid: ${uid}, controller: true, blockOwnerDeletion: true}]\nspec:\n  selector: {matchLabels: {app: wl}}\n  template:\n    metadata: {labels: {app: wl}}\n    spec: {containers: [{name: c, image: busybox}]}\n`,
        }),
        'create rs',
      );
      ok(
        await k(['delete', 'deploy', 'wl', '-n', ns, '--cascade=foreground', '--timeout=30s']),
        'delete --cascade=foreground',
      );
      assert.match((await k(['get', 'rs', 'wl-1', '-n', ns])).stderr, /NotFound/);
      const gone = `e2e-gone-${suffix()}`;
      ok(await k(['create', 'namespace', gone]), 'create ns');
      ok(await k(['create', 'configmap', 'x', '-n', gone, '--from-literal=a=b']), 'cm in ns');
      ok(await k(['create', 'deployment', 'd', '-n', gone, '--image=busybox']), 'deploy in ns');
      ok(await k(['delete', 'namespace', gone, '--timeout=30s']), 'delete namespace');
      assert.match((await k(['get', 'namespace', gone])).stderr, /NotFound/);
    });

    it('get -w observes a change', async () => {
      ok(await k(['create', 'configmap', 'watched', '-n', ns, '--from-literal=a=1']), 'create');
      const child = spawn(
        KUBECTL,
        [
          '--kubeconfig',
          s.kubeconfig,
          '--cache-dir',
          join(s.dir, 'kube-cache'),
          'get',
          'cm',
          '-n',
          ns,
          '-w',
          '--output-watch-events',
        ],
        { env: { ...process.env, HOME: s.dir } },
      );
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      try {
        for (let i = 0; i < 100 && !/watched/.test(out); i++) await sleep(50);
        ok(await k(['create', 'configmap', 'arrives', '-n', ns, '--from-literal=x=1']), 'create while watching');
        ok(await k(['label', 'cm', 'watched', '-n', ns, 'seen=yes']), 'label while watching');
        for (let i = 0; i < 100 && !(/ADDED\s+arrives/.test(out) && /MODIFIED\s+watched/.test(out)); i++)
          await sleep(50);
        assert.match(out, /ADDED\s+arrives/);
        assert.match(out, /MODIFIED\s+watched/);
      } finally {
        child.kill();
      }
    });

    it('a CRD with custom resources: establish, discover, validate, print columns, scale', async () => {
      const group = `e2e${suffix()}.example.com`;
      const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.${group}}
spec:
  group: ${group}
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}, scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}}
    additionalPrinterColumns:
    - {name: Size, type: string, jsonPath: .spec.size}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: string, enum: [small, large]}
              replicas: {type: integer, minimum: 0}
          status:
            type: object
            properties: {replicas: {type: integer}}
`;
      ok(await k(['apply', '-f', '-'], { input: crd }), 'apply crd');
      ok(await k(['wait', '--for=condition=Established', `crd/widgets.${group}`, '--timeout=20s']), 'wait established');
      const w = (name: string, spec: string) =>
        `apiVersion: ${group}/v1\nkind: Widget\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {${spec}}\n`;
      let created = await k(['apply', '-f', '-'], { input: w('w1', 'size: small, replicas: 1') });
      for (
        let i = 0;
        i < 20 && created.code !== 0 && /resource mapping not found|the server could not find/.test(created.stderr);
        i++
      ) {
        await sleep(250);
        created = await k(['apply', '-f', '-'], { input: w('w1', 'size: small, replicas: 1') });
      }
      ok(created, 'apply widget');
      assert.match(
        ok(await k(['get', 'wd', '-n', ns]), 'get widgets'),
        /^NAME\s+SIZE\s+REPLICAS\s+AGE\n^w1\s+small\s+1\s+/m,
      );
      const invalid = await k(['apply', '-f', '-'], { input: w('w2', 'size: medium') });
      assert.notEqual(invalid.code, 0);
      assert.match(invalid.stderr, /is invalid/);
      assert.match(invalid.stderr, /spec\.size: Unsupported value: "medium"/);
      const unknown = await k(['apply', '-f', '-'], { input: w('w3', 'size: large, extra: 1') });
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /unknown field "spec\.extra"/);
      ok(await k(['scale', `widgets.${group}`, 'w1', '-n', ns, '--replicas=3']), 'scale widget');
      assert.equal(ok(await k(['get', 'wd', 'w1', '-n', ns, '-o', 'jsonpath={.spec.replicas}']), 'get'), '3');
      ok(
        await k(['patch', 'wd', 'w1', '-n', ns, '--type', 'merge', '-p', '{"spec":{"size":"large"}}']),
        'merge patch widget',
      );
      assert.equal(ok(await k(['get', 'wd', 'w1', '-n', ns, '-o', 'jsonpath={.metadata.generation}']), 'gen'), '3');
      ok(await k(['delete', 'crd', `widgets.${group}`]), 'delete crd');
    });

    it('invalid manifests and bad input get proper Status errors, never a crash', async () => {
      const invalid = await k(['apply', '-f', '-'], {
        input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name, namespace: ${ns}}\n`,
      });
      assert.notEqual(invalid.code, 0);
      assert.match(
        invalid.stderr,
        /ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
      );
      const strict = await k(['apply', '-f', '-'], {
        input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: strict, namespace: ${ns}}\nspec: {foo: 1}\n`,
      });
      assert.notEqual(strict.code, 0);
      assert.match(strict.stderr, /Error from server \(BadRequest\).*strict decoding error: unknown field "spec"/);
      const warn = await k(['apply', '--validate=warn', '-f', '-'], {
        input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: warned, namespace: ${ns}}\nfoo: 1\n`,
      });
      assert.equal(warn.code, 0, warn.stderr);
      assert.match(warn.stderr, /Warning: unknown field "foo"/);
      const missingNs = await k(['create', 'configmap', 'x', '-n', `missing-${suffix()}`]);
      assert.notEqual(missingNs.code, 0);
      assert.match(missingNs.stderr, /namespaces "missing-\w+" not found/);

      const path = `/api/v1/namespaces/${ns}/configmaps`;
      const big = await s.request(
        'POST',
        path,
        JSON.stringify({ metadata: { name: 'big' }, data: { a: 'x'.repeat(4 << 20) } }),
      );
      assert.equal(big.status, 413);
      assert.equal(JSON.parse(big.body).reason, 'RequestEntityTooLarge');
      const malformed = await s.request('POST', path, '{"metadata": {"name": ');
      assert.equal(malformed.status, 400);
      assert.equal(JSON.parse(malformed.body).kind, 'Status');
      const badYaml = await s.request('POST', path, 'metadata: {name: [unclosed\n', {
        'Content-Type': 'application/yaml',
      });
      assert.equal(badYaml.status, 400);
      const yamlOk = await s.request('POST', path, 'metadata: {name: from-yaml}\ndata: {a: b}\n', {
        'Content-Type': 'application/yaml',
      });
      assert.equal(yamlOk.status, 201, yamlOk.body);
      const arr = await s.request('POST', path, '[1,2]');
      assert.equal(arr.status, 400);
      const wrongKind = await s.request(
        'POST',
        path,
        JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }),
      );
      assert.equal(wrongKind.status, 400);
      const media = await s.request('POST', path, 'x', { 'Content-Type': 'text/plain' });
      assert.equal(media.status, 415);
      const longName = await s.request('POST', path, JSON.stringify({ metadata: { name: 'a'.repeat(300) } }));
      assert.equal(longName.status, 422);
      assert.deepEqual(
        JSON.parse(longName.body).details.causes.map((c: { field: string }) => c.field),
        ['metadata.name'],
      );
      const conflict = await s.request(
        'PUT',
        `${path}/from-yaml`,
        JSON.stringify({ metadata: { name: 'from-yaml', resourceVersion: '1' }, data: {} }),
      );
      assert.equal(conflict.status, 409);
      assert.match(
        JSON.parse(conflict.body).message,
        /the object has been modified; please apply your changes to the latest version and try again/,
      );
      // kube-apiserver 1.32 answers a non-numeric resourceVersion with a 500 in strconv's words
      // (the kubectl differential compares it).
      const expired = await s.request('GET', `${path}?watch=1&resourceVersion=abc`);
      assert.equal(expired.status, 500);
      assert.match(JSON.parse(expired.body).message, /strconv\.ParseUint: parsing "abc": invalid syntax/);
      const nope = await s.request('GET', '/api/v1/nonexistents');
      assert.equal(nope.status, 404);
      assert.equal((await s.request('GET', '/readyz')).status, 200, 'the server is still up');
    });

    it('kubectl autoscale (autoscaling/v1) and the v2 view agree; a v1 update keeps a v2-only metric', async () => {
      if (backend !== 'sqlite') return; // conversion is above the store: one backend is enough
      ok(await k(['create', 'deployment', 'auto', '--image=busybox', '-n', ns]), 'create deployment');
      assert.match(
        ok(
          await k(['autoscale', 'deployment', 'auto', '--cpu-percent=50', '--min=1', '--max=5', '-n', ns]),
          'autoscale',
        ),
        /horizontalpodautoscaler.autoscaling\/auto autoscaled/,
      );
      assert.match(
        ok(await k(['get', 'hpa', 'auto', '-n', ns]), 'get hpa'),
        /^auto\s+Deployment\/auto\s+cpu: <unknown>\/50%\s+1\s+5\s+\d+\s/m,
      );
      const view = async (v: string) =>
        JSON.parse(
          ok(await k(['get', `horizontalpodautoscalers.${v}.autoscaling`, 'auto', '-n', ns, '-o', 'json']), `get ${v}`),
        );
      const v1 = await view('v1');
      assert.equal(v1.apiVersion, 'autoscaling/v1');
      assert.deepEqual(v1.spec, {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'auto' },
        minReplicas: 1,
        maxReplicas: 5,
        targetCPUUtilizationPercentage: 50,
      });
      const memory = {
        type: 'Resource',
        resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } },
      };
      const cpu = (n: number) => ({
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: n } },
      });
      assert.deepEqual((await view('v2')).spec.metrics, [cpu(50)]);
      const add = JSON.stringify([{ op: 'add', path: '/spec/metrics/-', value: memory }]);
      ok(
        await k(['patch', 'horizontalpodautoscalers.v2.autoscaling', 'auto', '-n', ns, '--type=json', '-p', add]),
        'patch v2',
      );
      const withMem = await view('v1');
      assert.deepEqual(JSON.parse(withMem.metadata.annotations['autoscaling.alpha.kubernetes.io/metrics']), [
        { type: 'Resource', resource: { name: 'memory', targetAverageValue: '100Mi' } },
      ]);
      ok(
        await k([
          'patch',
          'horizontalpodautoscalers.v1.autoscaling',
          'auto',
          '-n',
          ns,
          '--type=merge',
          '-p',
          '{"spec":{"targetCPUUtilizationPercentage":70}}',
        ]),
        'patch v1',
      );
      // upstream's conversion puts the annotation's metrics first, then the CPU target
      const v2 = await view('v2');
      assert.deepEqual(v2.spec.metrics, [memory, cpu(70)]);
      assert.equal(v2.metadata.annotations, undefined, 'the round-trip annotation is not stored');
    });

    it('a v1 List (kubectl get -o yaml of several objects) applies: validated on the client against /openapi/v2', async () => {
      // kubectl checks a List against the OpenAPI v2 document (protobuf), not server-side
      const list = {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'listed', namespace: ns }, data: { k: 'v' } },
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'listed', namespace: ns },
            spec: {
              replicas: 0,
              selector: { matchLabels: { app: 'listed' } },
              template: {
                metadata: { labels: { app: 'listed' } },
                spec: {
                  containers: [
                    { name: 'c', image: 'nginx', ports: [{ containerPort: 80 }], resources: { limits: { cpu: 1 } } },
                  ],
                },
              },
            },
          },
        ],
      };
      assert.match(
        ok(await k(['apply', '-f', '-'], { input: JSON.stringify(list) }), 'apply a List'),
        /configmap\/listed created[\s\S]*deployment.apps\/listed created/,
      );
      // what kubectl prints for several objects (status, managedFields and all) goes back in
      const dumped = ok(await k(['get', 'cm,deploy', '-n', ns, '-l', '!nothing', '-o', 'yaml']), 'get -o yaml');
      assert.match(dumped, /^kind: List$/m);
      assert.match(ok(await k(['apply', '-f', '-'], { input: dumped }), 'apply the dump'), /deployment.apps\/listed/);
      const bad = { apiVersion: 'v1', kind: 'List', items: [{ ...list.items[0], datax: { k: 'v' } }] };
      const refused = await k(['apply', '-f', '-'], { input: JSON.stringify(bad) });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /unknown field "datax" in io\.k8s\.api\.core\.v1\.ConfigMap/);
      // kubectl explain's OpenAPI v2 output reads the same document
      const explained = ok(
        await k(['explain', 'pods.spec.containers.ports', '--output=plaintext-openapiv2']),
        'explain --output=plaintext-openapiv2',
      );
      assert.match(explained, /RESOURCE: ports <\[\]Object>/);
    });
  });
}

describe('kubectl e2e', { concurrency: 2 }, () => {
  suite('sqlite');
  suite('etcd');
});
