// `skiff build [-t NAME]… [-f FILE] [--build-arg K=V]… [--label K=V]… [--target T] [--no-cache]
// [--pull] [-q] [--iidfile F] [--network none|host] PATH`: sends PATH as a tar context to POST /build
// and streams the step output.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { client, parse, str, list, runVerb, displayJsonMessages, UsageError } from '../client/index.js';

function kv(items: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of items) {
    const eq = i.indexOf('=');
    if (eq <= 0) {
      if (flag === 'build-arg' && process.env[i] !== undefined) out[i] = process.env[i]!;
      else if (eq < 0 && flag === 'build-arg') continue;
      else throw new UsageError(`--${flag} ${i}: expected KEY=VALUE`);
      continue;
    }
    out[i.slice(0, eq)] = i.slice(eq + 1);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      tag: { type: 'string', short: 't', multiple: true },
      file: { type: 'string', short: 'f' },
      'build-arg': { type: 'string', multiple: true },
      label: { type: 'string', multiple: true },
      target: { type: 'string' },
      'no-cache': { type: 'boolean' },
      pull: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      iidfile: { type: 'string' },
      network: { type: 'string' },
    });
    if (positionals.length !== 1)
      throw new UsageError('"skiff build" requires exactly 1 argument.\nUsage:  skiff build [OPTIONS] PATH');
    const dir = resolve(positionals[0]);
    const file = str(v.file);
    const dockerfile = file ? relative(dir, resolve(file)) : undefined;
    if (dockerfile?.startsWith('..'))
      throw new UsageError(`the Dockerfile (${file}) must be inside the build context ${dir}`);
    const tar = spawn('tar', ['-c', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const res = await client(v.host).raw('POST', '/build', {
      query: {
        t: list(v.tag),
        dockerfile,
        buildargs: JSON.stringify(kv(list(v['build-arg']), 'build-arg')),
        labels: JSON.stringify(kv(list(v.label), 'label')),
        target: str(v.target),
        nocache: !!v['no-cache'],
        pull: !!v.pull,
        q: !!v.quiet,
        networkmode: str(v.network),
      },
      stream: tar.stdout,
    });
    const out = await displayJsonMessages(res, process.stdout, { quiet: !!v.quiet });
    const aux = out.aux.find((a) => typeof (a as { ID?: unknown }).ID === 'string') as { ID: string } | undefined;
    if (v.quiet && aux) process.stdout.write(`${aux.ID}\n`);
    const iid = str(v.iidfile);
    if (iid && aux) writeFileSync(iid, aux.ID);
  });
}
