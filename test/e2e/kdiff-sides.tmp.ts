import { startSkiffServer, ROOT } from './kubectl-harness.js';
import { kubeApiServerBinary, startKubeApiServer } from '../fixtures/kube-apiserver.js';
import { writeFileSync } from 'node:fs';
const [peer, skiff] = await Promise.all([
  startKubeApiServer(kubeApiServerBinary(ROOT)),
  startSkiffServer('sqlite', { args: ['--disable-controller-manager', '--disable-scheduler'] }),
]);
writeFileSync('/tmp/apidiff10/env', `K=${peer.kubeconfig}\nS=${skiff.kubeconfig}\nKURL=${peer.url}\nKDIR=${peer.dir}\nSDIR=${skiff.dir}\n`);
console.log('ready');
const stop = async () => { await Promise.all([peer.stop(), skiff.stop()]); process.exit(0); };
process.on('SIGTERM', stop); process.on('SIGINT', stop);
setInterval(() => {}, 1 << 30);
