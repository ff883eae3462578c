// Child process of `npm run bench -- dns`: Skiff's cluster DNS alone in its own process (as CoreDNS
// runs in its own), reading the records from the API server named by a kubeconfig.
//   node --import tsx bench/dns-child.ts KUBECONFIG ADDRESS PORT
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { KubeClient } from '../src/kube/client/index.js';
import { ClusterDns } from '../src/kube/dns/index.js';

const [kubeconfig, address, port] = process.argv.slice(2);
const kc = parse(readFileSync(kubeconfig, 'utf8'));
const b64 = (s: string) => Buffer.from(s, 'base64').toString();
const client = new KubeClient({
  server: kc.clusters[0].cluster.server,
  ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
  cert: b64(kc.users[0].user['client-certificate-data']),
  key: b64(kc.users[0].user['client-key-data']),
});
const dns = new ClusterDns({ client, listen: [{ address, port: Number(port) }], upstreams: [] });
await dns.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void dns.stop().then(() => process.exit(0));
});
