// Every route module of the Engine API. Each exports `register(router)`; add one line per module.
import { Router } from '../router.js';
import type { EngineContext } from '../context.js';
import { register as system } from './system.js';
import { register as containers } from './containers.js';
import { register as exec } from './exec.js';
import { register as archive } from './archive.js';
import { register as networks } from './networks.js';

export function buildRouter(): Router<EngineContext> {
  const r = new Router<EngineContext>();
  for (const reg of [system, containers, exec, archive, networks]) reg(r);
  return r;
}
