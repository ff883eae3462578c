// Child process of `npm run bench -- etcd`: Skiff's Kubernetes API server as `skiff server` builds
// it (startKubeApiServer: HTTPS with client certificates, RBAC, the default admission plugins,
// Secrets encrypted at rest), alone in its own process (as kube-apiserver runs apart from etcd and
// from its clients), on the datastore named by the URL. Prints the kubeconfig path when ready.
//   node --import tsx bench/etcd-child.ts DATA_DIR DATASTORE_URL
import { createLogger } from '../src/common/index.js';
import { startKubeApiServer } from '../src/kube/apiserver/index.js';

const [dataDir, datastore] = process.argv.slice(2);
const srv = await startKubeApiServer({
  dataDir,
  datastore,
  host: '127.0.0.1',
  port: 0,
  clientHost: '127.0.0.1',
  log: createLogger({}, { level: 'warn' }),
});
process.stdout.write(`ready ${srv.kubeconfigPath}\n`);
// The bench asks for this process's CPU time around each phase (CPU per update does not depend
// on how busy the machine is, unlike latency).
process.on('message', (m) => {
  if (m === 'cpu') {
    const u = process.cpuUsage();
    process.send?.({ cpuMs: (u.user + u.system) / 1000 });
  }
});
process.channel?.unref();
const stop = () => void srv.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
