// Every route module of the Engine API. Each exports `register(router)`; add one line per module.
import { Router } from '../router.js';
import type { EngineContext } from '../context.js';
import { register as system } from './system.js';
import { register as containers } from './containers.js';
import { register as exec } from './exec.js';
import { register as archive } from './archive.js';
import { register as networks } from './networks.js';
import { register as images } from './images.js';
import { register as volumes } from './volumes.js';
import { register as auth } from './auth.js';
import { register as build } from './build.js';

export function buildRouter(): Router<EngineContext> {
  const r = new Router<EngineContext>();
  for (const reg of [system, containers, exec, archive, networks, images, volumes, auth, build]) reg(r);
  return r;
}
