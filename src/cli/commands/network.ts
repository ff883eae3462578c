// `skiff network create|ls|inspect|rm|connect|disconnect|prune`.
import {
  client,
  parse,
  str,
  list,
  filtersJson,
  runVerb,
  printRows,
  shortId,
  ApiError,
  UsageError,
} from '../client/index.js';

interface Net {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
}
const kv = (items: string[]) =>
  Object.fromEntries(
    items.map((x) => {
      const i = x.indexOf('=');
      return i < 0 ? [x, ''] : [x.slice(0, i), x.slice(i + 1)];
    }),
  );

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  return runVerb(async () => {
    switch (sub) {
      case 'create': {
        const { values: v, positionals } = parse(rest, {
          driver: { type: 'string', short: 'd' },
          subnet: { type: 'string' },
          gateway: { type: 'string' },
          'ip-range': { type: 'string' },
          label: { type: 'string', multiple: true },
          opt: { type: 'string', short: 'o', multiple: true },
          internal: { type: 'boolean' },
          attachable: { type: 'boolean' },
        });
        if (positionals.length !== 1) throw new UsageError('"skiff network create" requires exactly 1 argument.');
        const cfg = str(v.subnet)
          ? [{ Subnet: str(v.subnet), Gateway: str(v.gateway), IPRange: str(v['ip-range']) }]
          : [];
        const r = await client(v.host).json<{ Id: string }>('POST', '/networks/create', {
          body: {
            Name: positionals[0],
            Driver: str(v.driver) ?? 'bridge',
            Labels: kv(list(v.label)),
            Options: kv(list(v.opt)),
            Internal: !!v.internal,
            Attachable: !!v.attachable,
            IPAM: { Driver: 'default', Config: cfg },
          },
        });
        process.stdout.write(`${r.Id}\n`);
        return;
      }
      case 'ls':
      case 'list': {
        const { values: v } = parse(rest, {
          quiet: { type: 'boolean', short: 'q' },
          filter: { type: 'string', short: 'f', multiple: true },
          format: { type: 'string' },
          'no-trunc': { type: 'boolean' },
        });
        const nets = await client(v.host).json<Net[]>('GET', '/networks', {
          query: { filters: filtersJson(list(v.filter)) },
        });
        const id = (x: string) => (v['no-trunc'] ? x : shortId(x));
        if (v.quiet) {
          process.stdout.write(nets.map((n) => `${id(n.Id)}\n`).join(''));
          return;
        }
        const rows = nets.map((n) => ({ ID: id(n.Id), Name: n.Name, Driver: n.Driver, Scope: n.Scope }));
        printRows(
          str(v.format),
          ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'],
          rows,
          (r) => [r.ID, r.Name, r.Driver, r.Scope] as string[],
        );
        return;
      }
      case 'inspect': {
        const { values: v, positionals } = parse(rest, { format: { type: 'string', short: 'f' } });
        const c = client(v.host);
        const out = [];
        for (const n of positionals) out.push(await c.json('GET', `/networks/${n}`));
        process.stdout.write(JSON.stringify(out, null, 4) + '\n');
        return;
      }
      case 'rm':
      case 'remove': {
        const { values: v, positionals } = parse(rest, { force: { type: 'boolean', short: 'f' } });
        const c = client(v.host);
        let code = 0;
        for (const n of positionals) {
          try {
            (await c.raw('DELETE', `/networks/${n}`)).resume();
            process.stdout.write(`${n}\n`);
          } catch (e) {
            if (!(e instanceof ApiError) || e.status === 0) throw e;
            process.stderr.write(`Error response from daemon: ${e.message}\n`);
            code = 1;
          }
        }
        return code;
      }
      case 'connect':
      case 'disconnect': {
        const { values: v, positionals } = parse(rest, {
          alias: { type: 'string', multiple: true },
          ip: { type: 'string' },
          force: { type: 'boolean', short: 'f' },
        });
        if (positionals.length !== 2) throw new UsageError(`"skiff network ${sub}" requires exactly 2 arguments.`);
        const [net, container] = positionals;
        const body =
          sub === 'connect'
            ? {
                Container: container,
                EndpointConfig: {
                  Aliases: list(v.alias),
                  IPAMConfig: str(v.ip) ? { IPv4Address: str(v.ip) } : undefined,
                },
              }
            : { Container: container, Force: !!v.force };
        (await client(v.host).raw('POST', `/networks/${net}/${sub}`, { body })).resume();
        return;
      }
      case 'prune': {
        const { values: v } = parse(rest, {
          force: { type: 'boolean', short: 'f' },
          filter: { type: 'string', multiple: true },
        });
        const r = await client(v.host).json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', {
          query: { filters: filtersJson(list(v.filter)) },
        });
        if (r.NetworksDeleted?.length) process.stdout.write(`Deleted Networks:\n${r.NetworksDeleted.join('\n')}\n`);
        return;
      }
      default:
        throw new UsageError(
          'Usage:  skiff network COMMAND\n\nCommands: create, ls, inspect, rm, connect, disconnect, prune',
        );
    }
  });
}
