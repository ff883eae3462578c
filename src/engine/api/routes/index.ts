// Every route module of the Engine API. Each exports `register(router)` over the part of ApiContext it
// depends on (its Backend); add one line per module.
import { Router } from '../router.js';
import type { ApiContext } from '../context.js';
import { register as system } from './system.js';
import { register as containers } from './containers.js';
import { register as exec } from './exec.js';
import { register as archive } from './archive.js';
import { register as networks } from './networks.js';
import { register as images } from './images.js';
import { register as volumes } from './volumes.js';
import { register as auth } from './auth.js';
import { register as build } from './build.js';

export function buildRouter(): Router<ApiContext> {
  const r = new Router<ApiContext>();
  const modules: ((r: Router<ApiContext>) => void)[] = [
    system,
    containers,
    exec,
    archive,
    networks,
    images,
    volumes,
    auth,
    build,
  ];
  for (const reg of modules) reg(r);
  return r;
}
