// Every route module of the Engine API. Each exports `register(router, backend)` over its own
// narrow backend interface (api/backends.ts); the daemon passes the services in. Add one line per module.
import { Router } from '../router.js';
import type { Backends } from '../backends.js';
import { register as system } from './system.js';
import { register as containers } from './containers.js';
import { register as exec } from './exec.js';
import { register as archive } from './archive.js';
import { register as networks } from './networks.js';
import { register as images } from './images.js';
import { register as volumes } from './volumes.js';
import { register as auth } from './auth.js';
import { register as build } from './build.js';
import { register as plugins } from './plugins.js';

export function buildRouter(b: Backends): Router {
  const r = new Router();
  system(r, b.system);
  containers(r, b.containers);
  exec(r, b.execs);
  archive(r, b.containers);
  networks(r, b.networks);
  images(r, b.images);
  volumes(r, b.volumes);
  auth(r, b.images);
  build(r, b.build);
  plugins(r);
  return r;
}
