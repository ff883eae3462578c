// `skiff login [SERVER]` (-u, -p, --password-stdin): checks the credentials through the engine
// (`POST /auth`) and stores them in the docker CLI's config.json.
import { client, parse, str, runVerb, loadAuthConfig, saveAuthConfig, readAll, UsageError } from '../client/index.js';

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      username: { type: 'string', short: 'u' },
      password: { type: 'string', short: 'p' },
      'password-stdin': { type: 'boolean' },
    });
    const server = positionals[0] ?? 'https://index.docker.io/v1/';
    const username = str(v.username);
    let password = str(v.password);
    if (v['password-stdin']) password = (await readAll(process.stdin)).toString('utf8').replace(/\r?\n$/, '');
    if (!username || password === undefined)
      throw new UsageError('skiff login needs --username and --password or --password-stdin');
    const res = await client(v.host).json<{ Status: string }>('POST', '/auth', {
      body: { username, password, serveraddress: server },
    });
    const cfg = loadAuthConfig();
    cfg.auths = { ...(cfg.auths ?? {}), [server]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
    saveAuthConfig(cfg);
    process.stdout.write(`${res.Status}\n`);
  });
}
